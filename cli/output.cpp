#include "cli/output.hpp"

#include "cli/exit_status.hpp"
#include "config/duration.hpp"
#include "config/signal.hpp"
#include "execution/cgroup.hpp"
#include "messages/status.hpp"
#include "messages/text.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <cwchar>
#include <locale.h>
#include <map>

namespace quiesce::cli {

using nlohmann::json;

namespace {

std::string name_of(std::string_view x) {
  return std::string{x};
}

// Splits a time point into whole seconds since the epoch and milliseconds.
std::pair<std::time_t, int> split(caf::timestamp x) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                x.time_since_epoch())
                .count();
  auto secs = ms / 1000;
  auto rem = ms % 1000;
  if (rem < 0) {
    rem += 1000;
    --secs;
  }
  return {static_cast<std::time_t>(secs), static_cast<int>(rem)};
}

std::string status_name(const entity_status& x) {
  return name_of(to_name(x));
}

std::string task_label(const task_record& t) {
  return t.spec.name.empty() ? "task " + std::to_string(t.id) : t.spec.name;
}

std::string assessment_label(const job_record& j, assessment_index i) {
  std::string out = std::to_string(i);
  if (i < j.assessments.size() && !j.assessments[i].name.empty())
    out += " " + j.assessments[i].name;
  return out;
}

std::string code_text(result_code x) {
  return x == result_code::ok ? "ok" : name_of(to_name(x));
}

} // namespace

// -- times --------------------------------------------------------------------

bool is_set(caf::timestamp x) noexcept {
  return x.time_since_epoch().count() > 0;
}

std::string format_clock(caf::timestamp x) {
  auto [secs, ms] = split(x);
  std::tm tm{};
  ::localtime_r(&secs, &tm);
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%02d:%02d:%02d.%03d", tm.tm_hour, tm.tm_min,
                tm.tm_sec, ms);
  return buf;
}

std::string format_iso8601(caf::timestamp x) {
  auto [secs, ms] = split(x);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec, ms);
  return buf;
}

