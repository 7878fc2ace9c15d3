// Tests of the function executor and the work registry (execution/, no
// CAF): threads of their own, stop requests, abandoning a function that
// ignores them, and the slot bound. Every wait is bounded.

#include "execution/function_executor.hpp"
#include "execution/work_registry.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <thread>

using namespace quiesce;
using namespace std::chrono_literals;

namespace {

/// The end of one run, as the executor reported it.
struct ending {
  work_result result;
  bool returned = false;
  int calls = 0;
};

/// Collects the ends of runs, and waits for them (bounded).
class endings {
public:
  function_executor::done_callback callback(uint64_t slot) {
    return [this, slot](work_result r, bool returned) {
      std::lock_guard<std::mutex> guard{mtx_};
      auto& e = ends_[slot];
      e.result = std::move(r);
      e.returned = returned;
      ++e.calls;
      cv_.notify_all();
    };
  }

  /// Waits until run `slot` ended; returns its end (calls 0 on a timeout).
  ending wait(uint64_t slot, std::chrono::milliseconds bound = 10s) {
    std::unique_lock<std::mutex> guard{mtx_};
    cv_.wait_for(guard, bound, [&] { return ends_[slot].calls > 0; });
    return ends_[slot];
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  std::map<uint64_t, ending> ends_;
};

/// A gate that work functions wait at until the test opens it.
class gate {
public:
  void open() {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      open_ = true;
    }
    cv_.notify_all();
  }

  /// Waits until opened or `bound` passed; returns whether it was opened.
  bool pass(std::chrono::milliseconds bound = 10s) {
    std::unique_lock<std::mutex> guard{mtx_};
    return cv_.wait_for(guard, bound, [&] { return open_; });
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  bool open_ = false;
};

std::shared_ptr<work_context::state> make_state(std::vector<std::string> args
                                                = {}) {
  auto st = std::make_shared<work_context::state>();
  st->job = 1;
  st->task = 2;
  st->attempt = 1;
  st->args = std::move(args);
  return st;
}

/// Polls `pred` every millisecond for at most `bound`.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds bound = 10s) {
  auto until = std::chrono::steady_clock::now() + bound;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until)
      return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

} // namespace

TEST_CASE("function executor runs a function on a thread of its own and "
          "reports its end once",
          "[execution][function_executor]") {
  endings ends;
  std::thread::id ran_on;
  std::vector<std::string> seen_args;
  {
    function_executor exec{1};
    exec.submit(
        [&](const work_context& ctx) {
          ran_on = std::this_thread::get_id();
          seen_args = ctx.args();
          return work_result::failure("it failed on purpose");
        },
        make_state({"a", "b"}), ends.callback(1));
    auto e = ends.wait(1);
    REQUIRE(e.calls == 1);
    CHECK(e.returned);
    CHECK(e.result.how == work_result::kind::failure);
    CHECK(e.result.message == "it failed on purpose");
  }
  CHECK(ran_on != std::this_thread::get_id());
  CHECK(seen_args == std::vector<std::string>{"a", "b"});
}

TEST_CASE("function executor passes a stop request to the running function",
          "[execution][function_executor]") {
  endings ends;
  function_executor exec{1};
  std::atomic<bool> started{false};
  auto id = exec.submit(
      [&](const work_context& ctx) {
        started = true;
        if (ctx.wait_for_stop(10s))
          return work_result::stopped("saw the stop");
        return work_result::success();
      },
      make_state(), ends.callback(1));
  REQUIRE(eventually([&] { return started.load(); }));
  exec.request_stop(id);
  auto e = ends.wait(1);
  REQUIRE(e.calls == 1);
  CHECK(e.returned);
  CHECK(e.result.how == work_result::kind::stopped);
  CHECK(e.result.message == "saw the stop");
}

