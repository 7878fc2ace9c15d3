// The asynchronous forms of the embedding API (futures and callbacks), job
// files loaded through the runtime, and a runtime attached to a host's actor
// system. Every wait is bounded; nothing is CHECKed on a CAF or event thread.

#include "messages/type_ids.hpp"
#include "runtime/runtime.hpp"
#include "runtime/system_config.hpp"
#include "support/runtime_options.hpp"
#include "support/specs.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

using namespace quiesce;
using namespace std::chrono_literals;

namespace {

/// A gate a work function blocks on until the test opens it (or a stop).
struct gate {
  std::mutex mtx;
  std::condition_variable cv;
  bool open = false;

  void release() {
    {
      std::lock_guard<std::mutex> guard{mtx};
      open = true;
    }
    cv.notify_all();
  }

  /// Returns a work function that waits for the gate or a stop request.
  work_function work() {
    return [this](const work_context& ctx) {
      for (int i = 0; i < 400; ++i) { // at most 20 s
        {
          std::unique_lock<std::mutex> guard{mtx};
          if (cv.wait_for(guard, 25ms, [this] { return open; }))
            return work_result::success();
        }
        if (ctx.stop_requested())
          return work_result::stopped();
      }
      return work_result::failure("the gate never opened");
    };
  }
};

/// Adds and submits a one-task job running `work`; returns its id.
job_id start_job(runtime& rt, const std::string& work) {
  auto added = rt.add_job(test::uniform_job({1}, test::fn_task(work)));
  REQUIRE(added.code == result_code::ok);
  REQUIRE(rt.submit(added.job).code == result_code::ok);
  return added.job;
}

/// Waits (bounded) until job `id` has a running task.
void await_running(runtime& rt, job_id id) {
  for (int i = 0; i < 400; ++i) {
    auto running = rt.list_tasks(id, task_status::running);
    if (!running.tasks.empty())
      return;
    std::this_thread::sleep_for(25ms);
  }
  FAIL("job " << id << " never had a running task");
}

/// Writes `text` to a fresh file in the temp directory; returns its path.
std::string write_temp(const std::string& name, const std::string& text) {
  auto dir = std::filesystem::temp_directory_path() / "quiesce-async-test";
  std::filesystem::create_directories(dir);
  auto path = (dir / name).string();
  std::ofstream out{path, std::ios::trunc};
  out << text;
  return path;
}

} // namespace

TEST_CASE("runtime submit_async future delivers submit's reply",
          "[runtime][async]") {
  runtime rt{test::small_options()};
  rt.register_work("noop",
                   [](const work_context&) { return work_result::success(); });
  auto added = rt.add_job(test::uniform_job({1}, test::fn_task("noop")));
  REQUIRE(added.code == result_code::ok);
  auto first = rt.submit_async(added.job);
  REQUIRE(first.wait_for(20s) == std::future_status::ready);
  CHECK(first.get().code == result_code::ok);
  // A second submit of the same job is refused, through the future too.
  auto second = rt.submit_async(added.job);
  REQUIRE(second.wait_for(20s) == std::future_status::ready);
  CHECK(second.get().code == result_code::invalid_state);
  auto unknown = rt.submit_async(9999);
  REQUIRE(unknown.wait_for(20s) == std::future_status::ready);
  CHECK(unknown.get().code == result_code::job_not_found);
}

TEST_CASE("runtime wait_async does not block the caller before the work ends",
          "[runtime][async]") {
  runtime rt{test::small_options()};
  gate g;
  rt.register_work("gated", g.work());
  auto id = start_job(rt, "gated");
  await_running(rt, id);
  auto before = std::chrono::steady_clock::now();
  auto done = rt.wait_async(id, 20s);
  auto took = std::chrono::steady_clock::now() - before;
  CHECK(took < 1s);
  // The work is held at the gate: the future cannot be ready yet.
  CHECK(done.wait_for(300ms) == std::future_status::timeout);
  g.release();
  REQUIRE(done.wait_for(20s) == std::future_status::ready);
  auto reply = done.get();
  CHECK(reply.code == result_code::ok);
  CHECK(reply.job.status == job_status::finished);
}

