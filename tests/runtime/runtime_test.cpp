#include "runtime/runtime.hpp"
#include "support/runtime_options.hpp"
#include "support/specs.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <pthread.h>
#include <stdexcept>
#include <thread>
#include <vector>

using namespace quiesce;
using namespace std::chrono_literals;

namespace {

work_result wait_for_stop(const work_context& ctx) {
  if (ctx.wait_for_stop(20s))
    return work_result::stopped("saw the stop request");
  return work_result::success();
}

} // namespace

TEST_CASE("runtime runs a job of function tasks to finished",
          "[runtime][smoke]") {
  runtime rt{test::small_options()};
  std::atomic<int> calls{0};
  rt.register_work("count", [&](const work_context&) {
    ++calls;
    return work_result::success();
  });
  auto added = rt.add_job(test::uniform_job({3, 2}, test::fn_task("count")));
  REQUIRE(added.code == result_code::ok);
  REQUIRE(rt.submit(added.job).code == result_code::ok);
  auto done = rt.wait(added.job, 20s);
  REQUIRE(done.code == result_code::ok);
  CHECK(done.job.status == job_status::finished);
  CHECK(done.job.end_code == result_code::ok);
  CHECK(calls == 5);
  auto tasks = rt.list_tasks(added.job);
  REQUIRE(tasks.tasks.size() == 5);
  for (auto& t : tasks.tasks) {
    CHECK(t.status == task_status::finished);
    CHECK(t.node == "local");
    CHECK(t.attempts == 1);
  }
}

TEST_CASE("J3 runtime cancel_job lets the current assessment finish and "
          "starts no further one",
          "[runtime][J3]") {
  runtime rt{test::small_options()};
  std::atomic<int> started{0};
  rt.register_work("block", [&](const work_context& ctx) {
    ++started;
    return wait_for_stop(ctx);
  });
  rt.register_work("never", [&](const work_context&) {
    FAIL_CHECK("a task of a later assessment ran");
    return work_result::success();
  });
  job_spec spec;
  spec.assessments.resize(2);
  spec.assessments[0].tasks = {test::fn_task("block")};
  spec.assessments[1].tasks = {test::fn_task("never"), test::fn_task("never")};
  auto added = rt.add_job(spec);
  REQUIRE(rt.submit(added.job).code == result_code::ok);
  for (int i = 0; i < 2000 && started == 0; ++i)
    std::this_thread::sleep_for(1ms);
  REQUIRE(started == 1);
  auto reply = rt.cancel_job(added.job, "stop now");
  REQUIRE(reply.code == result_code::ok);
  auto done = rt.wait(added.job, 20s);
  REQUIRE(done.code == result_code::ok);
  CHECK(done.job.status == job_status::cancelled);
  CHECK(done.job.end_code == result_code::job_cancelled);
  CHECK(done.job.error_message == "stop now");
  auto tasks = rt.list_tasks(added.job).tasks;
  REQUIRE(tasks.size() == 3);
  CHECK(tasks[0].status == task_status::cancelled);
  CHECK(tasks[0].error_message == "saw the stop request");
  CHECK(tasks[1].status == task_status::cancelled);
  CHECK(tasks[1].error_message == "stop now");
  CHECK(tasks[2].status == task_status::cancelled);
  CHECK(done.job.assessments[0].outcome == result_code::assessment_cancelled);
  CHECK(done.job.assessments[1].status == assessment_status::not_yet_run);
}

TEST_CASE("runtime runs command tasks and records exit codes",
          "[runtime][process]") {
  runtime rt{test::small_options()};
  job_spec spec;
  spec.assessments.resize(1);
  spec.assessments[0].tasks
      = {test::cmd_task({"true"}), test::cmd_task({"sh", "-c", "exit 3"})};
  auto added = rt.add_job(spec);
  REQUIRE(rt.submit(added.job).code == result_code::ok);
  auto done = rt.wait(added.job, 20s);
  REQUIRE(done.code == result_code::ok);
  CHECK(done.job.status == job_status::failed);
  CHECK(done.job.end_code == result_code::job_failed);
  auto tasks = rt.list_tasks(added.job).tasks;
  REQUIRE(tasks.size() == 2);
  CHECK(tasks[0].status == task_status::finished);
  CHECK(tasks[0].exit_code == 0);
  CHECK(tasks[1].status == task_status::failed);
  CHECK(tasks[1].exit_code == 3);
  CHECK(tasks[1].end_code == result_code::task_failed);
  CHECK(tasks[1].error_message == "exit code 3");
}