TEST_CASE("function executor abandons a function that ignores its stop and "
          "keeps the slot count",
          "[execution][function_executor]") {
  endings ends;
  gate release;
  std::atomic<bool> started{false};
  function_executor exec{1};
  auto stuck = exec.submit(
      [&](const work_context&) {
        started = true;
        release.pass(); // ignores stop requests
        return work_result::success();
      },
      make_state(), ends.callback(1));
  REQUIRE(eventually([&] { return started.load(); }));
  exec.request_stop(stuck);
  CHECK(exec.abandon(stuck));
  auto e = ends.wait(1);
  REQUIRE(e.calls == 1);
  CHECK_FALSE(e.returned);
  // Its thread was replaced: the one slot runs another function at once.
  exec.submit([](const work_context&) { return work_result::success(); },
              make_state(), ends.callback(2));
  auto next = ends.wait(2);
  REQUIRE(next.calls == 1);
  CHECK(next.returned);
  CHECK(next.result.how == work_result::kind::success);
  // Abandoning again, or a run that ended, does nothing.
  CHECK_FALSE(exec.abandon(stuck));
  release.open();
  // The abandoned function's late return is not reported a second time.
  CHECK(eventually([&] { return exec.active() == 0; }));
  CHECK(ends.wait(1).calls == 1);
}

TEST_CASE("function executor runs at most one function per slot at once",
          "[execution][function_executor]") {
  endings ends;
  gate release;
  std::atomic<int> running{0};
  std::atomic<int> most{0};
  function_executor exec{2};
  for (uint64_t i = 1; i <= 4; ++i)
    exec.submit(
        [&](const work_context&) {
          auto now = ++running;
          auto seen = most.load();
          while (now > seen && !most.compare_exchange_weak(seen, now)) {
            // retry with the value another thread stored
          }
          release.pass();
          --running;
          return work_result::success();
        },
        make_state(), ends.callback(i));
  REQUIRE(eventually([&] { return running.load() == 2; }));
  CHECK(exec.active() == 4);
  release.open();
  for (uint64_t i = 1; i <= 4; ++i)
    CHECK(ends.wait(i).calls == 1);
  CHECK(most.load() == 2);
}

TEST_CASE("function executor forwards progress reports",
          "[execution][function_executor]") {
  endings ends;
  std::promise<std::pair<int, std::string>> got;
  auto st = make_state();
  st->on_progress = [&](int percent, std::string text) {
    got.set_value({percent, std::move(text)});
  };
  function_executor exec{1};
  exec.submit(
      [](const work_context& ctx) {
        ctx.report_progress(40, "reading");
        return work_result::success();
      },
      st, ends.callback(1));
  auto fut = got.get_future();
  REQUIRE(fut.wait_for(10s) == std::future_status::ready);
  auto [percent, text] = fut.get();
  CHECK(percent == 40);
  CHECK(text == "reading");
  CHECK(ends.wait(1).calls == 1);
}

TEST_CASE("work registry finds, replaces and lists functions, refusing empty "
          "names and functions",
          "[execution][work_registry]") {
  work_registry reg;
  auto ok = [](const work_context&) {
    return work_result::success();
  };
  auto bad = [](const work_context&) {
    return work_result::failure("x");
  };
  CHECK(reg.add("b", ok));
  CHECK(reg.add("a", ok));
  CHECK_FALSE(reg.add("", ok));
  CHECK_FALSE(reg.add("c", work_function{}));
  CHECK(reg.names() == std::vector<std::string>{"a", "b"});
  CHECK_FALSE(static_cast<bool>(reg.find("c").fn));
  CHECK(reg.find("b").mode == work_mode::blocking);
  CHECK(reg.add("a", bad, work_mode::non_blocking));
  auto e = reg.find("a");
  REQUIRE(static_cast<bool>(e.fn));
  CHECK(e.mode == work_mode::non_blocking);
  work_context ctx{make_state()};
  CHECK(e.fn(ctx).how == work_result::kind::failure);
  // Registering again replaces the mode with the function.
  CHECK(reg.add("a", ok));
  CHECK(reg.find("a").mode == work_mode::blocking);
}