TEST_CASE("runtime wait_async reports request_timeout after its timeout",
          "[runtime][async]") {
  runtime rt{test::small_options()};
  gate g;
  rt.register_work("gated", g.work());
  auto id = start_job(rt, "gated");
  auto done = rt.wait_async(id, 200ms);
  REQUIRE(done.wait_for(20s) == std::future_status::ready);
  CHECK(done.get().code == result_code::request_timeout);
  g.release();
  CHECK(rt.wait(id, 20s).job.status == job_status::finished);
}

TEST_CASE("runtime terminate_job_async ends a running job",
          "[runtime][async]") {
  runtime rt{test::small_options()};
  gate g; // never opened: only the stop request ends the work
  rt.register_work("gated", g.work());
  auto id = start_job(rt, "gated");
  await_running(rt, id);
  auto terminated = rt.terminate_job_async(id);
  REQUIRE(terminated.wait_for(30s) == std::future_status::ready);
  CHECK(terminated.get().code == result_code::ok);
  auto status = rt.job_status(id);
  CHECK(status.job.status == job_status::cancelled);
  CHECK(status.job.end_code == result_code::job_cancelled);
  // Terminating a terminal job is refused.
  auto again = rt.terminate_job_async(id);
  REQUIRE(again.wait_for(20s) == std::future_status::ready);
  CHECK(again.get().code == result_code::no_job_running);
}

TEST_CASE("runtime reply callbacks run on the event thread",
          "[runtime][async]") {
  runtime rt{test::small_options()};
  gate g;
  rt.register_work("gated", g.work());
  std::promise<std::thread::id> event_thread;
  std::atomic<bool> seen{false};
  rt.subscribe([&](const event&) {
    if (!seen.exchange(true))
      event_thread.set_value(std::this_thread::get_id());
  });
  auto added = rt.add_job(test::uniform_job({1}, test::fn_task("gated")));
  REQUIRE(added.code == result_code::ok);
  using submitted_t = std::pair<op_reply, std::thread::id>;
  std::promise<submitted_t> submitted;
  rt.submit_async(added.job, [&](op_reply reply) {
    submitted.set_value({std::move(reply), std::this_thread::get_id()});
  });
  std::promise<job_status_reply> waited;
  rt.wait_async(added.job, 20s, [&](job_status_reply reply) {
    waited.set_value(std::move(reply));
  });
  auto sub = submitted.get_future();
  REQUIRE(sub.wait_for(20s) == std::future_status::ready);
  auto [reply, thread] = sub.get();
  CHECK(reply.code == result_code::ok);
  CHECK(thread != std::this_thread::get_id());
  auto ev = event_thread.get_future();
  REQUIRE(ev.wait_for(20s) == std::future_status::ready);
  CHECK(thread == ev.get());
  auto end = waited.get_future();
  CHECK(end.wait_for(200ms) == std::future_status::timeout);
  g.release();
  REQUIRE(end.wait_for(20s) == std::future_status::ready);
  CHECK(end.get().job.status == job_status::finished);
  // A terminate callback on a terminal job gets the refusal.
  std::promise<op_reply> refused;
  rt.terminate_job_async(added.job,
                         [&](op_reply x) { refused.set_value(std::move(x)); });
  auto ref = refused.get_future();
  REQUIRE(ref.wait_for(20s) == std::future_status::ready);
  CHECK(ref.get().code == result_code::no_job_running);
}

