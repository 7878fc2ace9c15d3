#pragma once

// The one client of a supervisor: every operation of the contract as a plain
// function returning a reply with a result code, the long operations also
// asynchronous (a future or a callback), and the event stream. The same
// class serves an embedded runtime (`quiesce::runtime` is a client over an
// in-process transport) and a remote head (`quiesce::connect`, over CAF's
// middleman). No CAF type and no internal message appears here.

#include "config/diagnostic.hpp"
#include "config/settings.hpp"
#include "messages/commands.hpp"
#include "messages/events.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace quiesce {

namespace detail {
struct transport;
} // namespace detail

/// The reply to `add_jobs` and `load_jobs`.
struct add_jobs_reply {
  /// `ok`, or why the jobs (or the remaining jobs) were not added or
  /// submitted: `invalid_argument` for a file that failed validation, else
  /// the first refusal of `add_job` (or of `submit`, when submitting).
  result_code code = result_code::ok;
  /// A readable detail when `code != ok`.
  std::string detail;
  /// The ids of the jobs added, in order (those before a refusal when
  /// `add_job` refused one; none when the file failed validation).
  std::vector<job_id> jobs;
  /// How many of `jobs` were submitted (`add_jobs` with `submit` only).
  size_t submitted = 0;
  /// Every problem of the job file (`load_jobs` only), each naming the file,
  /// line and column.
  std::vector<config::diagnostic> errors;
};

/// Receives the reply of an asynchronous operation, on the client's event
/// thread (see `client::submit_async`).
template <class Reply>
using reply_callback = std::function<void(Reply)>;

/// Identifies an event subscription.
using subscription_id = uint64_t;

/// Receives events, in order per job, on the client's event thread.
using event_callback = std::function<void(const event&)>;

/// A client of one supervisor. Every member function is thread-safe.
/// Synchronous calls block the calling thread (never a CAF thread) until the
/// supervisor replies; a reply that does not come within the request
/// timeout returns `request_timeout`, and a lost connection to a remote head
/// returns `unavailable` at once. Asynchronous calls (`*_async`) return at
/// once and never start a thread.
class client {
public:
  /// Closes the client (see `close`).
  virtual ~client();

  client(const client&) = delete;
  client& operator=(const client&) = delete;

  /// Adds a job in `not_submitted`; the reply holds its id.
  add_job_reply add_job(job_spec spec);

  /// Adds `specs` in order, each in `not_submitted`, and with `submit`
  /// queues each right after it was added; stops at the first refusal. The
  /// reply lists the ids of the jobs added.
  add_jobs_reply add_jobs(std::vector<job_spec> specs, bool submit = false);

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

  /// Queues a failed or cancelled job again: its failed rerunnable tasks,
  /// and with `cancelled` its cancelled rerunnable tasks too.
  op_reply requeue_job(job_id job, bool cancelled = false);

  /// Lists jobs, optionally only those in `status`.
  job_list list_jobs(std::optional<job_status> status = std::nullopt);

  /// Lists the jobs `query` asks for: with `history`, jobs retired from the
  /// head's memory too, read from its journal, a page at a time
  /// (docs/durability.md, "History and retention").
  job_list list_jobs(const quiesce::list_jobs& query);

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
  /// `submit`'s reply (within the request timeout).
  std::future<op_reply> submit_async(job_id job);

  /// Queues a job without blocking; `cb` receives `submit`'s reply on the
  /// event thread.
  void submit_async(job_id job, reply_callback<op_reply> cb);

  /// Waits for a job without blocking: the future becomes ready with the
  /// job's final record once it is terminal, or with `request_timeout` after
  /// `timeout`.
  std::future<job_status_reply> wait_async(job_id job,
                                           std::chrono::milliseconds timeout);

  /// Waits for a job without blocking; `cb` receives `wait`'s reply on the
  /// event thread.
  void wait_async(job_id job, std::chrono::milliseconds timeout,
                  reply_callback<job_status_reply> cb);

  /// Terminates a job without blocking: the future becomes ready with
  /// `terminate_job`'s reply once the job is terminal and its work confirmed
  /// dead (or `terminate_failed`).
  std::future<op_reply> terminate_job_async(job_id job);

  /// Terminates a job without blocking; `cb` receives `terminate_job`'s
  /// reply on the event thread.
  void terminate_job_async(job_id job, reply_callback<op_reply> cb);

  /// Calls `cb` with every later event, on the event thread, in order.
  /// Returns an id for `unsubscribe`, or 0 when the supervisor refused the
  /// subscription or could not be reached.
  subscription_id subscribe(event_callback cb);

  /// Stops calling the callback of `id`.
  void unsubscribe(subscription_id id);

  /// Returns false once the connection to the supervisor is known lost (a
  /// remote head went away) or the client was closed.
  bool connected() const noexcept;

  /// Returns the name requests of this client carry (`who` in events).
  const std::string& name() const noexcept;

  /// Returns the bound on synchronous calls (except `wait`).
  std::chrono::milliseconds request_timeout() const noexcept;

  /// Answers every pending asynchronous call (`unavailable` if its reply did
  /// not come), delivers the events received so far and stops the event
  /// thread. Idempotent; bounded. Must not be called from a callback of
  /// this client. A `runtime` shuts down its supervisor first.
  virtual void close();

protected:
  /// Builds a client sending as `name` through `tr`; synchronous calls wait
  /// at most `request_timeout`, `terminate_job` that plus `terminate_bound`.
  client(std::shared_ptr<detail::transport> tr, std::string name,
         std::chrono::milliseconds request_timeout,
         std::chrono::milliseconds terminate_bound);

  /// Returns the transport (for `runtime`).
  detail::transport& transport() noexcept {
    return *tr_;
  }

private:
  std::shared_ptr<detail::transport> tr_;
  std::string name_;
  std::chrono::milliseconds request_timeout_;
  std::chrono::milliseconds terminate_timeout_;
};

/// The outcome of `connect`.
struct connect_result {
  /// The client, or null when the connection failed.
  std::unique_ptr<quiesce::client> client;
  /// `ok`, `unavailable` (nothing answered: worth retrying),
  /// `protocol_mismatch` (a peer that is not a Quiesce head of this
  /// protocol) or `invalid_argument` (not an address).
  result_code code = result_code::ok;
  /// A readable explanation when the connection failed.
  std::string error;
};

/// Connects to the head at `s.head` ("HOST:PORT") within
/// `s.connect_timeout`, in an actor system of the client's own (with CAF's
/// network layer, `s.heartbeat_interval` and `s.connection_timeout`); the
/// client's synchronous calls wait at most `s.request_timeout`, and its
/// requests carry `name` (`who` in events). A malformed `s.head` fails with
/// `invalid_argument`.
connect_result connect(const settings& s, std::string name = "api");

} // namespace quiesce
