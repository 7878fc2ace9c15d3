#pragma once

// The client protocol: one struct per request the supervisor serves. Each
// carries `who`, the name of the asking client or node, for the event stream.

#include "messages/handles.hpp"
#include "messages/ids.hpp"
#include "messages/records.hpp"
#include "messages/spec.hpp"
#include "messages/status.hpp"

#include <caf/meta/type_name.hpp>

#include <string>
#include <vector>

namespace quiesce {

/// Adds a new job in `not_submitted`. Reply: `add_job_reply`.
struct add_job {
  job_spec spec;
  std::string who;
};

/// Inspects an add_job.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, add_job& x) {
  return f(caf::meta::type_name("quiesce.add_job"), x.spec, x.who);
}

/// Adds several jobs in one request, in order, each exactly as `add_job`
/// would, and with `submit` submits each right after adding it. Stops at the
/// first refusal: the jobs before it stay added (and submitted). Reply:
/// `add_job_batch_reply`. Clients send at most `add_job_batch_max` specs per
/// request, so one message stays small.
struct add_job_batch {
  std::vector<job_spec> specs;
  bool submit = false;
  std::string who;
};

/// The most specs a client puts in one `add_job_batch`.
inline constexpr size_t add_job_batch_max = 1000;

/// Inspects an add_job_batch.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, add_job_batch& x) {
  return f(caf::meta::type_name("quiesce.add_job_batch"), x.specs, x.submit,
           x.who);
}

/// Adds a task to assessment `assessment` of a `not_submitted` job; an index
/// equal to the number of assessments appends a new one. Reply:
/// `add_task_reply`.
struct add_task {
  job_id job = invalid_id;
  assessment_index assessment = 0;
  task_spec spec;
  std::string who;
};

/// Inspects an add_task.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, add_task& x) {
  return f(caf::meta::type_name("quiesce.add_task"), x.job, x.assessment,
           x.spec, x.who);
}

/// Queues a `not_submitted` job and its tasks. Reply: `op_reply`.
struct submit_job {
  job_id job = invalid_id;
  std::string who;
};

/// Inspects a submit_job.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, submit_job& x) {
  return f(caf::meta::type_name("quiesce.submit_job"), x.job, x.who);
}

/// Cancels a job: at once if it is not running yet, otherwise after its
/// current assessment completes. Reply: `op_reply`.
struct cancel_job {
  job_id job = invalid_id;
  std::string message;
  std::string who;
};

/// Inspects a cancel_job.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cancel_job& x) {
  return f(caf::meta::type_name("quiesce.cancel_job"), x.job, x.message, x.who);
}

/// Cancels the running assessment `index` of a job. Reply: `op_reply`.
struct cancel_assessment {
  job_id job = invalid_id;
  assessment_index index = 0;
  std::string who;
};

/// Inspects a cancel_assessment.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cancel_assessment& x) {
  return f(caf::meta::type_name("quiesce.cancel_assessment"), x.job, x.index,
           x.who);
}

/// Kills all work of a job now; the reply comes once the job is terminal and
/// its work is confirmed dead. Reply: `op_reply`.
struct terminate_job {
  job_id job = invalid_id;
  std::string who;
};

/// Inspects a terminate_job.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, terminate_job& x) {
  return f(caf::meta::type_name("quiesce.terminate_job"), x.job, x.who);
}

/// Cancels one task, storing `message` as its error message. Reply:
/// `task_op_reply`.
struct cancel_task {
  job_id job = invalid_id;
  task_id task = invalid_id;
  std::string message;
  std::string who;
};

/// Inspects a cancel_task.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cancel_task& x) {
  return f(caf::meta::type_name("quiesce.cancel_task"), x.job, x.task,
           x.message, x.who);
}

/// Cancels several tasks in order, stopping at the first refusal. Reply:
/// `cancel_tasks_reply`.
struct cancel_tasks {
  job_id job = invalid_id;
  std::vector<task_id> tasks;
  std::string message;
  std::string who;
};

/// Inspects a cancel_tasks.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cancel_tasks& x) {
  return f(caf::meta::type_name("quiesce.cancel_tasks"), x.job, x.tasks,
           x.message, x.who);
}

/// Queues a failed or cancelled task again (a running one is cancelled
/// first). Reply: `task_op_reply`.
struct requeue_task {
  job_id job = invalid_id;
  task_id task = invalid_id;
  std::string who;
};