std::string format_elapsed(caf::timespan x) {
  auto ms = to_ms(x);
  if (ms < 0)
    ms = 0;
  char buf[48];
  if (ms < 10'000) {
    std::snprintf(buf, sizeof(buf), "%lld.%02llds",
                  static_cast<long long>(ms / 1000),
                  static_cast<long long>(ms % 1000 / 10));
  } else if (ms < 60'000) {
    std::snprintf(buf, sizeof(buf), "%lld.%llds",
                  static_cast<long long>(ms / 1000),
                  static_cast<long long>(ms % 1000 / 100));
  } else if (ms < 3'600'000) {
    std::snprintf(buf, sizeof(buf), "%lldm%02llds",
                  static_cast<long long>(ms / 60'000),
                  static_cast<long long>(ms % 60'000 / 1000));
  } else {
    std::snprintf(buf, sizeof(buf), "%lldh%02lldm",
                  static_cast<long long>(ms / 3'600'000),
                  static_cast<long long>(ms % 3'600'000 / 60'000));
  }
  return buf;
}

caf::timespan span(caf::timestamp from, caf::timestamp to) noexcept {
  if (!is_set(from) || !is_set(to) || to < from)
    return caf::timespan{0};
  return to - from;
}

std::string elapsed_text(caf::timestamp started, caf::timestamp ended,
                         caf::timestamp now) {
  if (!is_set(started))
    return "-";
  return format_elapsed(span(started, is_set(ended) ? ended : now));
}

int64_t to_ms(caf::timespan x) noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(x).count();
}

// -- JSON ---------------------------------------------------------------------

json time_json(caf::timestamp x) {
  if (!is_set(x))
    return nullptr;
  return format_iso8601(x);
}

json to_json(const task_spec& x) {
  json out;
  out["name"] = x.name;
  out["kind"] = to_string(x.kind);
  if (x.kind == work_kind::command) {
    out["argv"] = x.command.argv;
    auto env = json::object();
    for (const auto& [name, value] : x.command.env)
      env[name] = value;
    out["env"] = std::move(env);
    out["workdir"] = x.command.workdir;
    out["stdout"] = x.command.stdout_path;
    out["stderr"] = x.command.stderr_path;
    out["stop_signal"] = config::signal_name(x.stop_signal);
    const auto& lim = x.command.limits;
    out["memory_max"] = lim.memory_max != 0 ? json(lim.memory_max) : json();
    out["cpus"] = lim.cpu_millis != 0 ? json(lim.cpu_millis / 1000.0) : json();
    out["pids_max"] = lim.pids_max != 0 ? json(lim.pids_max) : json();
  } else {
    out["work"] = x.work;
    out["args"] = x.args;
  }
  out["time_limit_ms"] = to_ms(x.time_limit);
  if (x.grace.count() >= 0)
    out["grace_ms"] = to_ms(x.grace);
  else
    out["grace_ms"] = nullptr;
  out["rerunnable"] = x.rerunnable;
  out["label"] = x.label;
  return out;
}

json to_json(const job_spec& x) {
  json out;
  out["name"] = x.name;
  out["policy"] = {
      {"stop_on_assessment_error", x.policy.stop_on_assessment_error},
      {"grace_ms", to_ms(x.policy.grace)},
      {"retries", x.policy.retries},
      {"stop_commands_on_cancel", x.policy.stop_commands_on_cancel},
  };
  auto assessments = json::array();
  for (const auto& a : x.assessments) {
    auto tasks = json::array();
    for (const auto& t : a.tasks)
      tasks.push_back(to_json(t));
    assessments.push_back({{"name", a.name}, {"tasks", std::move(tasks)}});
  }
  out["assessments"] = std::move(assessments);
  return out;
}

json to_json(const settings& x) {
  return {
      {"threads", x.threads},
      {"slots", x.slots},
      {"grace_ms", x.grace.count()},
      {"run_dir", x.run_dir},
      {"listen", x.listen},
      {"retries", x.retries},
      {"max_running_jobs", x.max_running_jobs},
      {"scheduler", x.scheduler},
      {"heartbeat_ms", x.heartbeat_interval.count()},
      {"node_timeout_ms", x.connection_timeout.count()},
      {"strict_limits", x.strict_limits},
      {"head_lease_ms", x.head_lease.count()},
      {"job_retention_ms", x.job_retention.count()},
  };
}

json to_json(const config::diagnostic& x) {
  return {
      {"file", x.file},       {"line", x.line},       {"column", x.column},
      {"message", x.message}, {"text", to_string(x)},
  };
}

json to_json(const task_record& x, const job_record* job) {
  json out;
  out["id"] = x.id;
  out["name"] = x.spec.name;
  out["assessment"] = x.assessment;
  out["status"] = name_of(to_name(x.status));
  out["end_code"] = name_of(to_name(x.end_code));
  out["error_message"] = x.error_message;
  if (x.exit_code >= 0)
    out["exit_code"] = x.exit_code;
  else
    out["exit_code"] = nullptr;
  out["node"] = x.node;
  out["attempts"] = x.attempts;
  out["requeue_count"] = x.requeue_count;
  out["node_losses"] = x.node_losses;
  out["submitted"] = time_json(x.submitted);
  out["started"] = time_json(x.started);
  out["ended"] = time_json(x.ended);
  if (is_set(x.started) && is_set(x.ended))
    out["duration_ms"] = to_ms(span(x.started, x.ended));
  else
    out["duration_ms"] = nullptr;
  // Usage of the last ended attempt; null when unknown (see
  // docs/containment.md for when the node can measure it).
  auto cpu_ms
      = std::chrono::duration_cast<std::chrono::milliseconds>(x.cpu_time);
  out["cpu_time_ms"] = x.cpu_time.count() > 0 ? json(cpu_ms.count()) : json();
  out["peak_memory"] = x.peak_memory > 0 ? json(x.peak_memory) : json();
  out["kind"] = to_string(x.spec.kind);
  if (x.spec.kind == work_kind::command)
    out["argv"] = x.spec.command.argv;
  else
    out["work"] = x.spec.work;
  if (job != nullptr) {
    auto paths = output_paths_of(*job, x);
    out["stdout"]
        = paths.stdout_path.empty() ? json() : json(paths.stdout_path);
    out["stderr"]
        = paths.stderr_path.empty() ? json() : json(paths.stderr_path);
  }
  return out;
}

json to_json(const job_record& x, const std::vector<task_record>& tasks) {
  std::map<task_id, const task_record*> by_id;
  for (const auto& t : tasks)
    by_id[t.id] = &t;
  json out;
  out["id"] = x.id;
  out["name"] = x.name;
  out["status"] = name_of(to_name(x.status));
  out["end_code"] = name_of(to_name(x.end_code));
  out["error_message"] = x.error_message;
  out["requeue_count"] = x.requeue_count;
  out["owner"] = x.owner;
  out["submitted"] = time_json(x.submitted);
  out["started"] = time_json(x.started);
  out["ended"] = time_json(x.ended);
  if (is_set(x.started) && is_set(x.ended))
    out["elapsed_ms"] = to_ms(span(x.started, x.ended));
  else
    out["elapsed_ms"] = nullptr;
  auto assessments = json::array();
  for (const auto& a : x.assessments) {
    json aj;
    aj["index"] = a.index;
    aj["name"] = a.name;
    aj["status"] = name_of(to_name(a.status));
    if (a.status == assessment_status::completed)
      aj["outcome"] = name_of(to_name(a.outcome));
    else
      aj["outcome"] = nullptr;
    aj["started"] = time_json(a.started);
    aj["ended"] = time_json(a.ended);
    auto tj = json::array();
    for (auto id : a.tasks)
      if (auto i = by_id.find(id); i != by_id.end())
        tj.push_back(to_json(*i->second, &x));
    aj["tasks"] = std::move(tj);
    assessments.push_back(std::move(aj));
  }
  out["assessments"] = std::move(assessments);
  return out;
}

json to_json(const event& x) {
  json out;
  out["seq"] = x.seq;
  out["job"] = x.job;
  out["kind"] = to_string(x.kind);
  switch (x.kind) {
    case event_kind::job:
      break;
    case event_kind::assessment:
      out["assessment"] = x.subject;
      break;
    case event_kind::task:
    case event_kind::progress:
      out["task"] = x.subject;
      break;
  }
  out["previous"] = status_name(x.previous);
  out["current"] = status_name(x.current);
  out["code"] = name_of(to_name(x.code));
  out["message"] = x.message;
  out["who"] = x.who;
  if (x.kind == event_kind::progress)
    out["percent"] = x.percent;
  out["time"] = time_json(x.time);
  return out;
}

json run_report_json(const std::vector<job_report>& jobs,
                     const run_outcome& outcome) {
  json out;
  out["exit_status"] = outcome.exit_status;
  out["outcome"] = name_of(exit_status_name(outcome.exit_status));
  out["interrupted"] = !outcome.signals.empty();
  out["signals"] = outcome.signals;
  out["error"] = outcome.error;
  out["containment"]
      = outcome.containment.empty() ? json() : json(outcome.containment);
  out["started"] = time_json(outcome.started);
  out["ended"] = time_json(outcome.ended);
  out["elapsed_ms"] = to_ms(span(outcome.started, outcome.ended));
  auto js = json::array();
  for (const auto& j : jobs)
    js.push_back(to_json(j.job, j.tasks));
  out["jobs"] = std::move(js);
  return out;
}

json validate_report_json(const std::string& path,
                          const config::load_result& loaded) {
  json out;
  out["file"] = path;
  out["valid"] = loaded.ok();
  auto errors = json::array();
  for (const auto& d : loaded.errors)
    errors.push_back(to_json(d));
  out["errors"] = std::move(errors);
  if (loaded.ok()) {
    out["runtime"] = to_json(loaded.file.runtime);
    auto js = json::array();
    for (const auto& j : loaded.file.jobs)
      js.push_back(to_json(j));
    out["jobs"] = std::move(js);
  }
  return out;
}

// -- tables -------------------------------------------------------------------

namespace {

// glibc's wcwidth() knows each character's terminal width (2 for East Asian
// wide characters and most emoji, 0 for combining marks) from the LC_CTYPE of
// the locale in use. A C.UTF-8 locale object, selected around each call with
// uselocale() (per thread), gives those widths whatever the process's own
// locale is, and without setlocale(), which is not thread-safe. Without that
// locale (a libc without C.UTF-8) every code point counts as one column.
locale_t utf8_locale() noexcept {
  static locale_t loc = ::newlocale(LC_CTYPE_MASK, "C.UTF-8", locale_t{});
  return loc;
}

// Calls `f(bytes, columns)` for each character of `text` in order: its
// length in bytes and its width in columns. Invalid bytes and control
// characters are one byte of one column.
template <class F>
void for_each_char(std::string_view text, F f) noexcept {
  auto loc = utf8_locale();
  locale_t old = loc ? ::uselocale(loc) : locale_t{};
  std::mbstate_t st{};
  for (size_t i = 0; i < text.size();) {
    auto byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x80u || !loc) {
      size_t len = 1;
      if (!loc)
        while (i + len < text.size()
               && (static_cast<unsigned char>(text[i + len]) & 0xC0u) == 0x80u)
          ++len;
      if (!f(len, size_t{1}))
        break;
      i += len;
      continue;
    }
    wchar_t wc = 0;
    st = std::mbstate_t{};
    auto len = std::mbrtowc(&wc, text.data() + i, text.size() - i, &st);
    if (len == 0 || len > text.size() - i) { // invalid or cut short
      if (!f(size_t{1}, size_t{1}))
        break;
      ++i;
      continue;
    }
    auto w = ::wcwidth(wc);
    if (!f(len, w < 0 ? size_t{1} : static_cast<size_t>(w)))
      break;
    i += len;
  }
  if (loc)
    ::uselocale(old);
}

} // namespace

size_t display_width(std::string_view text) noexcept {
  size_t n = 0;
  for_each_char(text, [&](size_t, size_t w) {
    n += w;
    return true;
  });
  return n;
}

std::string truncate_to_width(std::string_view text, size_t width) {
  size_t n = 0;
  size_t bytes = 0;
  for_each_char(text, [&](size_t len, size_t w) {
    if (n + w > width)
      return false;
    n += w;
    bytes += len;
    return true;
  });
  return std::string{text.substr(0, bytes)};
}

std::string render_table(const std::vector<std::vector<std::string>>& cells) {
  // Cells may hold text from other users (messages, names): printed escaped.
  std::vector<std::vector<std::string>> rows;
  rows.reserve(cells.size());
  for (const auto& row : cells) {
    auto& out = rows.emplace_back();
    out.reserve(row.size());
    for (const auto& cell : row)
      out.push_back(escape_controls(cell));
  }
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size())
      widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i)
      widths[i] = std::max(widths[i], display_width(row[i]));
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size())
        line.append(widths[i] - display_width(row[i]) + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ')
      line.pop_back();
    out += line;
    out += '\n';
  }
  return out;
}

