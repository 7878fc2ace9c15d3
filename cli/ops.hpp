#pragma once

// The operations side of `quiesce head` and `quiesce node`: the log file
// (spdlog, rotated by size) and the head's Prometheus endpoint (cpp-httplib).
// Neither library appears in this header; docs/operations.md describes the
// lines and the metrics.

#include "actors/observer.hpp"
#include "config/settings.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace quiesce {
struct event;
struct job_record;
struct node_record;
struct task_record;
} // namespace quiesce

namespace quiesce::cli {

/// The severity of a log line.
enum class log_level { trace, debug, info, warn, error };

/// A head's or node's log file, rotated by size; thread-safe. A log opened
/// without a file drops every line.
class ops_log {
public:
  /// Returns a log that writes nothing.
  ops_log();

  ~ops_log();

  /// Returns the log file `s` names (`log_file`, `log_level`,
  /// `log_max_size`, `log_files`), or one that writes nothing when it names
  /// none; returns nullptr and says why in `error` when the file cannot be
  /// opened for appending.
  static std::shared_ptr<ops_log> open(const settings& s, std::string& error);

  /// Returns whether lines of `level` are written.
  bool enabled(log_level level) const noexcept;

  /// Writes one line at `level` (flushed at once: a crash loses none);
  /// `fields` is logfmt text ("msg=status job=1 ...").
  void write(log_level level, std::string_view fields);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Returns `text` as a logfmt value: bare when it is not empty and is
/// printable ASCII without space, quote, '=' or backslash; otherwise quoted,
/// with the escapes of `escape_controls` (messages/text.hpp) and `\"`, so a
/// line is always one line.
std::string logfmt_value(std::string_view text);

/// Returns the logfmt fields of status change `x`:
/// `msg=status job=1 task=3 from=queued to=running code=ok who=node-1`.
std::string log_fields(const event& x);

/// Returns the logfmt fields of request `x`:
/// `msg=request op=cancel_job who=alice job=1 code=ok`.
std::string log_fields(const request_note& x);

/// Returns the level of request `x`: debug for queries, warn for refusals
/// of who asks (permission_denied), info otherwise.
log_level level_of(const request_note& x) noexcept;

/// A Prometheus histogram of durations with fixed bucket bounds, updated
/// without locks (one relaxed atomic add per bucket hit, sum and count).
class histogram {
public:
  /// Upper bounds of the buckets in seconds, ascending (+Inf is implied).
  explicit histogram(std::vector<double> bounds);

  /// Counts one observation of `x`.
  void observe(std::chrono::nanoseconds x) noexcept;

  /// Appends the histogram as Prometheus text: HELP, TYPE, the cumulative
  /// `_bucket{le=...}` lines, `_sum` (seconds) and `_count`.
  void render(const std::string& name, const std::string& help,
              std::string& out) const;

private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<uint64_t> sum_ns_{0};
  std::atomic<uint64_t> count_{0};
};

/// What `quiesce head` learns from its supervisor: it logs each request
/// with the identity that asked, counts requests by operation and code, and
/// keeps the dispatch and cancel latency histograms.
class head_observer : public supervisor_observer {
public:
  explicit head_observer(std::shared_ptr<ops_log> log);

  void on_request(const request_note& x) noexcept override;

  void on_dispatch(std::chrono::nanoseconds waited) noexcept override;

  void on_cancel_settled(std::chrono::nanoseconds took) noexcept override;

  /// Appends its metrics as Prometheus text.
  void render(std::string& out) const;

private:
  std::shared_ptr<ops_log> log_;
  histogram dispatch_;
  histogram cancel_;
  mutable std::mutex mtx_;
  std::map<std::pair<std::string, std::string>, uint64_t> requests_;
};

/// Returns a head's state as Prometheus text: jobs and tasks by status,
/// the queue depth (queued jobs; queued tasks of the current assessment of
/// running jobs), nodes by status and their slots. `tasks[i]` holds the
/// tasks of `jobs[i]`.
std::string
render_state_metrics(const std::vector<job_record>& jobs,
                     const std::vector<std::vector<task_record>>& tasks,
                     const std::vector<node_record>& nodes);

/// An HTTP server (cpp-httplib, one thread of its own plus one per
/// connection) that answers `GET /metrics` with `render()`, and 404
/// otherwise.
class metrics_server {
public:
  explicit metrics_server(std::function<std::string()> render);

  /// Calls `stop()`.
  ~metrics_server();

  /// Listens at `host`:`port` (port 0 picks one) and serves on a thread of
  /// its own; returns the bound port, or 0 and why in `error`.
  uint16_t start(const std::string& host, uint16_t port, std::string& error);

  /// Stops serving and joins its thread; idempotent.
  void stop();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace quiesce::cli