TEST_CASE("runtime terminate_job returns after the work is dead",
          "[runtime][J6]") {
  runtime rt{test::small_options()};
  std::atomic<int> started{0};
  rt.register_work("block", [&](const work_context& ctx) {
    ++started;
    return wait_for_stop(ctx);
  });
  job_spec spec;
  spec.assessments.resize(1);
  spec.assessments[0].tasks
      = {test::fn_task("block"), test::cmd_task({"sleep", "100"})};
  auto added = rt.add_job(spec);
  REQUIRE(rt.submit(added.job).code == result_code::ok);
  for (int i = 0; i < 2000 && started == 0; ++i)
    std::this_thread::sleep_for(1ms);
  auto reply = rt.terminate_job(added.job);
  CHECK(reply.code == result_code::ok);
  auto status = rt.job_status(added.job);
  CHECK(status.job.status == job_status::cancelled);
  CHECK(status.job.assessments[0].outcome
        == result_code::assessment_terminated);
  for (auto& t : rt.list_tasks(added.job).tasks)
    CHECK(t.status == task_status::cancelled);
}

TEST_CASE("runtime runs a non-blocking work function inline on an actor "
          "thread and a blocking one on a thread of the node's own",
          "[runtime][work]") {
  runtime rt{test::small_options()};
  std::mutex mtx;
  std::vector<std::string> inline_threads;
  std::vector<std::string> own_threads;
  auto record = [&](std::vector<std::string>& into) {
    return [&mtx, &into](const work_context& ctx) {
      char name[16] = {};
      pthread_getname_np(pthread_self(), name, sizeof(name));
      std::lock_guard<std::mutex> guard{mtx};
      into.emplace_back(name);
      // Nothing can ask an inline function to stop while it runs.
      return ctx.stop_requested() ? work_result::failure("stop requested")
                                  : work_result::success();
    };
  };
  REQUIRE(rt.register_work("inline", record(inline_threads),
                           work_mode::non_blocking));
  REQUIRE(rt.register_work("own", record(own_threads)));
  job_spec spec;
  spec.assessments.resize(2);
  spec.assessments[0].tasks = {test::fn_task("inline"), test::fn_task("own"),
                               test::fn_task("inline")};
  spec.assessments[1].tasks = {test::fn_task("own"), test::fn_task("inline")};
  auto added = rt.add_job(spec);
  REQUIRE(rt.submit(added.job).code == result_code::ok);
  auto done = rt.wait(added.job, 20s);
  REQUIRE(done.code == result_code::ok);
  CHECK(done.job.status == job_status::finished);
  for (auto& t : rt.list_tasks(added.job).tasks) {
    CHECK(t.status == task_status::finished);
    CHECK(t.attempts == 1);
  }
  REQUIRE(inline_threads.size() == 3);
  REQUIRE(own_threads.size() == 2);
  for (auto& name : own_threads)
    CHECK(name == "quiesce.work");
  for (auto& name : inline_threads)
    CHECK(name != "quiesce.work");
}

TEST_CASE("runtime turns a throwing work function into a failed task",
          "[runtime][work]") {
  runtime rt{test::small_options()};
  auto mode = GENERATE(work_mode::blocking, work_mode::non_blocking);
  CAPTURE(static_cast<int>(mode));
  rt.register_work(
      "boom",
      [](const work_context&) -> work_result {
        throw std::runtime_error("boom");
      },
      mode);
  job_spec spec;
  spec.assessments.resize(1);
  spec.assessments[0].tasks = {test::fn_task("boom")};
  auto added = rt.add_job(spec);
  REQUIRE(rt.submit(added.job).code == result_code::ok);
  auto done = rt.wait(added.job, 20s);
  REQUIRE(done.code == result_code::ok);
  CHECK(done.job.status == job_status::failed);
  auto task = rt.task_status(added.job, 1).task;
  CHECK(task.status == task_status::failed);
  CHECK(task.end_code == result_code::task_failed);
  CHECK(task.error_message == "exception: boom");
}

TEST_CASE("runtime fails a task whose work name is not registered",
          "[runtime][work]") {
  runtime rt{test::small_options()};
  job_spec spec;
  spec.assessments.resize(1);
  spec.assessments[0].tasks = {test::fn_task("nobody-registered-this")};
  auto added = rt.add_job(spec);
  REQUIRE(rt.submit(added.job).code == result_code::ok);
  auto done = rt.wait(added.job, 20s);
  REQUIRE(done.code == result_code::ok);
  auto task = rt.task_status(added.job, 1).task;
  CHECK(task.status == task_status::failed);
  CHECK(task.end_code == result_code::work_not_found);
  CHECK_THAT(task.error_message, Catch::Contains("nobody-registered-this"));
}

