#pragma once

// Placement: which queued job starts next and which ready task runs on which
// node. Jobs start in submission order, within the limit of running jobs;
// running jobs take turns (round robin), one task per job per turn, each on
// the fitting node with the most free slots. Plain data and functions, no
// CAF scheduling.

#include "actors/books.hpp"
#include "actors/nodes.hpp"

#include <caf/optional.hpp>

#include <cstdint>
#include <deque>
#include <map>

namespace quiesce {

/// Returns the ready node with a free slot and `t`'s label (if any) that
/// runs the tasks of `owner` (owner_refusal) and has the most free slots
/// (the first such on a tie). Returns nullptr while every ready node with
/// the label that runs them is busy. When none runs them, returns the one
/// with the most free slots all the same, or nullptr: it refuses the
/// attempt and says why (docs/security.md).
node_entry* pick_node(std::vector<node_entry>& nodes, const task_record& t,
                      const std::string& owner);

/// Returns the order that starts the current attempt of `t` of job `b` on
/// node `n`.
run_task make_run_task(const job_books& b, const task_record& t,
                       const node_entry& n);

/// The start queue of jobs and the ready ring of tasks.
class placement {
public:
  /// One task to dispatch now.
  struct choice {
    job_books* job = nullptr;
    task_record* task = nullptr;
    node_entry* node = nullptr;
  };

  /// Creates a placement that runs at most `max_running_jobs` jobs at once
  /// (0 means no limit).
  explicit placement(uint32_t max_running_jobs = 0)
      : max_running_jobs_(max_running_jobs) {
    // nop
  }

  /// Job `id` became queued: it waits for its turn to start.
  void job_queued(job_id id);

  /// A job became running or cancelling.
  void job_activated() noexcept {
    ++running_jobs_;
  }

  /// A job stopped being running or cancelling.
  void job_deactivated() noexcept {
    --running_jobs_;
  }

  /// Returns the number of jobs in `running` or `cancelling`.
  uint32_t running_jobs() const noexcept {
    return running_jobs_;
  }

  /// Returns and removes the next queued job if the limit lets one more job
  /// start, or `invalid_id`. The job may have left `queued` since it joined.
  job_id next_start();

  /// Assessment `index` of `b` begins: its queued tasks become its ready
  /// tasks, in order.
  void begin_assessment(const job_books& b, assessment_index index);

  /// Task `task` of job `job` became dispatchable.
  void ready(job_id job, task_id task);

  /// Forgets job `id` (retired from memory): it has nothing to dispatch.
  void forget(job_id id);

  /// Returns the next task to dispatch and its node, or none when no ready
  /// task fits a free slot now. Jobs whose next task fits no node wait for
  /// the end of the round. Dispatch each choice (taking a slot of its node)
  /// before asking again.
  caf::optional<choice> next(books& jobs, node_table& nodes);

private:
  /// A running job's place in the ring.
  struct queue {
    /// Queued tasks of the current assessment, in dispatch order; entries
    /// that stopped being dispatchable are skipped when reached.
    std::deque<task_id> ready;
    /// Whether the job is in the ring (or waits in `blocked_`).
    bool in_ring = false;
  };

  void add_to_ring(job_id id, queue& q);

  uint32_t max_running_jobs_;
  uint32_t running_jobs_ = 0;
  /// Submitted jobs waiting to start, in submission order.
  std::deque<job_id> start_queue_;
  std::map<job_id, queue> queues_;
  /// Running jobs with tasks to dispatch, served round-robin.
  std::deque<job_id> ring_;
  /// Jobs whose next task fit no node in this round.
  std::deque<job_id> blocked_;
};

} // namespace quiesce