namespace {

std::string end_code_text(bool ended, result_code x) {
  return ended ? code_text(x) : "-";
}

// CPU time of an attempt as "1.25s" (hundredths), "-" when unknown.
std::string cpu_text(caf::timespan x) {
  if (x.count() <= 0)
    return "-";
  auto cs
      = std::chrono::duration_cast<std::chrono::milliseconds>(x).count() / 10;
  auto frac = std::to_string(100 + cs % 100).substr(1);
  return std::to_string(cs / 100) + '.' + frac + 's';
}

// Peak memory of an attempt as "12 MiB", "-" when unknown.
std::string memory_text(uint64_t bytes) {
  return bytes == 0 ? "-" : process::format_bytes(bytes);
}

} // namespace

std::string render_jobs_table(const std::vector<job_record>& jobs,
                              caf::timestamp now) {
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"JOB", "NAME", "STATUS", "END CODE", "CURRENT", "OWNER",
                  "ELAPSED", "MESSAGE"});
  for (const auto& j : jobs)
    rows.push_back({std::to_string(j.id), j.name, name_of(to_name(j.status)),
                    end_code_text(is_terminal(j.status), j.end_code),
                    j.current >= 0 ? std::to_string(j.current) : "-",
                    j.owner.empty() ? "-" : j.owner,
                    elapsed_text(j.started, j.ended, now), j.error_message});
  return render_table(rows);
}

