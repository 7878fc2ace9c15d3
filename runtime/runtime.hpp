#pragma once

// The embedding API: a host program owns a `quiesce::runtime`, registers its
// work functions, adds and submits jobs, and calls every operation of the
// contract as a plain function returning a reply with a result code.

#include "actors/work.hpp"
#include "messages/commands.hpp"
#include "messages/events.hpp"
#include "messages/internal.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace quiesce {

/// How a runtime is set up.
struct runtime_options {
  /// CAF scheduler threads; 0 picks the number of cores (at least 2).
  uint32_t threads = 0;
  /// CAF scheduler policy: "sharing" or "stealing".
  std::string scheduler = "sharing";
  /// Slots of the local node; 0 means the number of cores.
  uint32_t slots = 0;
  /// Whether to run a local node (false for a head that only has remote
  /// nodes).
  bool local_node = true;
  /// The local node's name.
  std::string node_name = "local";
  /// Labels of the local node.
  std::vector<std::string> labels;
  /// Directory for per-attempt stdout/stderr files of commands.
  std::string run_dir = ".quiesce/runs";
  /// Jobs running at once (0: no limit); more stay queued.
  uint32_t max_running_jobs = 0;
  /// How long terminate_job waits for work to be confirmed dead.
  std::chrono::milliseconds terminate_bound{10000};
  /// How long a killed attempt may take to die before it is abandoned.
  std::chrono::milliseconds kill_bound{2000};
  /// Upper bound on every synchronous call except `wait`.
  std::chrono::milliseconds request_timeout{30000};
  /// Loads CAF's network layer (`caf::io::middleman`) so the supervisor can
  /// be published to remote nodes and clients.
  bool network = false;
  /// Middleman heartbeat interval (with `network`); a dead peer is noticed
  /// after `connection_timeout` without traffic.
  std::chrono::milliseconds heartbeat_interval{1000};
  /// Middleman connection timeout (with `network`).
  std::chrono::milliseconds connection_timeout{5000};
};

/// Identifies an event subscription.
using subscription_id = uint64_t;

/// Receives events, in order per job, on the runtime's event thread.
using event_callback = std::function<void(const event&)>;

/// An embedded Quiesce: supervisor, local node and executors in this process.
/// Every member function is thread-safe. Synchronous calls block the calling
/// thread (never a CAF thread) until the supervisor replies; a reply that
/// does not come within `request_timeout` returns `request_timeout`.
class runtime {
public:
  /// Starts the actor system, the supervisor and the local node.
  explicit runtime(runtime_options opts = {});

  /// Calls `shutdown()`.
  ~runtime();

  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  /// Returns the options in force (with defaults resolved).
  const runtime_options& options() const noexcept;

  /// Registers `fn` under `name` for function tasks; returns false if the
  /// name or the function is empty.
  bool register_work(std::string name, work_function fn);

  /// Adds a job in `not_submitted`; the reply holds its id.
  add_job_reply add_job(job_spec spec);

  /// Adds a task to assessment `index` of a not-submitted job.
  add_task_reply add_task(job_id job, assessment_index index, task_spec spec);

  /// Queues a job and its tasks.
  op_reply submit(job_id job);

  /// Cancels a job: at once if it has not started, else after its current
  /// assessment completes.
  op_reply cancel_job(job_id job, std::string message = {});

  /// Cancels the running assessment `index`.
  op_reply cancel_assessment(job_id job, assessment_index index);

  /// Kills the job's work now; returns once the job is terminal and its
  /// work confirmed dead (or `terminate_failed`).
  op_reply terminate_job(job_id job);

  /// Cancels one task with `message` as its error message.
  task_op_reply cancel_task(job_id job, task_id task, std::string message = {});

  /// Cancels tasks in order, stopping at the first refusal.
  cancel_tasks_reply cancel_tasks(job_id job, std::vector<task_id> tasks,
                                  std::string message = {});

  /// Queues a failed or cancelled task again.
  task_op_reply requeue_task(job_id job, task_id task);

  /// Queues a failed or cancelled job again.
  op_reply requeue_job(job_id job);

  /// Lists jobs, optionally only those in `status`.
  job_list list_jobs(std::optional<job_status> status = std::nullopt);

  /// Lists a job's tasks, optionally only those in `status`.
  task_list list_tasks(job_id job,
                       std::optional<task_status> status = std::nullopt);

  /// Returns a job's record.
  job_status_reply job_status(job_id job);

  /// Returns a task's record.
  task_status_reply task_status(job_id job, task_id task);

  /// Returns the nodes and their slots.
  node_list nodes();

  /// Blocks until the job is terminal or `timeout` passes (then the reply's
  /// code is `request_timeout`).
  job_status_reply wait(job_id job, std::chrono::milliseconds timeout);

  /// Calls `cb` with every later event, on the runtime's event thread, in
  /// order. Returns an id for `unsubscribe`.
  subscription_id subscribe(event_callback cb);

  /// Stops calling the callback of `id`.
  void unsubscribe(subscription_id id);

  /// Terminates every job that is not terminal, delivers the remaining
  /// events, and stops the actor system. Idempotent; never hangs (each step
  /// is bounded).
  void shutdown();

  /// The implementation (opaque to hosts).
  struct impl;

  /// Returns the implementation, for layers built on this one (CLI, head).
  impl& internals() noexcept;

private:
  std::unique_ptr<impl> impl_;
};

} // namespace quiesce
