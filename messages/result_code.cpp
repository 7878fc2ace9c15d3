#include "messages/result_code.hpp"

#include <caf/sec.hpp>

#include <array>

namespace quiesce {

namespace {

struct code_info {
  std::string_view name;
  std::string_view description;
  uint32_t hresult;
  std::string_view reference;
};

// Indexed by the numeric value of result_code.
constexpr std::array<code_info, result_code_count> code_table{{
    {"ok", "the request succeeded", 0x00000000u, "S_OK"},
    {"invalid_argument", "the request's arguments are malformed", 0x80070057u,
     "E_INVALIDARG"},
    {"job_not_found", "no job with that id is known", 0u, ""},
    {"task_not_found", "no task with that id is known in that job", 0u, ""},
    {"invalid_state", "the current status does not allow the operation", 0u,
     ""},
    {"no_job_running", "the job is not running or is already terminal",
     0x80041006u, "AXE_E_NO_JOB_RUNNING"},
    {"invalid_index", "the assessment index is not the running assessment", 0u,
     "AXE_E_INVALID_INDEX"},
    {"message_too_long", "the message is longer than 320 Unicode characters",
     0u, ""},
    {"invalid_utf8", "the message is not valid UTF-8", 0u, ""},
    {"terminate_failed", "some work could not be confirmed dead in time", 0u,
     "AXE_E_TERMINATE_FAILED"},
    {"not_rerunnable", "the task's definition forbids running it again", 0u,
     ""},
    {"not_attempted", "not attempted after an earlier refusal in the request",
     0u, ""},
    {"job_cancelled", "the job was cancelled or terminated", 0x80041013u,
     "AXE_E_JOB_CANCELED"},
    {"assessment_cancelled", "the assessment was cancelled", 0x8004100Du,
     "AXE_E_ASSESSMENT_CANCELED"},
    {"assessment_terminated", "the assessment was terminated", 0x8004100Fu,
     "AXE_E_ASSESSMENT_TERMINATED"},
    {"assessment_failed", "at least one task of the assessment did not finish",
     0u, ""},
    {"task_failed", "the task's work failed", 0u, ""},
    {"node_lost", "the node running the task was lost", 0u, ""},
    {"timeout", "the task exceeded its time limit", 0u, ""},
    {"job_failed", "at least one assessment of the job failed", 0u, ""},
    {"task_cancelled", "the task was cancelled", 0u, ""},
    {"spawn_failed", "the command could not be started", 0u, ""},
    {"work_not_found", "no work function is registered under that name", 0u,
     ""},
    {"unavailable", "the runtime is shutting down or unreachable", 0u, ""},
    {"request_timeout", "the request got no reply in time", 0u, ""},
    {"protocol_mismatch", "the peer speaks a different protocol version", 0u,
     ""},
    {"node_not_found", "no node with that name is known", 0u, ""},
    {"internal_error", "an internal invariant failed", 0u, ""},
    {"permission_denied",
     "the asking identity may not do this (not authenticated, or neither the "
     "job's owner nor an admin)",
     0x80070005u, "E_ACCESSDENIED"},
    {"memory_limit_exceeded",
     "the task's command was killed by its memory limit", 0x8007000Eu,
     "E_OUTOFMEMORY"},
}};

static_assert(code_table.size() == result_code_count,
              "one table row per result code");
static_assert(static_cast<size_t>(result_code::memory_limit_exceeded) + 1
                  == result_code_count,
              "result_code_count must follow the last code");

const code_info& info(result_code x) noexcept {
  auto i = static_cast<size_t>(x);
  return i < code_table.size()
             ? code_table[i]
             : code_table[static_cast<size_t>(result_code::internal_error)];
}

} // namespace

std::string_view to_name(result_code x) noexcept {
  return info(x).name;
}

std::string_view describe(result_code x) noexcept {
  return info(x).description;
}

uint32_t hresult(result_code x) noexcept {
  return info(x).hresult;
}

std::string_view reference_name(result_code x) noexcept {
  return info(x).reference;
}

bool from_name(std::string_view name, result_code& x) noexcept {
  for (size_t i = 0; i < code_table.size(); ++i) {
    if (code_table[i].name == name) {
      x = static_cast<result_code>(i);
      return true;
    }
  }
  return false;
}

std::string to_string(result_code x) {
  return std::string{to_name(x)};
}

caf::error make_error(result_code x) {
  return caf::error{static_cast<uint8_t>(x), caf::atom("quiesce")};
}

caf::error make_error(result_code x, std::string context) {
  return caf::error{static_cast<uint8_t>(x), caf::atom("quiesce"),
                    caf::make_message(std::move(context))};
}

result_code to_result_code(const caf::error& err) noexcept {
  if (!err)
    return result_code::ok;
  if (err.category() == caf::atom("quiesce")) {
    if (err.code() < result_code_count)
      return static_cast<result_code>(err.code());
    return result_code::internal_error;
  }
  if (err.category() == caf::atom("system")
      && err.code() == static_cast<uint8_t>(caf::sec::request_timeout))
    return result_code::request_timeout;
  return result_code::unavailable;
}

std::string render(const caf::error& err) {
  if (!err)
    return "ok";
  if (err.category() == caf::atom("quiesce")) {
    auto code = to_result_code(err);
    std::string out{to_name(code)};
    out += ": ";
    out += describe(code);
    if (!err.context().empty()) {
      out += " (";
      if (err.context().match_elements<std::string>())
        out += err.context().get_as<std::string>(0);
      else
        out += to_string(err.context());
      out += ')';
    }
    return out;
  }
  return to_string(err);
}

} // namespace quiesce
