#pragma once

// Work functions: what an embedding program registers under a name so that
// tasks can run it. Free of CAF types so a host never writes CAF code.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace quiesce {

/// How a work function ended.
struct work_result {
  /// The possible ends.
  enum class kind : uint8_t { success, failure, stopped };

  /// How it ended.
  kind how = kind::success;
  /// Why it failed or stopped; becomes the task's error message.
  std::string message;

  /// Returns a success.
  static work_result success() {
    return {};
  }

  /// Returns a failure with `why` as the task's error message.
  static work_result failure(std::string why) {
    return {kind::failure, std::move(why)};
  }

  /// Returns an acknowledged stop request: the task ends `cancelled`.
  static work_result stopped(std::string why = "stopped on request") {
    return {kind::stopped, std::move(why)};
  }
};

/// What a running work function sees of its task. Thread-safe.
class work_context {
public:
  /// The shared state behind a context (owned by the executor).
  struct state;

  /// Creates a context over `st`; used by executors.
  explicit work_context(std::shared_ptr<state> st);

  /// Returns the job's id.
  uint64_t job() const noexcept;

  /// Returns the task's id.
  uint64_t task() const noexcept;

  /// Returns the attempt number (1 for the first run).
  uint32_t attempt() const noexcept;

  /// Returns the arguments from the task's definition.
  const std::vector<std::string>& args() const noexcept;

  /// Returns true once a stop was requested (cancel, timeout, terminate).
  bool stop_requested() const noexcept;

  /// Blocks until a stop is requested or `timeout` passes; returns true if a
  /// stop was requested.
  bool wait_for_stop(std::chrono::milliseconds timeout) const;

  /// Reports progress (0..100, clamped) with a short text.
  void report_progress(int percent, std::string text = {}) const;

private:
  std::shared_ptr<state> state_;
};

/// A registered work function. It runs on a thread of its own (one per slot,
/// never a CAF scheduler thread) and may block; an exception it throws makes
/// the task `failed` with the exception's text.
using work_function = std::function<work_result(const work_context&)>;

/// How a work function runs, declared by the host when it registers it.
enum class work_mode : uint8_t {
  /// On a thread of the node's own (one per slot), never on an actor
  /// thread: it may block, wait for a stop request, or run for hours. The
  /// default.
  blocking,
  /// Inline, on the node actor's thread, with no thread hand-off: for short
  /// functions that never block. It runs to its end as one step, so a stop
  /// request or a time limit cannot reach it while it runs
  /// (`stop_requested()` stays false and `wait_for_stop` only sleeps), and
  /// it delays every other message of its node while it runs.
  non_blocking,
};

} // namespace quiesce
