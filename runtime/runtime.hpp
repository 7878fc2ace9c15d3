#pragma once

// The embedding API: a host program owns a `quiesce::runtime`, registers its
// work functions, adds and submits jobs, and calls every operation of the
// contract as a plain function returning a reply with a result code. The long
// operations also come in asynchronous forms (a future or a callback). A host
// needs no CAF code, unless it attaches Quiesce to an actor system of its own.
// Threading, lifetime and linking: docs/embedding.md.

#include "execution/work.hpp"
#include "config/diagnostic.hpp"
#include "config/settings.hpp"
#include "messages/commands.hpp"
#include "messages/events.hpp"
#include "messages/internal.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace caf {
class actor_system;
} // namespace caf

namespace quiesce {

/// How a runtime is set up: its scheduler, local node, supervisor, bounds
/// and network (config/settings.hpp).
using runtime_options = settings;

/// The reply to `add_jobs` and `load_jobs`.
struct add_jobs_reply {
  /// `ok`, or why the jobs (or the remaining jobs) were not added:
  /// `invalid_argument` for a file that failed validation, else the first
  /// refusal of `add_job`.
  result_code code = result_code::ok;
  /// A readable detail when `code != ok`.
  std::string detail;
  /// The ids of the jobs added, in order (those before a refusal when
  /// `add_job` refused one; none when the file failed validation).
  std::vector<job_id> jobs;
  /// Every problem of the job file (`load_jobs` only), each naming the file,
  /// line and column.
  std::vector<config::diagnostic> errors;
};

/// Receives the reply of an asynchronous operation, on the runtime's event
/// thread (see `runtime::submit_async`).
template <class Reply>
using reply_callback = std::function<void(Reply)>;

/// Identifies an event subscription.
using subscription_id = uint64_t;

/// Receives events, in order per job, on the runtime's event thread.
using event_callback = std::function<void(const event&)>;

/// An embedded Quiesce: supervisor, local node and executors in this process.
/// Every member function is thread-safe. Synchronous calls block the calling
/// thread (never a CAF thread) until the supervisor replies; a reply that
/// does not come within `request_timeout` returns `request_timeout`.
/// Asynchronous calls (`*_async`) return at once and never start a thread.
class runtime {
public:
  /// Starts an actor system of its own, the supervisor and the local node.
  explicit runtime(runtime_options opts = {});

  /// Attaches to the host's actor system `sys`, which the runtime uses but
  /// does not own: spawns the supervisor and the local node in it. The host
  /// must have called `quiesce::add_message_types(cfg)` (messages/type_ids.hpp)
  /// on the configuration of `sys`, and must destroy (or shut down) the
  /// runtime before `sys`. The options `threads`, `scheduler`, `network`,
  /// `heartbeat_interval` and `connection_timeout` are ignored: the host's
  /// configuration decides them. Throws `std::invalid_argument` when the type
  /// IDs of Quiesce are not registered in `sys`.
  runtime(caf::actor_system& sys, runtime_options opts);

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

  /// Adds `specs` in order, each in `not_submitted`; stops at the first
  /// refusal. The reply lists the ids of the jobs added.
  add_jobs_reply add_jobs(std::vector<job_spec> specs);

  /// Loads the TOML job file at `path` (docs/job-file.md), validates it and
  /// adds its jobs in file order, not submitted. Adds nothing when the file
  /// has any error; the reply's `errors` then names each one. Of the file's
  /// `[runtime]` table only the job defaults (grace, retries) apply: the
  /// runtime is already running. Blocks while reading the file.
  add_jobs_reply load_jobs(const std::string& path);

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

  /// Queues a job without blocking: the future becomes ready with
  /// `submit`'s reply (within `request_timeout`).
  std::future<op_reply> submit_async(job_id job);

  /// Queues a job without blocking; `cb` receives `submit`'s reply on the
  /// runtime's event thread.
  void submit_async(job_id job, reply_callback<op_reply> cb);

  /// Waits for a job without blocking: the future becomes ready with the
  /// job's final record once it is terminal, or with `request_timeout` after
  /// `timeout`.
  std::future<job_status_reply> wait_async(job_id job,
                                           std::chrono::milliseconds timeout);

  /// Waits for a job without blocking; `cb` receives `wait`'s reply on the
  /// runtime's event thread.
  void wait_async(job_id job, std::chrono::milliseconds timeout,
                  reply_callback<job_status_reply> cb);

  /// Terminates a job without blocking: the future becomes ready with
  /// `terminate_job`'s reply once the job is terminal and its work confirmed
  /// dead (or `terminate_failed`).
  std::future<op_reply> terminate_job_async(job_id job);

  /// Terminates a job without blocking; `cb` receives `terminate_job`'s
  /// reply on the runtime's event thread.
  void terminate_job_async(job_id job, reply_callback<op_reply> cb);

  /// Calls `cb` with every later event, on the runtime's event thread, in
  /// order. Returns an id for `unsubscribe`.
  subscription_id subscribe(event_callback cb);

  /// Stops calling the callback of `id`.
  void unsubscribe(subscription_id id);

  /// Terminates every job that is not terminal, delivers the remaining
  /// events, answers every pending asynchronous call (`unavailable` if its
  /// reply did not come) and stops the actor system (an attached host system
  /// keeps running; only Quiesce's actors stop). Idempotent; never hangs
  /// (each step is bounded). Must not be called from a callback of this
  /// runtime (event or reply) or from a work function.
  void shutdown();

  /// The implementation (opaque to hosts).
  struct impl;

  /// Returns the implementation, for layers built on this one (CLI, head).
  impl& internals() noexcept;

private:
  std::unique_ptr<impl> impl_;
};

} // namespace quiesce
