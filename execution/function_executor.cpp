#include "execution/function_executor.hpp"

#include <exception>
#include <pthread.h>

namespace quiesce {

// -- work_context
// ---------------------------------------------------------------

work_context::work_context(std::shared_ptr<state> st) : state_(std::move(st)) {
  // nop
}

uint64_t work_context::job() const noexcept {
  return state_->job;
}

uint64_t work_context::task() const noexcept {
  return state_->task;
}

uint32_t work_context::attempt() const noexcept {
  return state_->attempt;
}

const std::vector<std::string>& work_context::args() const noexcept {
  return state_->args;
}

bool work_context::stop_requested() const noexcept {
  std::lock_guard<std::mutex> guard{state_->mtx};
  return state_->stop;
}

bool work_context::wait_for_stop(std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> guard{state_->mtx};
  return state_->cv.wait_for(guard, timeout, [this] { return state_->stop; });
}

void work_context::report_progress(int percent, std::string text) const {
  if (percent < 0)
    percent = 0;
  if (percent > 100)
    percent = 100;
  if (state_->on_progress)
    state_->on_progress(percent, std::move(text));
}

// -- function_executor
// ------------------------------------------------------------

struct function_executor::run {
  uint64_t id = 0;
  work_function fn;
  std::shared_ptr<work_context::state> ctx;
  done_callback done;
  // Guards the hand-over between a returning function and an abandon.
  std::mutex mtx;
  bool started = false;
  bool returned = false;
  bool abandoned = false;
  size_t worker = 0;
};

namespace {

void request_stop_of(work_context::state& st) {
  {
    std::lock_guard<std::mutex> guard{st.mtx};
    st.stop = true;
  }
  st.cv.notify_all();
}

} // namespace

function_executor::function_executor(size_t slots) {
  if (slots == 0)
    slots = 1;
  threads_.resize(slots);
  for (size_t i = 0; i < slots; ++i)
    start_worker(i);
}

function_executor::~function_executor() {
  std::unique_lock<std::mutex> guard{mtx_};
  shutting_down_ = true;
  for (auto& [id, r] : runs_)
    request_stop_of(*r->ctx);
  cv_.notify_all();
  idle_cv_.wait_for(guard, std::chrono::seconds{2}, [this] {
    for (auto& [id, r] : runs_)
      if (r->started)
        return false;
    return true;
  });
  // Runs still queued never start; runs still running are abandoned. A run
  // that returned meanwhile reports its own end from its worker.
  std::vector<std::pair<std::shared_ptr<run>, bool>> left;
  for (auto& [id, r] : runs_) {
    std::lock_guard<std::mutex> rguard{r->mtx};
    if (r->returned)
      continue;
    r->abandoned = true;
    if (r->started)
      threads_[r->worker].detach();
    left.emplace_back(r, r->started);
  }
  runs_.clear();
  queue_.clear();
  std::vector<std::thread> joinable;
  for (auto& t : threads_)
    if (t.joinable())
      joinable.push_back(std::move(t));
  guard.unlock();
  cv_.notify_all();
  for (auto& t : joinable)
    t.join();
  for (auto& [r, started] : left)
    r->done(work_result::failure(started ? "abandoned at shutdown"
                                         : "not run: the runtime shut down"),
            false);
}

void function_executor::start_worker(size_t index) {
  threads_[index] = std::thread{[this, index] {
    worker_loop(index);
  }};
}

uint64_t function_executor::submit(work_function fn,
                                   std::shared_ptr<work_context::state> st,
                                   done_callback done) {
  auto r = std::make_shared<run>();
  r->fn = std::move(fn);
  r->ctx = std::move(st);
  r->done = std::move(done);
  uint64_t id = 0;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    id = next_id_++;
    r->id = id;
    runs_.emplace(id, r);
    queue_.push_back(r);
  }
  cv_.notify_one();
  return id;
}

void function_executor::request_stop(uint64_t id) {
  std::shared_ptr<run> r;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = runs_.find(id);
    if (i == runs_.end())
      return;
    r = i->second;
  }
  request_stop_of(*r->ctx);
}

bool function_executor::abandon(uint64_t id) {
  std::shared_ptr<run> r;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = runs_.find(id);
    if (i == runs_.end())
      return false;
    r = i->second;
    std::lock_guard<std::mutex> rguard{r->mtx};
    if (r->returned)
      return false;
    request_stop_of(*r->ctx);
    r->abandoned = true;
    runs_.erase(i);
    if (r->started) {
      // The stuck thread keeps running the function; a fresh one takes its
      // slot so the slot count stays true.
      threads_[r->worker].detach();
      start_worker(r->worker);
    } else {
      for (auto q = queue_.begin(); q != queue_.end(); ++q) {
        if (*q == r) {
          queue_.erase(q);
          break;
        }
      }
    }
  }
  idle_cv_.notify_all();
  r->done(work_result::failure("abandoned: the work function did not return "
                               "after the stop request"),
          false);
  return true;
}

work_result call_work(const work_function& fn,
                      std::shared_ptr<work_context::state> st) noexcept {
  try {
    return fn(work_context{std::move(st)});
  } catch (const std::exception& e) {
    return work_result::failure(std::string{"exception: "} + e.what());
  } catch (...) {
    return work_result::failure("exception of unknown type");
  }
}

size_t function_executor::active() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return runs_.size();
}

void function_executor::worker_loop(size_t index) {
  // Named for ps and top, and so that a test can tell these threads from
  // CAF's (whose name a new thread would inherit from its creator).
  pthread_setname_np(pthread_self(), "quiesce.work");
  for (;;) {
    std::shared_ptr<run> r;
    {
      std::unique_lock<std::mutex> guard{mtx_};
      cv_.wait(guard, [this] { return shutting_down_ || !queue_.empty(); });
      if (shutting_down_)
        return;
      r = queue_.front();
      queue_.pop_front();
      std::lock_guard<std::mutex> rguard{r->mtx};
      r->started = true;
      r->worker = index;
    }
    auto res = call_work(r->fn, r->ctx);
    {
      std::lock_guard<std::mutex> rguard{r->mtx};
      if (r->abandoned)
        return; // Detached: this thread no longer belongs to the executor.
      r->returned = true;
    }
    {
      std::lock_guard<std::mutex> guard{mtx_};
      runs_.erase(r->id);
    }
    idle_cv_.notify_all();
    r->done(std::move(res), true);
  }
}

} // namespace quiesce
