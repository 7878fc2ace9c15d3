#pragma once

#include "execution/work.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace quiesce {

/// The shared state of one running work function.
struct work_context::state {
  uint64_t job = 0;
  uint64_t task = 0;
  uint32_t attempt = 0;
  std::vector<std::string> args;
  /// Called by report_progress (from the work's thread).
  std::function<void(int, std::string)> on_progress;
  mutable std::mutex mtx;
  mutable std::condition_variable cv;
  bool stop = false;
};

/// Calls `fn` with a context over `st` on this thread and returns its
/// result; an exception becomes a failure naming it.
work_result call_work(const work_function& fn,
                      std::shared_ptr<work_context::state> st) noexcept;

/// Runs work functions on threads of its own: one thread per slot, never a
/// CAF scheduler thread. A function that does not return after a kill is
/// abandoned: its end is reported at once, its thread is replaced so the slot
/// count stays true, and the old thread exits whenever the function returns.
class function_executor {
public:
  /// The end of one run: the result and whether the function really
  /// returned (false when abandoned).
  using done_callback = std::function<void(work_result, bool returned)>;

  /// Starts `slots` threads.
  explicit function_executor(size_t slots);

  /// Requests a stop of every run, waits up to two seconds for them to
  /// return, abandons the rest and joins every thread that is not stuck.
  ~function_executor();

  function_executor(const function_executor&) = delete;
  function_executor& operator=(const function_executor&) = delete;

  /// Queues `fn` for a free thread; `done` is called exactly once, from the
  /// executor's threads. Returns the run's id.
  uint64_t submit(work_function fn, std::shared_ptr<work_context::state> st,
                  done_callback done);

  /// Asks run `id` to stop (its context's stop_requested() turns true).
  void request_stop(uint64_t id);

  /// Abandons run `id` if it is still running: reports its end now (as not
  /// returned) and replaces its thread. Returns true if it was abandoned.
  bool abandon(uint64_t id);

  /// Returns the number of runs queued or running.
  size_t active() const;

private:
  struct run;

  void worker_loop(size_t index);

  void start_worker(size_t index);

  mutable std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<run>> queue_;
  std::unordered_map<uint64_t, std::shared_ptr<run>> runs_;
  std::condition_variable idle_cv_;
  std::vector<std::thread> threads_;
  uint64_t next_id_ = 1;
  bool shutting_down_ = false;
};

} // namespace quiesce
