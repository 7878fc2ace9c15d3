// Held attempts on a real node (docs/semantics.md, "Held attempts"): the
// runtime's own node takes attempts beyond its slots, starts each one when a
// slot frees, withdraws one whose task was cancelled before it started, and
// runs a held attempt's time limit from its start.

#include "runtime/runtime.hpp"
#include "support/runtime_options.hpp"
#include "support/specs.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace quiesce;
using namespace std::chrono_literals;

namespace {

/// Work that records which task started and waits until the test opens the
/// gate (failing after 30 s, so a test that never opens it cannot hang).
struct gate {
  std::mutex mtx;
  std::condition_variable cv;
  bool open = false;
  std::vector<task_id> started;

  work_result pass(const work_context& ctx) {
    std::unique_lock<std::mutex> guard{mtx};
    started.push_back(ctx.task());
    cv.notify_all();
    if (!cv.wait_for(guard, 30s, [this] { return open; }))
      return work_result::failure("the test never opened the gate");
    return work_result::success();
  }

  void release() {
    std::lock_guard<std::mutex> guard{mtx};
    open = true;
    cv.notify_all();
  }

  /// Waits until `n` tasks started; false after 30 s.
  bool wait_started(size_t n) {
    std::unique_lock<std::mutex> guard{mtx};
    return cv.wait_for(guard, 30s, [&] { return started.size() >= n; });
  }

  std::vector<task_id> seen() {
    std::lock_guard<std::mutex> guard{mtx};
    return started;
  }
};

/// One slot that holds one attempt beyond it.
runtime_options one_slot_pipelined() {
  auto opts = test::small_options();
  opts.slots = 1;
  opts.pipeline = 1;
  return opts;
}

/// Returns the task status changes of `evs` for task `task`, "from>to".
std::vector<std::string> changes_of(const std::vector<event>& evs,
                                    task_id task) {
  std::vector<std::string> out;
  for (const auto& ev : evs)
    if (ev.kind == event_kind::task && ev.subject == task)
      out.push_back(std::string{to_name(ev.previous)} + ">"
                    + std::string{to_name(ev.current)});
  return out;
}

} // namespace

TEST_CASE("R14 a node holds attempts beyond its slots and starts each when "
          "a slot frees, in order",
          "[runtime][pipeline][R14]") {
  gate g;
  std::mutex mtx;
  std::vector<event> seen;
  {
    runtime rt{one_slot_pipelined()};
    rt.register_work("gate",
                     [&g](const work_context& ctx) { return g.pass(ctx); });
    rt.subscribe([&](const event& ev) {
      std::lock_guard<std::mutex> guard{mtx};
      seen.push_back(ev);
    });
    auto added = rt.add_job(test::uniform_job({3}, test::fn_task("gate")));
    REQUIRE(rt.submit(added.job).code == result_code::ok);
    REQUIRE(g.wait_started(1));
    // Task 2 is held by the node: placed (its attempt has a number), still
    // queued, its work not started. Task 3 waits at the head.
    auto held = rt.task_status(added.job, 2).task;
    CHECK(held.status == task_status::queued);
    CHECK(held.attempts == 1);
    CHECK(held.node == "local");
    CHECK(rt.task_status(added.job, 3).task.attempts == 0);
    CHECK(g.seen() == std::vector<task_id>{1});
    g.release();
    auto done = rt.wait(added.job, 30s);
    REQUIRE(done.code == result_code::ok);
    CHECK(done.job.status == job_status::finished);
    for (auto& t : rt.list_tasks(added.job).tasks) {
      CAPTURE(t.id);
      CHECK(t.status == task_status::finished);
      CHECK(t.attempts == 1);
    }
  }
  CHECK(g.seen() == std::vector<task_id>{1, 2, 3});
  for (task_id t = 1; t <= 3; ++t) {
    CAPTURE(t);
    CHECK(changes_of(seen, t)
          == std::vector<std::string>{"not_submitted>queued", "queued>running",
                                      "running>finished"});
  }
}

TEST_CASE("R15 a held attempt whose task is cancelled is withdrawn from its "
          "node: its work never runs",
          "[runtime][pipeline][R15]") {
  gate g;
  runtime rt{one_slot_pipelined()};
  rt.register_work("gate",
                   [&g](const work_context& ctx) { return g.pass(ctx); });
  auto added = rt.add_job(test::uniform_job({2}, test::fn_task("gate")));
  REQUIRE(rt.submit(added.job).code == result_code::ok);
  REQUIRE(g.wait_started(1));
  REQUIRE(rt.task_status(added.job, 2).task.attempts == 1);
  auto r = rt.cancel_task(added.job, 2, "not needed");
  CHECK(r.code == result_code::ok);
  CHECK(rt.task_status(added.job, 2).task.status == task_status::cancelled);
  g.release();
  auto done = rt.wait(added.job, 30s);
  REQUIRE(done.code == result_code::ok);
  CHECK(done.job.status == job_status::failed);
  CHECK(rt.task_status(added.job, 1).task.status == task_status::finished);
  auto t = rt.task_status(added.job, 2).task;
  CHECK(t.status == task_status::cancelled);
  CHECK(t.error_message == "not needed");
  CHECK(g.seen() == std::vector<task_id>{1});
}

TEST_CASE("a held attempt's time limit runs from its start, not from its "
          "placement",
          "[runtime][pipeline][R14]") {
  gate g;
  runtime rt{one_slot_pipelined()};
  rt.register_work("gate",
                   [&g](const work_context& ctx) { return g.pass(ctx); });
  rt.register_work("quick",
                   [](const work_context&) { return work_result::success(); });
  job_spec spec;
  spec.assessments.resize(1);
  auto limited = test::fn_task("quick");
  limited.time_limit = 1s;
  spec.assessments[0].tasks = {test::fn_task("gate"), limited};
  auto added = rt.add_job(spec);
  REQUIRE(rt.submit(added.job).code == result_code::ok);
  REQUIRE(g.wait_started(1));
  REQUIRE(rt.task_status(added.job, 2).task.attempts == 1);
  // Held for longer than its limit: a limit counted from the placement
  // would have expired before the task could start.
  std::this_thread::sleep_for(1500ms);
  CHECK(rt.task_status(added.job, 2).task.status == task_status::queued);
  g.release();
  auto done = rt.wait(added.job, 30s);
  REQUIRE(done.code == result_code::ok);
  CHECK(done.job.status == job_status::finished);
  auto t = rt.task_status(added.job, 2).task;
  CHECK(t.status == task_status::finished);
  CHECK(t.end_code == result_code::ok);
}
