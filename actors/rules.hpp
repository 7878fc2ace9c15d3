#pragma once

// The rules table: which request is valid in which state, and what it
// changes. Pure functions of a job's books; no CAF scheduling, no clocks. The
// supervisor is their only caller and applies what they return.

#include "messages/commands.hpp"
#include "messages/events.hpp"
#include "messages/internal.hpp"
#include "messages/records.hpp"

#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace quiesce {

/// One job's entry in the books: its record and its tasks.
struct job_books {
  /// The job's record.
  job_record job;
  /// Its tasks; the task with id `n` is `tasks[n - 1]`.
  std::vector<task_record> tasks;
  /// Attempts started and not yet reported ended (the work may still run),
  /// by task id: the attempt number.
  std::unordered_map<task_id, uint32_t> live;
  /// Tasks whose live attempt is held by its node (placed beyond its free
  /// slots): the task stays `queued` until the node reports the start
  /// (docs/semantics.md, "Held attempts"). Not journaled.
  std::unordered_set<task_id> held;

  /// Returns the task with id `id`, or nullptr.
  const task_record* find(task_id id) const noexcept;

  /// Returns the task with id `id`, or nullptr.
  task_record* find(task_id id) noexcept;
};

/// One status change the books should apply.
struct transition {
  /// Job, assessment or task.
  event_kind kind = event_kind::job;
  /// 0 for the job, the assessment index or the task id.
  uint64_t subject = 0;
  /// Status before and after, of the entity `kind` names (see `fits`).
  entity_status from;
  entity_status to;
  /// End code or outcome that goes with the change.
  result_code code = result_code::ok;
  /// Error message to store (empty keeps the current one).
  std::string message;
};

/// Returns a job transition.
transition job_change(job_status from, job_status to,
                      result_code code = result_code::ok,
                      std::string message = {});

/// Returns an assessment transition.
transition assessment_change(assessment_index index, assessment_status from,
                             assessment_status to,
                             result_code code = result_code::ok);

/// Returns a task transition.
transition task_change(task_id id, task_status from, task_status to,
                       result_code code = result_code::ok,
                       std::string message = {});

/// What the rules say about one request or report.
struct decision {
  /// `ok`, or why the request is refused (then nothing else is set).
  result_code code = result_code::ok;
  /// A readable detail for refusals ("task 3 is finished").
  std::string detail;
  /// Changes to apply, in order.
  std::vector<transition> changes;
  /// Running tasks whose work must be signalled, and how.
  std::vector<task_id> stop;
  stop_mode mode = stop_mode::graceful;
  /// For cancel_tasks: one code per requested task.
  std::vector<result_code> codes;

  /// Returns true if the request was accepted.
  explicit operator bool() const noexcept {
    return code == result_code::ok;
  }
};

/// Returns `ok` if `spec` may be added as a job, or `invalid_argument` with
/// a detail naming the first problem.
decision validate(const job_spec& spec);

/// Returns `ok` if `spec` may be added as a task.
decision validate(const task_spec& spec);

/// Rules for adding a task to a job.
decision decide(const job_books& b, const add_task& req);

/// Rules for submitting a job.
decision decide(const job_books& b, const submit_job& req);

/// Rules for cancelling a job (finish-current-assessment).
decision decide(const job_books& b, const cancel_job& req);

/// Rules for cancelling the running assessment.
decision decide(const job_books& b, const cancel_assessment& req);

/// Rules for terminating a job.
decision decide(const job_books& b, const terminate_job& req);

/// Rules for cancelling one task.
decision decide(const job_books& b, const cancel_task& req);

/// Rules for cancelling several tasks in order.
decision decide(const job_books& b, const cancel_tasks& req);

/// Rules for requeueing a task.
decision decide(const job_books& b, const requeue_task& req);

/// Rules for requeueing a job.
decision decide(const job_books& b, const requeue_job& req);

/// Rules for the end of an attempt reported by a node.
decision decide(const job_books& b, const attempt_ended& report);

/// Returns the changes that start a queued job: the job becomes running and
/// its first assessment still to run begins. Empty if the job is not queued.
decision start(const job_books& b);

/// Returns the next step of a running or cancelling job: if its current
/// assessment is complete (every task terminal, no live attempt), the
/// assessment completes and either the next one begins or the job ends.
/// Empty when nothing is due. Call until it returns no changes.
decision advance(const job_books& b);

/// Returns true if task `id` may be dispatched now: queued, in the current
/// assessment of a running job, with no live attempt of its own.
bool dispatchable(const job_books& b, const task_record& t) noexcept;

/// Applies `c` to the books: statuses, end codes, messages, the current
/// assessment, requeue counts and timestamps (`now`).
void apply(job_books& b, const transition& c, caf::timestamp now);

} // namespace quiesce