/// Inspects a requeue_task.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, requeue_task& x) {
  return f(caf::meta::type_name("quiesce.requeue_task"), x.job, x.task, x.who);
}

/// Queues a failed or cancelled job again; its failed rerunnable tasks are
/// queued, finished ones stay, cancelled ones stay unless `cancelled` is set
/// (then cancelled rerunnable tasks are queued too). Reply: `op_reply`.
struct requeue_job {
  job_id job = invalid_id;
  std::string who;
  /// Whether cancelled rerunnable tasks are queued again too.
  bool cancelled = false;
};

/// Inspects a requeue_job.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, requeue_job& x) {
  return f(caf::meta::type_name("quiesce.requeue_job"), x.job, x.who,
           x.cancelled);
}

/// Lists jobs, optionally only those in one status. Reply: `job_list`.
struct list_jobs {
  bool filter_by_status = false;
  job_status status = job_status::not_submitted;
  /// Also jobs retired from the head's memory, read from its journal
  /// (docs/durability.md, "History and retention").
  bool history = false;
  /// At most this many jobs, the newest (highest ids) first chosen; 0: every
  /// job in memory, or `default_history_limit` with `history`. A head caps
  /// it at `max_history_limit` with `history`.
  uint32_t limit = 0;
  /// Only jobs with a lower id (a page after one that ended at this id); 0:
  /// no bound.
  job_id before = invalid_id;
};

/// The jobs a `list_jobs` with `history` and no limit returns.
inline constexpr uint32_t default_history_limit = 1000;

/// The most jobs a `list_jobs` with `history` returns.
inline constexpr uint32_t max_history_limit = 10000;

/// Inspects a list_jobs.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, list_jobs& x) {
  return f(caf::meta::type_name("quiesce.list_jobs"), x.filter_by_status,
           x.status, x.history, x.limit, x.before);
}

/// Lists a job's tasks, optionally only those in one status. Reply:
/// `task_list`.
struct list_tasks {
  job_id job = invalid_id;
  bool filter_by_status = false;
  task_status status = task_status::not_submitted;
};

/// Inspects a list_tasks.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, list_tasks& x) {
  return f(caf::meta::type_name("quiesce.list_tasks"), x.job,
           x.filter_by_status, x.status);
}

/// Asks for one job's record. Reply: `job_status_reply`.
struct get_job_status {
  job_id job = invalid_id;
};

/// Inspects a get_job_status.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, get_job_status& x) {
  return f(caf::meta::type_name("quiesce.get_job_status"), x.job);
}

/// Asks for one task's record. Reply: `task_status_reply`.
struct get_task_status {
  job_id job = invalid_id;
  task_id task = invalid_id;
};

/// Inspects a get_task_status.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, get_task_status& x) {
  return f(caf::meta::type_name("quiesce.get_task_status"), x.job, x.task);
}

/// Waits until a job is terminal. Reply: `job_status_reply` (the final
/// record), or `request_timeout` from the caller's own bound.
struct wait_job {
  job_id job = invalid_id;
};

/// Inspects a wait_job.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, wait_job& x) {
  return f(caf::meta::type_name("quiesce.wait_job"), x.job);
}

// -- replies ------------------------------------------------------------------

/// The reply to requests that return only a code.
struct op_reply {
  result_code code = result_code::ok;
  /// A readable detail: why a request was refused, or empty.
  std::string detail;
};

/// Inspects an op_reply.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, op_reply& x) {
  return f(caf::meta::type_name("quiesce.op_reply"), x.code, x.detail);
}

/// The reply to add_job.
struct add_job_reply {
  result_code code = result_code::ok;
  std::string detail;
  /// The new job's id when `code == ok`.
  job_id job = invalid_id;
};

/// Inspects an add_job_reply.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, add_job_reply& x) {
  return f(caf::meta::type_name("quiesce.add_job_reply"), x.code, x.detail,
           x.job);
}

/// The reply to an add_job_batch.
struct add_job_batch_reply {
  /// `ok`, or the first refusal (of an `add_job`, or of a `submit`).
  result_code code = result_code::ok;
  std::string detail;
  /// The ids of the jobs added, in order (those before a refusal).
  std::vector<job_id> jobs;
  /// How many of `jobs` were submitted.
  uint32_t submitted = 0;
};

/// Inspects an add_job_batch_reply.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, add_job_batch_reply& x) {
  return f(caf::meta::type_name("quiesce.add_job_batch_reply"), x.code,
           x.detail, x.jobs, x.submitted);
}

