#pragma once

// Stop signals for `quiesce run`, `head` and `node`: SIGINT, SIGTERM and
// SIGHUP (the terminal or SSH session closed; handled like SIGTERM) are blocked
// in every thread before the runtime starts (its threads inherit the mask; the
// process launcher resets the mask for tasks) and taken by one thread with
// sigtimedwait, so handling them may call anything, including the runtime.

#include <atomic>
#include <functional>
#include <thread>

namespace quiesce::cli {

/// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread, and so in every
/// thread it creates afterwards. Call it before creating any thread.
void block_stop_signals();

/// Returns "SIGINT", "SIGTERM" or "SIGHUP" for a stop signal.
const char* stop_signal_name(int sig);

/// A thread that waits for SIGINT, SIGTERM and SIGHUP and calls a handler with
/// each.
class signal_watcher {
public:
  /// Receives the number of each stop signal, on the watcher's thread.
  using handler = std::function<void(int)>;

  /// Starts watching; `block_stop_signals` must have run in this thread.
  explicit signal_watcher(handler fn);

  /// Calls `stop()`.
  ~signal_watcher();

  signal_watcher(const signal_watcher&) = delete;
  signal_watcher& operator=(const signal_watcher&) = delete;

  /// Stops watching once the handler running now (if any) returns; signals
  /// arriving later stay pending. Idempotent.
  void stop();

private:
  handler fn_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

} // namespace quiesce::cli
