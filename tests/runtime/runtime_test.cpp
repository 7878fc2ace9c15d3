#include "runtime/runtime.hpp"

#include "support/specs.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

using namespace quiesce;
using namespace std::chrono_literals;

namespace {

runtime_options small_options() {
  runtime_options opts;
  opts.threads = 2;
  opts.slots = 2;
  opts.run_dir = (std::filesystem::temp_directory_path() / "quiesce-test-runs")
                   .string();
  opts.request_timeout = 10s;
  return opts;
}

work_result wait_for_stop(const work_context& ctx) {
  if (ctx.wait_for_stop(20s))
    return work_result::stopped("saw the stop request");
  return work_result::success();
}

} // namespace

TEST_CASE("runtime runs a job of function tasks to finished",
          "[runtime][smoke]") {
  runtime rt{small_options()};
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
  runtime rt{small_options()};
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
  spec.assessments[1].tasks = {test::fn_task("never"),
                               test::fn_task("never")};
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
  CHECK(done.job.assessments[0].outcome
        == result_code::assessment_cancelled);
  CHECK(done.job.assessments[1].status == assessment_status::not_yet_run);
}

TEST_CASE("runtime runs command tasks and records exit codes",
          "[runtime][process]") {
  runtime rt{small_options()};
  job_spec spec;
  spec.assessments.resize(1);
  spec.assessments[0].tasks = {test::cmd_task({"true"}),
                               test::cmd_task({"sh", "-c", "exit 3"})};
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
  runtime rt{small_options()};
  std::atomic<int> started{0};
  rt.register_work("block", [&](const work_context& ctx) {
    ++started;
    return wait_for_stop(ctx);
  });
  job_spec spec;
  spec.assessments.resize(1);
  spec.assessments[0].tasks = {test::fn_task("block"),
                               test::cmd_task({"sleep", "100"})};
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
