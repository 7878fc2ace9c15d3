#pragma once

// What `quiesce run` shows while jobs run: a model of the jobs kept current
// from events, a plain line per event, and a live display for terminals.

#include "cli/terminal.hpp"
#include "messages/events.hpp"
#include "messages/records.hpp"

#include <caf/timestamp.hpp>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <map>
#include <mutex>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

namespace quiesce::cli {

/// One task as the display sees it.
struct task_view {
  /// The task's id.
  task_id id = invalid_id;
  /// Its name (may be empty).
  std::string name;
  /// Its assessment.
  assessment_index assessment = 0;
  /// Its current status.
  task_status status = task_status::not_submitted;
};

/// One job as the display sees it.
struct job_view {
  /// The job's id.
  job_id id = invalid_id;
  /// Its name.
  std::string name;
  /// Its current status.
  job_status status = job_status::not_submitted;
  /// Its end code once terminal.
  result_code end_code = result_code::ok;
  /// The index of the assessment running now, or -1.
  int32_t current = -1;
  /// The assessments' names, by index.
  std::vector<std::string> assessments;
  /// The tasks, by id.
  std::map<task_id, task_view> tasks;
  /// When the job started running and when it ended (unset until then).
  caf::timestamp started{};
  caf::timestamp ended{};
};

/// Task counts of one job by status.
struct task_counts {
  size_t queued = 0;
  size_t running = 0;
  size_t finished = 0;
  size_t failed = 0;
  size_t cancelled = 0;
  size_t other = 0;
};

/// Returns the task counts of `x`.
task_counts count_tasks(const job_view& x) noexcept;

/// The jobs of one run, kept current from events. Thread-safe.
class run_model {
public:
  /// Adds a job from its records (before it is submitted).
  void add(const job_record& job, const std::vector<task_record>& tasks);

  /// Applies `ev`; returns false if it concerns no job of the model.
  bool apply(const event& ev);

  /// Returns a plain line for `ev`, named with what the model knows, e.g.
  /// "12:00:01.234 job 1 (nightly) task 3 (compile): queued -> running on
  /// local".
  std::string describe(const event& ev) const;

  /// Returns a copy of every job, in the order they were added.
  std::vector<job_view> snapshot() const;

  /// Returns whether every job of the model is terminal.
  bool all_terminal() const;

  /// Blocks until every job is terminal or `timeout` passes; returns whether
  /// all are.
  bool wait_all_terminal(std::chrono::milliseconds timeout) const;

private:
  mutable std::mutex mtx_;
  mutable std::condition_variable cv_;
  std::vector<job_view> jobs_;
};

/// Returns one frame of the live display for `jobs` at time `now`: a header
/// line and one line per job (name, status, current assessment, task
/// counts, elapsed), each cut to `width` columns, at most `max_lines` lines.
std::vector<std::string> render_frame(const std::vector<job_view>& jobs,
                                      caf::timestamp now, size_t width,
                                      size_t max_lines);

/// A live display on a terminal: redraws the frame of a model in place at
/// most ten times a second, from its own thread.
class progress_display {
public:
  /// Draws `model` on `out`, a terminal that redraws with `seq` (see
  /// terminal.hpp); `fd` is its file descriptor (to ask for its size).
  progress_display(const run_model& model, std::ostream& out, int fd,
                   redraw_sequences seq);

  /// Calls `stop()`.
  ~progress_display();

  progress_display(const progress_display&) = delete;
  progress_display& operator=(const progress_display&) = delete;

  /// Starts redrawing.
  void start();

  /// Prints `text` as a line on `err` above the frame, without garbling it.
  void note(std::ostream& err, const std::string& text);

  /// Draws the last frame, leaves it on screen and stops. Idempotent.
  void stop();

private:
  void loop();
  void draw_locked();
  void erase_locked();

  const run_model& model_;
  std::ostream& out_;
  int fd_;
  redraw_sequences seq_;
  std::chrono::milliseconds period_{100};
  std::mutex mtx_;
  std::condition_variable cv_;
  bool running_ = false;
  size_t drawn_lines_ = 0;
  std::thread thread_;
};

} // namespace quiesce::cli
