#pragma once

// What every benchmark shares: command-line options, timing, percentiles,
// resident memory, result records, the JSON report and the readable table.
// Benchmarks are programs, never timed assertions: a result that misses its
// target is printed and recorded as such, and the exit status stays 0.

#include "execution/work.hpp"
#include "messages/spec.hpp"
#include "runtime/runtime.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace quiesce::bench {

/// The options every benchmark takes.
struct options {
  /// The workload's size (tasks, jobs or samples); 0 picks its default.
  uint64_t size = 0;
  /// CAF scheduler policy: "sharing" or "stealing".
  std::string policy = "sharing";
  /// CAF scheduler threads.
  uint32_t threads = 2;
  /// Whether `--threads` was given (else a head takes the runtime's
  /// default for a head: head_opts).
  bool threads_given = false;
  /// Slots of the node(s); 0 picks the workload's default.
  uint32_t slots = 0;
  /// Where to write the JSON results; empty writes none.
  std::string json;
  /// The program's own path (to find helper executables next to it).
  std::string self;
};

/// Parses `--size N --policy P --threads T --slots S --json FILE`; prints a
/// usage text and exits on an error or `--help`.
options parse(int argc, char** argv, const char* what);

/// One figure of one workload, beside its baseline.
struct result {
  /// The workload's name, e.g. "throughput_tasks".
  std::string workload;
  /// The variant: the scheduler policy.
  std::string variant;
  /// The figure's name, e.g. "tasks/s" or "p99".
  std::string figure;
  /// Its value, in `unit`.
  double value = 0;
  /// The unit of `value`, `baseline` and `target`.
  std::string unit;
  /// The baseline measured in the same run (0: none).
  double baseline = 0;
  /// A readable name of the baseline.
  std::string baseline_name;
  /// value / baseline (0 without a baseline).
  double ratio = 0;
  /// The target as text, e.g. ">= 150000".
  std::string target;
  /// Whether the target was met.
  bool met = false;
  /// The workload's size.
  uint64_t size = 0;
  /// Anything worth knowing to read the figure.
  std::string note;
};

/// Collects and reports a benchmark's results.
class report {
public:
  /// Starts a report for `workload` run with `opts`.
  report(std::string workload, const options& opts);

  /// Adds a figure whose target is a lower bound (`value >= min`); a
  /// negative `min` means no target. `ratio_min` > 0 adds a bound on
  /// value / baseline.
  result& at_least(std::string figure, double value, std::string unit,
                   double baseline, std::string baseline_name, double min,
                   double ratio_min = 0);

  /// Adds a figure whose target is an upper bound (`value <= max`, or
  /// `value < max` when `strict`); a negative `max` means no target.
  result& at_most(std::string figure, double value, std::string unit,
                  double baseline, std::string baseline_name, double max,
                  bool strict = true);

  /// Prints the table and writes the JSON file if one was asked for.
  /// Returns the exit status (0).
  int finish();

private:
  std::string workload_;
  options opts_;
  std::vector<result> results_;
};

/// Starts /bin/true `n` times by hand (posix_spawn + waitpid), `width` at a
/// time; returns processes/s. The raw baseline of command workloads. Uses
/// waitpid(-1): call it before anything else in the process has children.
double spawn_true_by_hand(uint64_t n, uint32_t width);

/// Prints `rows` as a table on standard output.
void print_table(const std::vector<result>& rows);

/// Returns the results in the JSON file at `path` (an array of objects, or
/// an object with "results").
std::vector<result> read_json(const std::string& path);

/// The CPU time (user + system) of every thread of this process so far, in
/// seconds.
double self_cpu_seconds();

/// A monotonic stopwatch.
class stopwatch {
public:
  using clock = std::chrono::steady_clock;

  stopwatch() : start_(clock::now()) {
    // nop
  }

  /// Restarts from now.
  void reset() {
    start_ = clock::now();
  }

  /// Returns the seconds since the start.
  double seconds() const {
    return std::chrono::duration<double>(clock::now() - start_).count();
  }

  /// Returns the microseconds since the start.
  double micros() const {
    return std::chrono::duration<double, std::micro>(clock::now() - start_)
        .count();
  }

private:
  clock::time_point start_;
};

/// Returns the `p`-th percentile (0..100) of `xs` (nearest rank); sorts.
double percentile(std::vector<double>& xs, double p);

/// Returns the resident set size of this process in bytes, after handing
/// free heap memory back to the system.
size_t resident_bytes();

/// Returns runtime options for a benchmark: the policy and threads of
/// `opts`, `slots` slots, a run directory under /tmp.
runtime_options runtime_opts(const options& opts, uint32_t slots);

/// The registered no-op work function's name.
inline constexpr const char* noop = "noop";

/// Returns a work function that succeeds at once.
work_function noop_work();

/// Returns a function task running `noop`.
task_spec noop_task();

/// Returns a command task running `argv`.
task_spec command_task(std::vector<std::string> argv);

/// Returns a job of one assessment of `n` copies of `task`.
job_spec one_assessment(uint64_t n, const task_spec& task);

/// Adds and submits a job of one assessment of `n` copies of `task`, waits
/// until it finished and returns tasks/s from add_job to its end.
double run_one_job(runtime& rt, uint64_t n, const task_spec& task);

/// The times of `run_one_task_jobs`, in seconds from its start.
struct one_task_jobs_times {
  /// When add_jobs returned.
  double added = 0;
  /// When the last job ended.
  double ended = 0;
};

/// Adds `n` jobs of one `noop_task()` each to `rt` (where `noop` is
/// registered), submits them all without waiting for each reply, and
/// returns once every one has finished. Job ends are counted from the event
/// stream: a wait call per job would measure the embedding API's call
/// overhead, not the runtime. Fails the benchmark if a job does not finish.
one_task_jobs_times run_one_task_jobs(runtime& rt, uint64_t n);

/// Aborts with `what` when `ok` is false (a broken benchmark is no figure).
void require(bool ok, const std::string& what);

/// A fresh directory under /tmp (`/tmp/quiesce-bench-NAME-XXXXXX`), removed
/// with everything in it at the end.
struct scratch_dir {
  std::string path;
  explicit scratch_dir(const std::string& name);
  ~scratch_dir();
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;
};

/// Returns the directory of this program (for helper executables).
std::string program_dir(const std::string& argv0);

/// Raw-CAF baseline: spawns one actor per task and makes one request/reply
/// with it, `n` times one after another, in an actor system of the given
/// policy and threads. Returns tasks per second.
double raw_spawn_request_rate(const options& opts, uint64_t n);

/// Raw-CAF baseline: latencies in microseconds of `n` request/replies from
/// a fresh scoped actor (as the runtime's blocking calls make them) to a
/// trivial actor.
std::vector<double> raw_request_latencies(const options& opts, uint64_t n);

} // namespace quiesce::bench
