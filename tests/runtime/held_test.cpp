// Held attempts on a real node (docs/semantics.md, "Held attempts"): the
// runtime's own node takes attempts beyond its slots, starts each one when a
// slot frees, withdraws one whose task was cancelled before it started, and
// runs a held attempt's time limit from its start.

#include "runtime/runtime.hpp"
#include "support/events.hpp"
#include "support/runtime_options.hpp"
#include "support/specs.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using namespace quiesce;
using namespace std::chrono_literals;

namespace {

/// Which task of which job ran.
using ran = std::pair<job_id, task_id>;

/// Work that records which task started and waits until the test opens the
/// gate (failing after 30 s, so a test that never opens it cannot hang).
struct gate {
  std::mutex mtx;
  std::condition_variable cv;
  bool open = false;
  std::vector<ran> started;

  work_result pass(const work_context& ctx) {
    std::unique_lock<std::mutex> guard{mtx};
    started.emplace_back(ctx.job(), ctx.task());
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

  std::vector<ran> seen() {
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

/// A runtime of one slot holding one attempt, whose work "gate" waits in
/// `g` (declared first: it outlives the runtime's slot threads).
struct gated_runtime {
  gate g;
  runtime rt{one_slot_pipelined()};
  /// A job of one "gate" task that takes the slot (`start`).
  job_id blocker = invalid_id;

  gated_runtime() {
    rt.register_work("gate",
                     [this](const work_context& ctx) { return g.pass(ctx); });
  }

  /// Takes the slot with `blocker` and waits until its task is in the gate;
  /// then submits `spec`, whose first task is then held by the node. (With
  /// both in one job, the two starts come from two task actors and may
  /// reach the node in either order: R14.)
  job_id start(const job_spec& spec) {
    blocker = submit(test::uniform_job({1}, test::fn_task("gate")));
    REQUIRE(g.wait_started(1));
    return submit(spec);
  }

  job_id submit(const job_spec& spec) {
    auto added = rt.add_job(spec);
    REQUIRE(added.code == result_code::ok);
    REQUIRE(rt.submit(added.job).code == result_code::ok);
    return added.job;
  }
};

/// Waits until task `task` of `job` has an attempt (placed); false after
/// 30 s.
bool placed(runtime& rt, job_id job, task_id task) {
  auto until = std::chrono::steady_clock::now() + 30s;
  while (rt.task_status(job, task).task.attempts == 0) {
    if (std::chrono::steady_clock::now() > until)
      return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

} // namespace

TEST_CASE("R14 a node holds attempts beyond its slots and starts each when "
          "a slot frees, in order",
          "[runtime][pipeline][R14]") {
  std::mutex mtx;
  std::vector<event> seen;
  job_id job = invalid_id;
  {
    gated_runtime f;
    f.rt.subscribe([&](const event& ev) {
      std::lock_guard<std::mutex> guard{mtx};
      seen.push_back(ev);
    });
    job = f.start(test::uniform_job({2}, test::fn_task("gate")));
    REQUIRE(placed(f.rt, job, 1));
    // Task 1 is held by the node: placed (its attempt has a number), still
    // queued, its work not started. Task 2 waits at the head.
    auto held = f.rt.task_status(job, 1).task;
    CHECK(held.status == task_status::queued);
    CHECK(held.attempts == 1);
    CHECK(held.node == "local");
    CHECK(f.rt.task_status(job, 2).task.attempts == 0);
    CHECK(f.g.seen() == std::vector<ran>{{f.blocker, 1}});
    f.g.release();
    auto done = f.rt.wait(job, 30s);
    REQUIRE(done.code == result_code::ok);
    CHECK(done.job.status == job_status::finished);
    for (auto& t : f.rt.list_tasks(job).tasks) {
      CAPTURE(t.id);
      CHECK(t.status == task_status::finished);
      CHECK(t.attempts == 1);
    }
    CHECK(f.g.seen() == std::vector<ran>{{f.blocker, 1}, {job, 1}, {job, 2}});
  }
  // The runtime is gone: every event was delivered.
  std::vector<event> of_job;
  for (const auto& ev : seen)
    if (ev.job == job)
      of_job.push_back(ev);
  for (task_id t = 1; t <= 2; ++t) {
    CAPTURE(t);
    CHECK(test::task_changes(of_job, t)
          == std::vector<std::string>{"not_submitted>queued", "queued>running",
                                      "running>finished"});
  }
}

TEST_CASE("R15 a held attempt whose task is cancelled is withdrawn from its "
          "node: its work never runs",
          "[runtime][pipeline][R15]") {
  gated_runtime f;
  auto job = f.start(test::uniform_job({1}, test::fn_task("gate")));
  REQUIRE(placed(f.rt, job, 1));
  REQUIRE(f.rt.task_status(job, 1).task.status == task_status::queued);
  auto r = f.rt.cancel_task(job, 1, "not needed");
  CHECK(r.code == result_code::ok);
  CHECK(f.rt.task_status(job, 1).task.status == task_status::cancelled);
  // The job ends once its node reports the attempt withdrawn, while the
  // blocker still holds the slot: the withdraw took it out of the queue.
  // (Had the slot freed first, the node would have started it and the
  // withdraw would kill it: R15.)
  auto done = f.rt.wait(job, 30s);
  REQUIRE(done.code == result_code::ok);
  CHECK(done.job.status == job_status::failed);
  CHECK(f.g.seen() == std::vector<ran>{{f.blocker, 1}});
  f.g.release();
  auto t = f.rt.task_status(job, 1).task;
  CHECK(t.status == task_status::cancelled);
  CHECK(t.error_message == "not needed");
  REQUIRE(f.rt.wait(f.blocker, 30s).job.status == job_status::finished);
  CHECK(f.g.seen() == std::vector<ran>{{f.blocker, 1}});
}

TEST_CASE("a held attempt's time limit runs from its start, not from its "
          "placement",
          "[runtime][pipeline][R14]") {
  gated_runtime f;
  f.rt.register_work(
      "quick", [](const work_context&) { return work_result::success(); });
  auto limited = test::fn_task("quick");
  limited.time_limit = 1s;
  auto job = f.start(test::uniform_job({1}, limited));
  REQUIRE(placed(f.rt, job, 1));
  // Held for longer than its limit: a limit counted from the placement
  // would have expired before the task could start.
  std::this_thread::sleep_for(1500ms);
  CHECK(f.rt.task_status(job, 1).task.status == task_status::queued);
  f.g.release();
  auto done = f.rt.wait(job, 30s);
  REQUIRE(done.code == result_code::ok);
  CHECK(done.job.status == job_status::finished);
  auto t = f.rt.task_status(job, 1).task;
  CHECK(t.status == task_status::finished);
  CHECK(t.end_code == result_code::ok);
}