std::string render_tasks_table(const job_record& job,
                               const std::vector<task_record>& tasks,
                               caf::timestamp now, bool only_unfinished) {
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"ASSESSMENT", "TASK", "NAME", "STATUS", "END CODE", "EXIT",
                  "NODE", "DURATION", "CPU", "PEAK MEM", "ATTEMPTS", "REQUEUES",
                  "STDOUT", "STDERR", "MESSAGE"});
  for (const auto& t : tasks) {
    if (only_unfinished && t.status == task_status::finished)
      continue;
    // A task queued again keeps the times of its last attempt until the
    // next one starts: only a running or ended task has a duration.
    bool shows_time = t.status == task_status::running || is_terminal(t.status);
    auto paths = output_paths_of(job, t);
    rows.push_back({assessment_label(job, t.assessment), std::to_string(t.id),
                    task_label(t), name_of(to_name(t.status)),
                    end_code_text(is_terminal(t.status), t.end_code),
                    t.exit_code >= 0 ? std::to_string(t.exit_code) : "-",
                    t.node.empty() ? "-" : t.node,
                    shows_time ? elapsed_text(t.started, t.ended, now) : "-",
                    cpu_text(t.cpu_time), memory_text(t.peak_memory),
                    std::to_string(t.attempts), std::to_string(t.requeue_count),
                    paths.stdout_path.empty() ? "-" : paths.stdout_path,
                    paths.stderr_path.empty() ? "-" : paths.stderr_path,
                    t.error_message});
  }
  return render_table(rows);
}

