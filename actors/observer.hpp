#pragma once

// What a head's log and metrics learn only inside the supervisor: each
// request with the identity that asked, how long tasks wait for a slot and
// how long cancellations take. Plain C++, no CAF: `quiesce head` implements
// it (cli/ops.cpp) and hands it to its runtime; the status changes
// themselves come from the event stream, not from here.

#include "messages/ids.hpp"
#include "messages/result_code.hpp"

#include <chrono>
#include <string_view>

namespace quiesce {

/// One request the supervisor answered.
struct request_note {
  /// The request: "cancel_job", "list_jobs", "node_hello", ...
  std::string_view operation;
  /// Who asked as the head knows them: the identity bound to a remote
  /// peer's connection, the `who` of an in-process caller.
  std::string_view who;
  /// False when the asker had no identity (the request was refused).
  bool authenticated = true;
  /// True for requests that change nothing (lists, status, wait).
  bool query = false;
  /// The job and task the request names (`invalid_id` when none).
  job_id job = invalid_id;
  task_id task = invalid_id;
  /// The reply's code and detail (for terminate_job: the acceptance; its
  /// end shows in the status changes).
  result_code code = result_code::ok;
  std::string_view detail;
};

/// Hooks the supervisor calls on its own thread. Implementations must be
/// quick, must not throw, and must synchronize with their readers.
class supervisor_observer {
public:
  virtual ~supervisor_observer() = default;

  /// A request was answered.
  virtual void on_request(const request_note& x) noexcept = 0;

  /// A task's first attempt was placed on a node `waited` after it could
  /// run (its submission or the start of its assessment, the later).
  virtual void on_dispatch(std::chrono::nanoseconds waited) noexcept = 0;

  /// What an accepted cancel request (cancel or terminate a job, cancel an
  /// assessment, a task) stopped has ended, `took` after the request.
  virtual void on_cancel_settled(std::chrono::nanoseconds took) noexcept = 0;
};

} // namespace quiesce
