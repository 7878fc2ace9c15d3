#pragma once

// What `quiesce` prints: times, JSON renderings of specs, records, events and
// diagnostics, the final summary table and the final JSON report. Pure
// functions of their arguments, so tests can check them without a runtime.

#include "config/diagnostic.hpp"
#include "config/job_file.hpp"
#include "config/settings.hpp"
#include "messages/events.hpp"
#include "messages/records.hpp"
#include "messages/spec.hpp"

#include <caf/timespan.hpp>
#include <caf/timestamp.hpp>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace quiesce::cli {

/// A job's final books: its record and the records of its tasks.
struct job_report {
  /// The job's record.
  job_record job;
  /// Its tasks' records, in id order.
  std::vector<task_record> tasks;
};

/// How a run ended, beyond the jobs' own statuses.
struct run_outcome {
  /// The process's exit status (see exit_status.hpp).
  int exit_status = 0;
  /// The signals that interrupted the run, in order ("SIGINT", ...).
  std::vector<std::string> signals;
  /// When the run began and ended.
  caf::timestamp started{};
  caf::timestamp ended{};
  /// A runtime error that stopped the run, or empty.
  std::string error;
  /// How the run's node contained its commands (runtime::containment()),
  /// or empty when no runtime started.
  std::string containment;
};

// -- times --------------------------------------------------------------------

/// Returns whether `x` was ever set (records leave unset times at the epoch).
bool is_set(caf::timestamp x) noexcept;

/// Returns `x` as local wall-clock time "HH:MM:SS.mmm".
std::string format_clock(caf::timestamp x);

/// Returns `x` as UTC ISO-8601 with milliseconds, "2024-05-01T12:00:01.234Z".
std::string format_iso8601(caf::timestamp x);

/// Returns `x` for humans: "0.31s", "12.5s", "3m07s", "2h05m".
std::string format_elapsed(caf::timespan x);

/// Returns `to - from` when both are set, else zero.
caf::timespan span(caf::timestamp from, caf::timestamp to) noexcept;

/// Returns how long something started at `started` has run: until `ended`,
/// or until `now` while it has not ended; "-" when it has not started.
std::string elapsed_text(caf::timestamp started, caf::timestamp ended,
                         caf::timestamp now);

/// Returns `x` in milliseconds.
int64_t to_ms(caf::timespan x) noexcept;

// -- JSON ---------------------------------------------------------------------

/// Returns a time as ISO-8601 text, or null when unset.
nlohmann::json time_json(caf::timestamp x);

/// Returns a task definition as JSON.
nlohmann::json to_json(const task_spec& x);

/// Returns a job definition as JSON, with its assessments and tasks.
nlohmann::json to_json(const job_spec& x);

/// Returns runtime settings as JSON (durations in milliseconds).
nlohmann::json to_json(const settings& x);

/// Returns a file problem as JSON: file, line, column, message and the
/// `file:line:col: error: ...` text.
nlohmann::json to_json(const config::diagnostic& x);

/// Returns a task's record as JSON; statuses and codes by name. With its
/// job's record, also `stdout` and `stderr`: the files of its last attempt
/// (null when not known, see `output_paths_of`).
nlohmann::json to_json(const task_record& x, const job_record* job = nullptr);

/// Returns a job's record as JSON with its assessments, each holding the
/// records of its tasks taken from `tasks`.
nlohmann::json to_json(const job_record& x,
                       const std::vector<task_record>& tasks);

/// Returns an event as JSON; statuses by name of the entity's enum.
nlohmann::json to_json(const event& x);

/// Returns the final report of `quiesce run --json`.
nlohmann::json run_report_json(const std::vector<job_report>& jobs,
                               const run_outcome& outcome);

/// Returns the report of `quiesce validate --json` for a loaded file.
nlohmann::json validate_report_json(const std::string& path,
                                    const config::load_result& loaded);

// -- tables -------------------------------------------------------------------

/// Returns the number of terminal columns `text` takes: each character's
/// width from libc's wcwidth() under C.UTF-8 (2 for CJK and most emoji, 0
/// for combining marks); control characters and invalid bytes count one.
size_t display_width(std::string_view text) noexcept;

/// Returns `text` cut to at most `width` display columns.
std::string truncate_to_width(std::string_view text, size_t width);

/// Returns `rows` as left-aligned columns separated by two spaces; the last
/// column is not padded. The first row is the header.
std::string render_table(const std::vector<std::vector<std::string>>& rows);

/// Returns the table of `quiesce list jobs`: JOB, NAME, STATUS, END CODE
/// ("-" until the job has ended), CURRENT, OWNER, ELAPSED (so far, at
/// `now`, for a job still running), MESSAGE.
std::string render_jobs_table(const std::vector<job_record>& jobs,
                              caf::timestamp now);

/// Returns a table of tasks in the one column order of `list tasks`,
/// `status`, `wait` and `run`: ASSESSMENT, TASK, NAME, STATUS, END CODE
/// ("-" until the task has ended), EXIT, NODE, DURATION (so far while
/// running), CPU, PEAK MEM, ATTEMPTS, REQUEUES, STDOUT, STDERR (the files of
/// the last attempt, "-" when not known), MESSAGE. `job` names the assessments;
/// with `only_unfinished`, finished tasks are left out.
std::string render_tasks_table(const job_record& job,
                               const std::vector<task_record>& tasks,
                               caf::timestamp now,
                               bool only_unfinished = false);

/// The most tasks of a job the summary lists one by one; a job with more
/// lists only the tasks that did not finish.
inline constexpr size_t max_listed_tasks = 40;

/// Returns the final summary: a table of jobs (status, end code, elapsed,
/// error message) and per job a table of tasks (status, end code, exit code,
/// node, duration, error message). With `only_unfinished`, or when a job has
/// more than `max_listed_tasks` tasks, finished tasks are left out.
std::string render_summary(const std::vector<job_report>& jobs,
                           bool only_unfinished = false,
                           caf::timestamp now = caf::make_timestamp());

} // namespace quiesce::cli
