// `quiesce run` and `validate` with resource limits, real cgroups (root, as
// in CI): the memory end code, usage in the records and the summary.

#include "cli/exit_status.hpp"
#include "execution/cgroup.hpp"
#include "support.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace quiesce;
using namespace quiesce::cli;
using namespace quiesce::test;
using nlohmann::json;

namespace {

const std::string limits_job = R"([runtime]
slots = 2

[[job]]
name = "limits"

  [[job.assessment]]

    [[job.assessment.task]]
    name = "hog"
    command = "exec tail /dev/zero"
    shell = true
    memory_max = "32M"

    [[job.assessment.task]]
    name = "spin"
    command = "i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done"
    shell = true
    cpus = 1.5
    pids_max = 10
)";

} // namespace

TEST_CASE("run ends a task killed by its memory limit memory_limit_exceeded "
          "and reports usage per task",
          "[cli][run][limits]") {
  auto support = process::probe_limits();
  if (!support.enforced(process::limit_support::memory)) {
    WARN("skipped: memory_max is not enforced here: "
         << support.why_not[process::limit_support::memory]);
    return;
  }
  scratch_dir dir;
  auto file = dir.write("limits.toml", limits_job);
  SECTION("json") {
    auto r = run_quiesce(
        dir, {"run", "--run-dir", dir.path("runs"), "--json", file});
    CHECK(r.status == exit_failed);
    auto doc = json::parse(r.out);
    REQUIRE(doc["jobs"].size() == 1);
    auto tasks = doc["jobs"][0]["assessments"][0]["tasks"];
    REQUIRE(tasks.size() == 2);
    auto hog = tasks[0];
    CHECK(hog["status"] == "failed");
    CHECK(hog["end_code"] == "memory_limit_exceeded");
    CHECK_THAT(hog["error_message"].get<std::string>(),
               Catch::Contains("killed by the memory limit (memory_max 32 "
                               "MiB, peak "));
    REQUIRE(hog["peak_memory"].is_number());
    CHECK(hog["peak_memory"].get<uint64_t>() > (16u << 20));
    CHECK(hog["peak_memory"].get<uint64_t>() <= (32u << 20));
    auto spin = tasks[1];
    CHECK(spin["status"] == "finished");
    REQUIRE(spin["cpu_time_ms"].is_number());
    CHECK(spin["cpu_time_ms"].get<int64_t>() > 0);
  }
  SECTION("summary") {
    auto r = run_quiesce(dir, {"run", "--run-dir", dir.path("runs"), file});
    CHECK(r.status == exit_failed);
    CHECK_THAT(r.out, Catch::Contains("PEAK MEM"));
    CHECK_THAT(r.out, Catch::Contains("memory_limit_exceeded"));
    CHECK_THAT(r.out, Catch::Contains("32 MiB"));
  }
}

TEST_CASE("validate shows and checks the limits of a job file",
          "[cli][validate][limits]") {
  scratch_dir dir;
  auto file = dir.write("limits.toml", limits_job);
  auto r = run_quiesce(dir, {"validate", file});
  CHECK(r.status == exit_ok);
  CHECK_THAT(r.out, Catch::Contains("memory max 32M"));
  CHECK_THAT(r.out, Catch::Contains("cpus 1.5"));
  CHECK_THAT(r.out, Catch::Contains("pids max 10"));
  auto support = process::probe_limits();
  bool all = support.enforced(process::limit_support::memory)
             && support.enforced(process::limit_support::cpu)
             && support.enforced(process::limit_support::pids);
  // Strict: refused only where a limit cannot be enforced.
  auto strict = dir.write("strict.toml",
                          "[runtime]\nstrict_limits = true\n"
                              + limits_job.substr(limits_job.find("[[job]]")));
  auto s = run_quiesce(dir, {"validate", strict});
  if (all) {
    CHECK(s.status == exit_ok);
    CHECK_THAT(r.err, !Catch::Contains("not enforced"));
  } else {
    CHECK(s.status == exit_invalid_input);
    CHECK_THAT(s.err, Catch::Contains("and strict_limits is set"));
    CHECK_THAT(r.err, Catch::Contains("limits not enforced on this machine"));
  }
  auto bad = dir.write("bad.toml", R"([[job]]
name = "bad"
  [[job.assessment]]
    [[job.assessment.task]]
    command = ["true"]
    memory_max = "12Q"
)");
  auto b = run_quiesce(dir, {"validate", bad});
  CHECK(b.status == exit_invalid_input);
  CHECK_THAT(b.err, Catch::Contains("bad.toml:6:18: error: 'memory_max': "
                                    "unknown suffix 'Q'"));
}