TEST_CASE("runtime shutdown answers pending and later asynchronous calls",
          "[runtime][async]") {
  runtime rt{test::small_options()};
  gate g; // never opened
  rt.register_work("gated", g.work());
  auto id = start_job(rt, "gated");
  await_running(rt, id);
  auto pending = rt.wait_async(id, 60s);
  auto before = std::chrono::steady_clock::now();
  rt.shutdown();
  CHECK(std::chrono::steady_clock::now() - before < 20s);
  // Shutdown terminated the job, so the wait got its final record.
  REQUIRE(pending.wait_for(0s) == std::future_status::ready);
  auto end = pending.get();
  CHECK(end.code == result_code::ok);
  CHECK(end.job.status == job_status::cancelled);
  auto late = rt.submit_async(id);
  REQUIRE(late.wait_for(0s) == std::future_status::ready);
  CHECK(late.get().code == result_code::unavailable);
  // After shutdown a callback runs at once, on the calling thread.
  std::thread::id ran_on;
  result_code code = result_code::ok;
  rt.wait_async(id, 1s, [&](job_status_reply x) {
    ran_on = std::this_thread::get_id();
    code = x.code;
  });
  CHECK(ran_on == std::this_thread::get_id());
  CHECK(code == result_code::unavailable);
}

TEST_CASE("runtime serves synchronous calls from callbacks and work functions",
          "[runtime][async]") {
  runtime rt{test::small_options()};
  std::promise<result_code> from_work;
  std::promise<result_code> own_wait;
  rt.register_work("ask", [&](const work_context& ctx) {
    from_work.set_value(rt.job_status(ctx.job()).code);
    // Waiting for its own job cannot succeed while the work runs.
    own_wait.set_value(rt.wait(ctx.job(), 200ms).code);
    return work_result::success();
  });
  std::promise<result_code> from_event;
  std::atomic<bool> asked{false};
  rt.subscribe([&](const event& ev) {
    if (!asked.exchange(true))
      from_event.set_value(rt.job_status(ev.job).code);
  });
  auto id = start_job(rt, "ask");
  auto done = rt.wait(id, 20s);
  CHECK(done.job.status == job_status::finished);
  auto w = from_work.get_future();
  REQUIRE(w.wait_for(20s) == std::future_status::ready);
  CHECK(w.get() == result_code::ok);
  auto o = own_wait.get_future();
  REQUIRE(o.wait_for(20s) == std::future_status::ready);
  CHECK(o.get() == result_code::request_timeout);
  auto e = from_event.get_future();
  REQUIRE(e.wait_for(20s) == std::future_status::ready);
  CHECK(e.get() == result_code::ok);
}

TEST_CASE("runtime load_jobs adds the jobs of a valid file",
          "[runtime][async]") {
  runtime rt{test::small_options()};
  rt.register_work("noop",
                   [](const work_context&) { return work_result::success(); });
  auto path = write_temp("good.toml", R"([[job]]
name = "one"
  [[job.assessment]]
  name = "a"
    [[job.assessment.task]]
    work = "noop"

[[job]]
name = "two"
  [[job.assessment]]
  name = "a"
    [[job.assessment.task]]
    command = ["true"]
)");
  auto loaded = rt.load_jobs(path);
  REQUIRE(loaded.code == result_code::ok);
  CHECK(loaded.errors.empty());
  REQUIRE(loaded.jobs.size() == 2);
  CHECK(rt.job_status(loaded.jobs[0]).job.name == "one");
  CHECK(rt.job_status(loaded.jobs[1]).job.name == "two");
  for (auto id : loaded.jobs) {
    REQUIRE(rt.submit(id).code == result_code::ok);
    CHECK(rt.wait(id, 20s).job.status == job_status::finished);
  }
}

TEST_CASE("runtime load_jobs adds nothing from a file with errors",
          "[runtime][async]") {
  runtime rt{test::small_options()};
  auto path = write_temp("bad.toml", R"([[job]]
name = "one"
  [[job.assessment]]
  name = "a"
    [[job.assessment.task]]
    wrok = "noop"
)");
  auto loaded = rt.load_jobs(path);
  CHECK(loaded.code == result_code::invalid_argument);
  CHECK(loaded.jobs.empty());
  REQUIRE_FALSE(loaded.errors.empty());
  CHECK(loaded.errors.front().line > 0);
  CHECK(rt.list_jobs().jobs.empty());
  auto missing = rt.load_jobs(path + ".missing");
  CHECK(missing.code == result_code::invalid_argument);
  CHECK(missing.errors.size() == 1);
}

