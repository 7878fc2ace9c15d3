#pragma once

// The exit statuses of `quiesce`, and how a run's final records map to one.

#include "messages/records.hpp"
#include "messages/result_code.hpp"

#include <string_view>
#include <vector>

namespace quiesce::cli {

/// Every job finished (or, for `validate`, the file is valid).
inline constexpr int exit_ok = 0;

/// At least one job failed.
inline constexpr int exit_failed = 1;

/// Invalid input: a bad file or bad arguments. Nothing ran.
inline constexpr int exit_invalid_input = 2;

/// At least one job was cancelled or terminated, and none failed.
inline constexpr int exit_cancelled = 3;

/// The runtime refused a request, timed out or failed internally.
inline constexpr int exit_runtime_error = 4;

/// A client command's request was refused by the head (any result code but
/// `ok` and those of `exit_unreachable` and `exit_runtime_error`).
inline constexpr int exit_refused = 5;

/// A client command or a node could not reach a Quiesce head: nothing
/// listens, the peer is not a Quiesce head or speaks another protocol
/// version, or the connection was lost.
inline constexpr int exit_unreachable = 6;

/// Returns the stable name of exit status `x` ("ok", "failed",
/// "invalid_input", "cancelled", "runtime_error", "refused",
/// "unreachable"), or "unknown".
std::string_view exit_status_name(int x) noexcept;

/// Returns the exit status for jobs that ended in `statuses`: `exit_failed`
/// if any failed, else `exit_cancelled` if any was cancelled, else
/// `exit_runtime_error` if any is not terminal, else `exit_ok`. A failure
/// outranks a cancellation: it tells something about the work itself, while
/// a cancellation only says the run is incomplete.
int exit_status_for(const std::vector<job_status>& statuses) noexcept;

/// Returns the exit status for the final records in `jobs` (see above).
int exit_status_for(const std::vector<job_record>& jobs);

/// Returns the exit status of a client command whose request got `code`:
/// `exit_ok` for `ok`; `exit_unreachable` for `unavailable` and
/// `protocol_mismatch`; `exit_runtime_error` for `request_timeout` and
/// `internal_error`; `exit_refused` for every other code (a refusal).
int exit_status_for_reply(result_code code) noexcept;

} // namespace quiesce::cli