TEST_CASE("runtime publishes progress and every status change as events",
          "[runtime][E5]") {
  std::vector<event> seen;
  std::mutex mtx;
  auto mode = GENERATE(work_mode::blocking, work_mode::non_blocking);
  CAPTURE(static_cast<int>(mode));
  {
    runtime rt{test::small_options()};
    rt.register_work(
        "progress",
        [](const work_context& ctx) {
          ctx.report_progress(50, "half way");
          ctx.report_progress(150, "clamped");
          return work_result::success();
        },
        mode);
    rt.subscribe([&](const event& ev) {
      std::lock_guard<std::mutex> guard{mtx};
      seen.push_back(ev);
    });
    job_spec spec;
    spec.assessments.resize(1);
    spec.assessments[0].tasks = {test::fn_task("progress")};
    auto added = rt.add_job(spec);
    REQUIRE(rt.submit(added.job).code == result_code::ok);
    REQUIRE(rt.wait(added.job, 20s).job.status == job_status::finished);
  }
  std::vector<std::string> kinds;
  std::vector<int> percents;
  for (auto& ev : seen) {
    kinds.push_back(to_string(ev.kind) + ":" + to_string(ev.previous) + ">"
                    + to_string(ev.current));
    if (ev.kind == event_kind::progress)
      percents.push_back(ev.percent);
  }
  // submit: job and task queued; start: job running, assessment begins;
  // dispatch; (progress x2); finish; assessment completes; job finishes.
  std::vector<std::string> expected{
      "job:not_submitted>queued",     "task:not_submitted>queued",
      "job:queued>running",           "assessment:not_yet_run>running",
      "task:queued>running",          "progress:running>running",
      "progress:running>running",     "task:running>finished",
      "assessment:running>completed", "job:running>finished"};
  CHECK(kinds == expected);
  CHECK(percents == std::vector<int>{50, 100});
}

TEST_CASE("runtime shutdown does not hang on a function that ignores the "
          "stop request",
          "[runtime][shutdown]") {
  auto opts = test::small_options();
  opts.kill_bound = 200ms;
  opts.terminate_bound = 500ms;
  // Shared with the abandoned thread, which outlives the runtime.
  auto release = std::make_shared<std::atomic<bool>>(false);
  auto started = std::make_shared<std::atomic<int>>(0);
  auto begin = std::chrono::steady_clock::now();
  {
    runtime rt{opts};
    rt.register_work("stubborn", [release, started](const work_context&) {
      ++*started;
      while (!*release)
        std::this_thread::sleep_for(5ms);
      return work_result::success();
    });
    job_spec spec;
    spec.assessments.resize(1);
    spec.assessments[0].tasks = {test::fn_task("stubborn")};
    auto added = rt.add_job(spec);
    REQUIRE(rt.submit(added.job).code == result_code::ok);
    for (int i = 0; i < 2000 && *started == 0; ++i)
      std::this_thread::sleep_for(1ms);
    REQUIRE(*started == 1);
    auto reply = rt.terminate_job(added.job);
    // The function cannot be killed: terminate says so, and the task still
    // has its final status.
    CHECK(reply.code == result_code::terminate_failed);
    CHECK(rt.task_status(added.job, 1).task.status == task_status::cancelled);
  }
  auto took = std::chrono::steady_clock::now() - begin;
  CHECK(took < 10s);
  *release = true;
}

TEST_CASE("runtime wait on a job that outlives the timeout replies "
          "request_timeout, and a later wait still sees the end",
          "[runtime]") {
  runtime rt{test::small_options()};
  rt.register_work("block",
                   [](const work_context& ctx) { return wait_for_stop(ctx); });
  auto added = rt.add_job(test::uniform_job({1}, test::fn_task("block")));
  REQUIRE(rt.submit(added.job).code == result_code::ok);
  auto early = rt.wait(added.job, 50ms);
  CHECK(early.code == result_code::request_timeout);
  CHECK_FALSE(early.job.id == added.job); // no record comes with a timeout
  REQUIRE(rt.cancel_job(added.job).code == result_code::ok);
  auto done = rt.wait(added.job, 20s);
  REQUIRE(done.code == result_code::ok);
  CHECK(done.job.status == job_status::cancelled);
}

TEST_CASE("a head without a local node takes one scheduler thread unless "
          "told otherwise",
          "[runtime][threads]") {
  // docs/performance.md, "One scheduler thread on a head": its actors only
  // pass messages on, so a second thread costs hand-offs and gains nothing.
  auto opts = test::small_options();
  opts.threads = 0;
  SECTION("a head") {
    opts.local_node = false;
    runtime rt{opts};
    CHECK(rt.options().threads == 1);
  }
  SECTION("a runtime with its own node keeps a thread per core, at least 2") {
    opts.local_node = true;
    runtime rt{opts};
    CHECK(rt.options().threads
          == std::max(2u, std::thread::hardware_concurrency()));
  }
  SECTION("a head given its threads keeps them") {
    opts.local_node = false;
    opts.threads = 3;
    runtime rt{opts};
    CHECK(rt.options().threads == 3);
  }
}

TEST_CASE("publish refuses a max_message_size under the smallest bound, which "
          "a full batch of ends needs, and listens nowhere",
          "[runtime][network]") {
  auto opts = test::small_options();
  opts.network = true;
  opts.local_node = false;
  opts.dev_mode = true;
  auto listen_with = [&](uint64_t bound, std::string& error) {
    opts.max_message_size = bound;
    runtime rt{opts};
    return rt.publish("127.0.0.1", 0, error);
  };
  std::string error;
  CHECK(listen_with(512 << 10, error) == 0);
  CHECK_THAT(error, Catch::Contains("max_message_size is 524288 bytes; "
                                    "expected 1MiB"));
  error.clear();
  CHECK(listen_with(uint64_t{1} << 20, error) != 0);
  CHECK(error.empty());
}
