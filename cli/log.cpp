// The log file of `quiesce head` and `quiesce node`: spdlog's rotating file
// sink, one logfmt line per call.

#include "cli/ops.hpp"
#include "messages/events.hpp"
#include "messages/text.hpp"

#include <spdlog/logger.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/spdlog.h>

namespace quiesce::cli {

namespace {

spdlog::level::level_enum to_spdlog(log_level x) {
  switch (x) {
    case log_level::trace:
      return spdlog::level::trace;
    case log_level::debug:
      return spdlog::level::debug;
    case log_level::info:
      return spdlog::level::info;
    case log_level::warn:
      return spdlog::level::warn;
    case log_level::error:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

} // namespace

struct ops_log::impl {
  std::shared_ptr<spdlog::logger> logger;
};

ops_log::ops_log() : impl_(std::make_unique<impl>()) {
  // nop
}

ops_log::~ops_log() {
  if (impl_->logger)
    impl_->logger->flush();
}

std::shared_ptr<ops_log> ops_log::open(const settings& s, std::string& error) {
  auto out = std::make_shared<ops_log>();
  if (s.log_file.empty())
    return out;
  try {
    // Appends to what a previous run wrote; rotates by size only.
    auto sink = std::make_shared<spdlog::sinks::rotating_file_sink_mt>(
        s.log_file, static_cast<size_t>(s.log_max_size),
        static_cast<size_t>(s.log_files), false);
    auto logger = std::make_shared<spdlog::logger>("quiesce", std::move(sink));
    // logfmt: every field key=value, times in UTC with microseconds.
    logger->set_pattern("time=%Y-%m-%dT%H:%M:%S.%fZ level=%l %v",
                        spdlog::pattern_time_type::utc);
    logger->set_level(spdlog::level::from_str(s.log_level));
    // A line that reached write() survives a crash of the process.
    logger->flush_on(spdlog::level::trace);
    out->impl_->logger = std::move(logger);
  } catch (const std::exception& e) {
    error = "cannot open the log file " + s.log_file + ": " + e.what();
    return nullptr;
  }
  return out;
}

bool ops_log::enabled(log_level level) const noexcept {
  return impl_->logger && impl_->logger->should_log(to_spdlog(level));
}

void ops_log::write(log_level level, std::string_view fields) {
  if (!enabled(level))
    return;
  try {
    impl_->logger->log(to_spdlog(level), "{}", fields);
  } catch (...) {
    // spdlog reports its own errors on stderr; a full disk must not stop
    // the head.
  }
}

std::string logfmt_value(std::string_view text) {
  bool bare = !text.empty();
  for (unsigned char c : text)
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c >= 0x7f)
      bare = false;
  if (bare)
    return std::string{text};
  // Controls, invalid UTF-8 and backslashes as the terminal output escapes
  // them; a quote is the one character left that would end the value.
  std::string out = "\"";
  for (char c : escape_controls(text)) {
    if (c == '"')
      out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

std::string log_fields(const event& x) {
  std::string out
      = x.kind == event_kind::progress ? "msg=progress" : "msg=status";
  out += " job=" + std::to_string(x.job);
  switch (x.kind) {
    case event_kind::job:
      break;
    case event_kind::assessment:
      out += " assessment=" + std::to_string(x.subject);
      break;
    case event_kind::task:
    case event_kind::progress:
      out += " task=" + std::to_string(x.subject);
      break;
  }
  if (x.kind == event_kind::progress) {
    out += " percent=" + std::to_string(x.percent);
  } else {
    out += " from=";
    out += to_name(x.previous);
    out += " to=";
    out += to_name(x.current);
    out += " code=";
    out += to_name(x.code);
  }
  if (!x.who.empty())
    out += " who=" + logfmt_value(x.who);
  if (!x.message.empty())
    out += " message=" + logfmt_value(x.message);
  return out;
}

std::string log_fields(const request_note& x) {
  std::string out = "msg=request op=" + logfmt_value(x.operation);
  out += " who=" + (x.authenticated ? logfmt_value(x.who) : "-");
  if (!x.authenticated)
    out += " authenticated=false";
  if (x.job != invalid_id)
    out += " job=" + std::to_string(x.job);
  if (x.task != invalid_id)
    out += " task=" + std::to_string(x.task);
  out += " code=";
  out += to_name(x.code);
  if (!x.detail.empty())
    out += " detail=" + logfmt_value(x.detail);
  return out;
}

log_level level_of(const request_note& x) noexcept {
  if (!x.authenticated || x.code == result_code::permission_denied)
    return log_level::warn;
  return x.query ? log_level::debug : log_level::info;
}

} // namespace quiesce::cli