TEST_CASE("runtime add_jobs stops at the first refusal", "[runtime][async]") {
  runtime rt{test::small_options()};
  auto good = test::uniform_job({1}, test::cmd_task({"true"}), "good");
  job_spec bad; // an assessment without tasks is refused
  bad.name = "bad";
  bad.assessments.push_back({"empty", {}});
  auto added = rt.add_jobs({good, bad, good});
  CHECK(added.code == result_code::invalid_argument);
  CHECK_FALSE(added.detail.empty());
  CHECK(added.jobs.size() == 1);
  CHECK(rt.list_jobs().jobs.size() == 1);
}

TEST_CASE("runtime add_jobs sends batches, keeps their order across them, and "
          "stops at a refusal in a later batch",
          "[runtime][async]") {
  runtime rt{test::small_options()};
  rt.register_work(
      "noop", [](const work_context&) { return work_result::success(); },
      work_mode::non_blocking);
  auto good = test::uniform_job({1}, test::fn_task("noop"));
  job_spec bad;
  bad.assessments.push_back({"empty", {}});
  // Two and a half batches, submitted as they are added.
  std::vector<job_spec> specs(2 * add_job_batch_max + add_job_batch_max / 2,
                              good);
  auto added = rt.add_jobs(specs, true);
  REQUIRE(added.code == result_code::ok);
  REQUIRE(added.jobs.size() == specs.size());
  CHECK(added.submitted == specs.size());
  CHECK(std::is_sorted(added.jobs.begin(), added.jobs.end()));
  CHECK(std::adjacent_find(added.jobs.begin(), added.jobs.end())
        == added.jobs.end());
  for (auto id : {added.jobs.front(), added.jobs.back()})
    CHECK(rt.wait(id, 20s).job.status == job_status::finished);
  // A refusal inside the second batch: the jobs before it are added and
  // submitted, none after it.
  specs.assign(add_job_batch_max + 10, good);
  specs[add_job_batch_max + 5] = bad;
  auto before = rt.list_jobs().jobs.size();
  auto partial = rt.add_jobs(specs, true);
  CHECK(partial.code == result_code::invalid_argument);
  CHECK_FALSE(partial.detail.empty());
  CHECK(partial.jobs.size() == add_job_batch_max + 5);
  CHECK(partial.submitted == add_job_batch_max + 5);
  CHECK(rt.list_jobs().jobs.size() == before + add_job_batch_max + 5);
  CHECK(rt.wait(partial.jobs.back(), 20s).job.status == job_status::finished);
}

TEST_CASE("runtime attaches to a host's actor system", "[runtime][attach]") {
  caf::actor_system_config cfg;
  configure(cfg, 2);
  caf::actor_system sys{cfg};
  // An actor of the host's own that outlives the runtime.
  auto host_actor = sys.spawn([](caf::event_based_actor*) -> caf::behavior {
    return {[](int x) {
      return x + 1;
    }};
  });
  {
    runtime rt{sys, test::small_options()};
    rt.register_work(
        "noop", [](const work_context&) { return work_result::success(); });
    auto id = start_job(rt, "noop");
    auto done = rt.wait_async(id, 20s);
    REQUIRE(done.wait_for(20s) == std::future_status::ready);
    CHECK(done.get().job.status == job_status::finished);
    auto before = std::chrono::steady_clock::now();
    rt.shutdown(); // must not wait for the host's actor
    CHECK(std::chrono::steady_clock::now() - before < 15s);
  }
  caf::anon_send_exit(host_actor, caf::exit_reason::user_shutdown);
}

TEST_CASE("runtime refuses a host's actor system without Quiesce's type IDs",
          "[runtime][attach]") {
  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", size_t{2});
  caf::actor_system sys{cfg};
  CHECK_THROWS_AS(runtime(sys, test::small_options()), std::invalid_argument);
}
