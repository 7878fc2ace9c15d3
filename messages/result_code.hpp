#pragma once

#include <caf/error.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace quiesce {

/// The one result-code enum of Quiesce. Every reply carries one of these; `ok`
/// is the only success. Numbers are stable: append new codes at the end, never
/// renumber. A zero code is "no error", as CAF expects of error-code enums.
enum class result_code : uint8_t {
  /// The request succeeded.
  ok = 0,
  /// The request's arguments are malformed (bad spec, bad id, bad filter).
  invalid_argument = 1,
  /// No job with that id is known.
  job_not_found = 2,
  /// No task with that id is known in that job.
  task_not_found = 3,
  /// The entity's status does not allow the operation.
  invalid_state = 4,
  /// The job is not running (or is already terminal).
  no_job_running = 5,
  /// The assessment index is not the running assessment.
  invalid_index = 6,
  /// A message is longer than 320 Unicode code points.
  message_too_long = 7,
  /// A message is not valid UTF-8.
  invalid_utf8 = 8,
  /// Some work of the job could not be confirmed dead within the bound.
  terminate_failed = 9,
  /// The task's definition says it may not run again.
  not_rerunnable = 10,
  /// Not attempted because an earlier item of the same request was refused.
  not_attempted = 11,
  /// End code: the job was cancelled or terminated.
  job_cancelled = 12,
  /// End code: the assessment was cancelled.
  assessment_cancelled = 13,
  /// End code: the assessment was terminated.
  assessment_terminated = 14,
  /// End code: at least one task of the assessment did not finish.
  assessment_failed = 15,
  /// End code: the task's work failed.
  task_failed = 16,
  /// End code: the node running the task was lost.
  node_lost = 17,
  /// End code: the task exceeded its time limit.
  timeout = 18,
  /// End code: the job ended with at least one failed assessment.
  job_failed = 19,
  /// End code: the task was cancelled.
  task_cancelled = 20,
  /// The command could not be started (not found, not executable, bad
  /// working directory).
  spawn_failed = 21,
  /// No work function is registered under that name.
  work_not_found = 22,
  /// The runtime is shutting down or unreachable; the request was not served.
  unavailable = 23,
  /// The request got no reply within its time bound.
  request_timeout = 24,
  /// The peer speaks a different protocol version.
  protocol_mismatch = 25,
  /// No node with that name is known.
  node_not_found = 26,
  /// An internal invariant failed; the message says which.
  internal_error = 27,
  /// The asking identity may not do this: not authenticated, or neither the
  /// job's owner nor an admin.
  permission_denied = 28,
  /// End code: the task's command was killed by its memory limit
  /// (`memory_max`).
  memory_limit_exceeded = 29,
};

/// The number of result codes; `static_assert`ed against the string tables.
inline constexpr size_t result_code_count = 30;

/// Returns the stable name of `x`, e.g. "job_cancelled".
std::string_view to_name(result_code x) noexcept;

/// Returns the one-line description of `x`.
std::string_view describe(result_code x) noexcept;

/// Returns the reference API's HRESULT for `x`, or 0 when there is none.
uint32_t hresult(result_code x) noexcept;

/// Returns the reference API's symbolic name for `x`, or "" when none.
std::string_view reference_name(result_code x) noexcept;

/// Parses a stable name back into a code; returns false if unknown.
bool from_name(std::string_view name, result_code& x) noexcept;

/// Returns the name of `x` (for CAF's `deep_to_string` and logs).
std::string to_string(result_code x);

/// Returns `x` as a CAF error in the "quiesce" category.
caf::error make_error(result_code x);

/// Returns `x` as a CAF error carrying a context message.
caf::error make_error(result_code x, std::string context);

/// Returns the result code an error stands for: a "quiesce" error maps back to
/// its code, a CAF request timeout to `request_timeout`, and every other CAF
/// error (dead peer, unreachable node, ...) to `unavailable`. A default
/// (empty) error maps to `ok`.
result_code to_result_code(const caf::error& err) noexcept;

/// Returns a readable rendering of any CAF error, naming Quiesce codes.
std::string render(const caf::error& err);

} // namespace quiesce

CAF_ERROR_CODE_ENUM(quiesce::result_code, "quiesce")