std::string render_summary(const std::vector<job_report>& jobs,
                           bool only_unfinished, caf::timestamp now) {
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"JOB", "NAME", "STATUS", "END CODE", "ELAPSED", "MESSAGE"});
  for (const auto& r : jobs) {
    const auto& j = r.job;
    rows.push_back({std::to_string(j.id), j.name, name_of(to_name(j.status)),
                    end_code_text(is_terminal(j.status), j.end_code),
                    elapsed_text(j.started, j.ended, now), j.error_message});
  }
  std::string out = render_table(rows);
  for (const auto& r : jobs) {
    const auto& j = r.job;
    bool skip_finished = only_unfinished || r.tasks.size() > max_listed_tasks;
    size_t hidden = 0;
    if (skip_finished)
      for (const auto& t : r.tasks)
        if (t.status == task_status::finished)
          ++hidden;
    if (r.tasks.empty())
      continue;
    out += "\njob " + std::to_string(j.id) + " (" + escape_controls(j.name)
           + "): ";
    out += std::to_string(r.tasks.size());
    out += r.tasks.size() == 1 ? " task" : " tasks";
    if (hidden > 0 && hidden == r.tasks.size())
      out += ", all finished";
    else if (hidden > 0)
      out += ", " + std::to_string(hidden) + " finished (not listed)";
    out += '\n';
    if (hidden < r.tasks.size())
      out += render_tasks_table(j, r.tasks, now, skip_finished);
  }
  return out;
}

} // namespace quiesce::cli