/// The reply to add_task.
struct add_task_reply {
  result_code code = result_code::ok;
  std::string detail;
  /// The new task's id when `code == ok`.
  task_id task = invalid_id;
};

/// Inspects an add_task_reply.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, add_task_reply& x) {
  return f(caf::meta::type_name("quiesce.add_task_reply"), x.code, x.detail,
           x.task);
}

/// The reply to cancel_task and requeue_task.
struct task_op_reply {
  result_code code = result_code::ok;
  std::string detail;
  /// The task's status after the request (its current status if refused).
  task_status status = task_status::not_submitted;
};

/// Inspects a task_op_reply.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, task_op_reply& x) {
  return f(caf::meta::type_name("quiesce.task_op_reply"), x.code, x.detail,
           x.status);
}

/// The reply to cancel_tasks: one code per requested task, in order.
struct cancel_tasks_reply {
  /// `ok`, or the first refusal.
  result_code code = result_code::ok;
  std::string detail;
  /// One code per task; `not_attempted` after the first refusal.
  std::vector<result_code> codes;
};

/// Inspects a cancel_tasks_reply.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cancel_tasks_reply& x) {
  return f(caf::meta::type_name("quiesce.cancel_tasks_reply"), x.code, x.detail,
           x.codes);
}

/// The reply to list_jobs.
struct job_list {
  result_code code = result_code::ok;
  std::vector<job_record> jobs;
  /// Jobs below the lowest id listed match too (a limit cut them off): ask
  /// again with `before` set to that id.
  bool more = false;
};

/// Inspects a job_list.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_list& x) {
  return f(caf::meta::type_name("quiesce.job_list"), x.code, x.jobs, x.more);
}

/// The reply to list_tasks.
struct task_list {
  result_code code = result_code::ok;
  std::vector<task_record> tasks;
  /// Why, for some refusals (a job retired from memory of a head without a
  /// journal); empty otherwise.
  std::string detail;
};

/// Inspects a task_list.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, task_list& x) {
  return f(caf::meta::type_name("quiesce.task_list"), x.code, x.tasks,
           x.detail);
}

/// The reply to get_job_status and wait_job.
struct job_status_reply {
  result_code code = result_code::ok;
  job_record job;
  /// Why, for some refusals (a job retired from memory of a head without a
  /// journal); empty otherwise.
  std::string detail;
};

/// Inspects a job_status_reply.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_status_reply& x) {
  return f(caf::meta::type_name("quiesce.job_status_reply"), x.code, x.job,
           x.detail);
}

/// The reply to get_task_status.
struct task_status_reply {
  result_code code = result_code::ok;
  task_record task;
  /// Why, for some refusals (a job retired from memory of a head without a
  /// journal); empty otherwise.
  std::string detail;
};

/// Inspects a task_status_reply.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, task_status_reply& x) {
  return f(caf::meta::type_name("quiesce.task_status_reply"), x.code, x.task,
           x.detail);
}

/// One node as the supervisor sees it.
struct node_record {
  std::string name;
  uint32_t slots = 0;
  uint32_t running = 0;
  std::vector<std::string> labels;
  /// Whether it takes work.
  node_status status = node_status::ready;
  /// Reports from it the head ignored as stale: about an attempt that is not
  /// the task's live one, or from an earlier incarnation of the node.
  uint64_t stale_reports = 0;
};

/// Inspects a node_record.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_record& x) {
  return f(caf::meta::type_name("quiesce.node_record"), x.name, x.slots,
           x.running, x.labels, x.status, x.stale_reports);
}

/// Asks the supervisor for its nodes. Reply: `node_list`.
struct list_nodes {};

/// Inspects a list_nodes.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, list_nodes&) {
  return f(caf::meta::type_name("quiesce.list_nodes"));
}

/// The reply to list_nodes and node_hello.
struct node_list {
  result_code code = result_code::ok;
  std::string detail;
  std::vector<node_record> nodes;
};

/// Inspects a node_list.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_list& x) {
  return f(caf::meta::type_name("quiesce.node_list"), x.code, x.detail,
           x.nodes);
}

/// Client → supervisor: deliver every future event to `sink`. Reply:
/// `op_reply`.
struct subscribe {
  event_sink_actor sink;
};

/// Inspects a subscribe.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, subscribe& x) {
  return f(caf::meta::type_name("quiesce.subscribe"), x.sink);
}

} // namespace quiesce
