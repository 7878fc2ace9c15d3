#pragma once

// The books of every job: records are built here, and every change to them
// goes through `commit`, which numbers it for the event stream. Plain data
// and functions, no CAF scheduling; the supervisor owns one and is its only
// writer.

#include "actors/journal.hpp"
#include "actors/rules.hpp"
#include "messages/commands.hpp"
#include "messages/events.hpp"
#include "messages/internal.hpp"

#include <caf/optional.hpp>
#include <caf/timestamp.hpp>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace quiesce {

/// Returns the record of a new task `id` of job `job`, created at `now`.
task_record make_task_record(job_id job, task_id id,
                             assessment_index assessment, task_spec spec,
                             caf::timestamp now);

/// Returns the event that reports change `c` of job `job` as change number
/// `seq`, asked for by `who`.
event make_event(job_id job, const transition& c, uint64_t seq, std::string who,
                 caf::timestamp now);

/// Returns a copy of `j` as the journal writes it: its assessments without
/// their task lists.
job_record row_of(const job_record& j);

/// The books of every job, by id, and the count of their changes.
class books {
public:
  /// Returns the books of job `id`, or nullptr.
  job_books* find(job_id id) noexcept;

  /// Returns the books of job `id`, or nullptr.
  const job_books* find(job_id id) const noexcept;

  /// Adds a job built from a valid `spec`, owned by `owner`; returns its id.
  job_id add_job(job_spec spec, std::string owner, caf::timestamp now);

  /// Adds a task the rules accepted to assessment `index` of `b` (an index
  /// equal to the number of assessments appends one); returns its id.
  task_id add_task(job_books& b, assessment_index index, task_spec spec,
                   caf::timestamp now);

  /// Applies `c`, asked for by `who`, to `b`; returns the number of the
  /// change in the stream.
  uint64_t commit(job_books& b, const transition& c, caf::timestamp now,
                  const std::string& who = {});

  /// Records that the current attempt of `t` starts on node `node`. A
  /// `held` attempt (its task still `queued`) takes the next attempt number
  /// now.
  void begin_attempt(job_books& b, task_record& t, const std::string& node,
                     bool held = false);

  /// Records that attempt number `attempt` of `t` was used already (a node
  /// still runs it, from a placement the journal did not keep): the next
  /// attempt gets a higher number.
  void skip_attempts(job_books& b, task_record& t, uint32_t attempt);

  /// Records the end of a live attempt: it is no longer live, and the task
  /// keeps its exit code and node if it is the task's latest attempt. Returns
  /// false, changing nothing, for a duplicate or stale report.
  bool end_attempt(job_books& b, const attempt_ended& end);

  /// Records the output directory `o` reports for its job on the node of
  /// its task (replacing the one that node reported before). Returns false,
  /// changing nothing, for a task unknown, without a node, or
  /// past that attempt.
  bool set_output_dir(job_books& b, const attempt_output& o);

  /// Returns the numbered event for `p`, or none if that attempt does not
  /// run (any more).
  caf::optional<event> progress(const attempt_progress& p, caf::timestamp now);

  /// Returns the jobs `req` asks for.
  job_list list(const list_jobs& req) const;

  /// Returns the tasks `req` asks for.
  task_list list(const list_tasks& req) const;

  /// Returns the record of the job `req` names.
  job_status_reply status(const get_job_status& req) const;

  /// Returns the record of the task `req` names.
  task_status_reply status(const get_task_status& req) const;

  /// From now on, keeps what changes for `flush` (a head with a journal).
  void track() noexcept {
    tracking_ = true;
  }

  /// Returns true if something changed since the last `flush`.
  bool dirty() const noexcept {
    return !dirty_jobs_.empty() || !dirty_tasks_.empty() || !changes_.empty();
  }

  /// Returns true if job `id` changed since the last batch was taken.
  bool dirty(job_id id) const noexcept {
    return dirty_jobs_.count(id) > 0;
  }

  /// Returns what changed since the last batch was taken (copies of the
  /// records, the changes, the counters) and starts a new one.
  journal_batch take_batch();

  /// Writes every record and change made since the last batch to `j` and
  /// waits until it is written. Throws journal_error when it fails; the
  /// journal's writer tries again then.
  void flush(journal& j);

  /// Takes over what a journal holds: its jobs (every running task's
  /// attempt counts as live until its end is reported), the next job id and
  /// the change count.
  void restore(journal_contents contents);

  /// Removes job `id` from memory (retention: its end is in the journal, or
  /// there is none). The caller checked that nothing waits on it.
  void retire(job_id id);

  /// Takes back the last task of `b`, `id`, just added and never written
  /// (with `appended`, the assessment its adding appended too).
  void forget_task(job_books& b, task_id id, bool appended);

  /// Takes back into memory a job read from the journal (it was retired);
  /// nothing is written for it until it changes. Returns its books.
  job_books& revive(job_books b);

  /// Returns the id the next job will get.
  job_id next_job() const noexcept {
    return next_job_;
  }

  /// Returns every job, by id.
  const std::map<job_id, job_books>& jobs() const noexcept {
    return jobs_;
  }

private:
  // Notes that `job` (and its task `task`, unless invalid_id) changed.
  void touch(job_id job, task_id task = invalid_id);

  std::map<job_id, job_books> jobs_;
  job_id next_job_ = 1;
  uint64_t seq_ = 0;
  // What changed since the last flush, when tracking.
  bool tracking_ = false;
  std::set<job_id> dirty_jobs_;
  std::set<std::pair<job_id, task_id>> dirty_tasks_;
  // Of those, the tasks added since: written whole, the others without
  // their definition.
  std::set<std::pair<job_id, task_id>> new_tasks_;
  std::vector<journal_change> changes_;
};

} // namespace quiesce
