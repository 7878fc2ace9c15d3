// `quiesce run` on real files: every example to its expected outcome, a
// failing job, --json and the plain event lines.

#include "cli/exit_status.hpp"
#include "support.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace quiesce;
using namespace quiesce::cli;
using namespace quiesce::test;
using nlohmann::json;

namespace {

std::vector<std::string> run_args(const scratch_dir& dir,
                                  const std::string& file,
                                  std::vector<std::string> extra = {}) {
  std::vector<std::string> out{"run", "--run-dir", dir.path("runs")};
  out.insert(out.end(), extra.begin(), extra.end());
  out.push_back(file);
  return out;
}

// Returns every task object of a job in a run report.
std::vector<json> tasks_of(const json& job) {
  std::vector<json> out;
  for (const auto& a : job["assessments"])
    for (const auto& t : a["tasks"])
      out.push_back(t);
  return out;
}

} // namespace

TEST_CASE("run of examples/nightly.toml finishes every task and exits 0",
          "[cli][run][examples]") {
  scratch_dir dir;
  auto r = run_quiesce(dir, run_args(dir, examples_dir + "/nightly.toml"));
  CHECK(r.status == exit_ok);
  CHECK_FALSE(r.timed_out);
  // Not a terminal: one plain line per event, then the summary.
  CHECK_THAT(r.out, Catch::Contains("job 1 (nightly) task 1 (configure): "
                                    "queued -> running on local"));
  CHECK_THAT(r.out, Catch::Contains("job 1 (nightly): running -> finished"));
  CHECK_THAT(r.out, Catch::Contains("assessment 3 (report): running -> "
                                    "completed"));
  CHECK_THAT(r.out, Catch::Contains("JOB  NAME"));
  CHECK_THAT(r.out, Catch::Contains("round-trip"));
  CHECK_THAT(r.out, !Catch::Contains("\x1b["));
  // How the node contained the commands, as its log and `node` say it.
  CHECK_THAT(r.out, Catch::Contains("\nContainment: cgroup v2 at ")
                        || Catch::Contains("\nContainment: process groups"));
}

TEST_CASE("run --json of examples/nightly.toml reports the job finished",
          "[cli][run][examples][json]") {
  scratch_dir dir;
  auto r = run_quiesce(
      dir, run_args(dir, examples_dir + "/nightly.toml", {"--json"}));
  CHECK(r.status == exit_ok);
  // stdout holds the JSON document and nothing else.
  auto doc = json::parse(r.out);
  CHECK(doc["exit_status"] == exit_ok);
  CHECK(doc["outcome"] == "ok");
  CHECK(doc["interrupted"] == false);
  REQUIRE(doc["containment"].is_string());
  auto containment = doc["containment"].get<std::string>();
  CHECK((containment.rfind("cgroup v2 at ", 0) == 0
         || containment.rfind("process groups", 0) == 0));
  REQUIRE(doc["jobs"].size() == 1);
  auto job = doc["jobs"][0];
  CHECK(job["name"] == "nightly");
  CHECK(job["status"] == "finished");
  CHECK(job["end_code"] == "ok");
  CHECK(job["elapsed_ms"].get<int64_t>() > 0);
  REQUIRE(job["assessments"].size() == 4);
  for (const auto& a : job["assessments"]) {
    CHECK(a["status"] == "completed");
    CHECK(a["outcome"] == "ok");
  }
  auto tasks = tasks_of(job);
  CHECK(tasks.size() == 8);
  for (const auto& t : tasks) {
    CHECK(t["status"] == "finished");
    CHECK(t["exit_code"] == 0);
    CHECK(t["node"] == "local");
  }
  // The event lines went to stderr instead.
  CHECK_THAT(r.err, Catch::Contains("running -> finished"));
}

TEST_CASE("run of examples/batch.toml finishes all twelve tasks",
          "[cli][run][examples][json]") {
  scratch_dir dir;
  auto r = run_quiesce(
      dir, run_args(dir, examples_dir + "/batch.toml", {"--json", "--quiet"}));
  CHECK(r.status == exit_ok);
  CHECK(r.err.empty());
  auto doc = json::parse(r.out);
  REQUIRE(doc["jobs"].size() == 1);
  CHECK(doc["jobs"][0]["status"] == "finished");
  auto tasks = tasks_of(doc["jobs"][0]);
  REQUIRE(tasks.size() == 12);
  for (const auto& t : tasks)
    CHECK(t["status"] == "finished");
  // The per-attempt output files went to --run-dir.
  CHECK(exists(dir.path("runs")));
  CHECK_FALSE(exists(dir.path(".quiesce")));
}

TEST_CASE("run of examples/cancellation.toml without Ctrl-C runs both "
          "assessments",
          "[cli][run][examples]") {
  // The example's long task gives up after 60 one-second rounds; the same
  // file with 2 rounds shows the uninterrupted outcome in seconds. (The
  // unmodified file is run with Ctrl-C in signal_test.cpp.)
  scratch_dir dir;
  auto text = read_file(examples_dir + "/cancellation.toml");
  auto pos = text.find("-lt 60");
  REQUIRE(pos != std::string::npos);
  text.replace(pos, 6, "-lt 2");
  auto file = dir.write("cancellation.toml", text);
  auto r = run_quiesce(dir, run_args(dir, file, {"--json"}));
  CHECK(r.status == exit_ok);
  auto doc = json::parse(r.out);
  auto job = doc["jobs"][0];
  CHECK(job["status"] == "finished");
  auto tasks = tasks_of(job);
  REQUIRE(tasks.size() == 2);
  CHECK(tasks[0]["status"] == "finished");
  CHECK(tasks[1]["status"] == "finished");
  CHECK(tasks[1]["name"] == "never-runs-when-cancelled");
}

TEST_CASE("run of a failing job exits 1 and reports codes and exit codes",
          "[cli][run]") {
  scratch_dir dir;
  auto file = dir.write("fail.toml", R"([runtime]
slots = 2

[[job]]
name = "red"
stop_on_assessment_error = true

  [[job.assessment]]
  name = "build"

    [[job.assessment.task]]
    name = "ok"
    command = ["true"]

    [[job.assessment.task]]
    name = "broken"
    command = ["sh", "-c", "exit 3"]

  [[job.assessment]]
  name = "test"

    [[job.assessment.task]]
    name = "skipped"
    command = ["touch", "MARKER"]

[[job]]
name = "green"

  [[job.assessment]]

    [[job.assessment.task]]
    command = ["true"]
)");
  SECTION("summary") {
    auto r = run_quiesce(dir, run_args(dir, file));
    CHECK(r.status == exit_failed);
    CHECK_THAT(r.out, Catch::Contains("job_failed"));
    CHECK_THAT(r.out, Catch::Contains("task_failed"));
    CHECK_THAT(r.out, Catch::Contains("broken"));
    CHECK_FALSE(exists(dir.path("MARKER")));
  }
  SECTION("json") {
    auto r = run_quiesce(dir, run_args(dir, file, {"--json"}));
    CHECK(r.status == exit_failed);
    auto doc = json::parse(r.out);
    CHECK(doc["outcome"] == "failed");
    REQUIRE(doc["jobs"].size() == 2);
    CHECK(doc["jobs"][0]["status"] == "failed");
    CHECK(doc["jobs"][0]["end_code"] == "job_failed");
    CHECK(doc["jobs"][1]["status"] == "finished");
    auto tasks = tasks_of(doc["jobs"][0]);
    REQUIRE(tasks.size() == 3);
    CHECK(tasks[1]["status"] == "failed");
    CHECK(tasks[1]["end_code"] == "task_failed");
    CHECK(tasks[1]["exit_code"] == 3);
    CHECK(tasks[2]["status"] != "finished");
    CHECK(tasks[2]["exit_code"].is_null());
    CHECK_FALSE(exists(dir.path("MARKER")));
  }
}

TEST_CASE("run options override the file's runtime settings", "[cli][run]") {
  scratch_dir dir;
  // Three tasks that hold a lock directory for 0.3 s: with one slot they
  // never overlap; with the file's four they do, and some fail.
  std::string text = "[runtime]\nslots = 4\n[[job]]\nname = \"j\"\n"
                     "[[job.assessment]]\n";
  for (int i = 0; i < 3; ++i)
    text += "[[job.assessment.task]]\ncommand = \"mkdir lock && sleep 0.3 "
            "&& rmdir lock\"\nshell = true\n";
  auto file = dir.write("slots.toml", text);
  auto r = run_quiesce(dir, run_args(dir, file, {"--slots", "1", "--quiet"}));
  CHECK(r.status == exit_ok);
  auto wide = run_quiesce(dir, run_args(dir, file, {"--json"}));
  CHECK(wide.status == exit_failed);
}

TEST_CASE("run on a terminal shows a live display and then the summary",
          "[cli][run][terminal]") {
  scratch_dir dir;
  auto r
      = run_quiesce_on_pty(dir, run_args(dir, examples_dir + "/nightly.toml"),
                           std::chrono::seconds{60});
  CHECK(r.status == exit_ok);
  // Frames are redrawn in place: cursor up, clear to the end of the screen.
  CHECK_THAT(r.out, Catch::Contains("\x1b["));
  CHECK_THAT(r.out, Catch::Contains("jobs: 1 running"));
  CHECK_THAT(r.out, Catch::Contains("jobs: 0 running, 0 queued, 1 finished"));
  CHECK_THAT(r.out, Catch::Contains("nightly"));
  CHECK_THAT(r.out, Catch::Contains("4/4 report"));
  // No plain event lines on a terminal.
  CHECK_THAT(r.out, !Catch::Contains("queued -> running"));
  CHECK_THAT(r.out, Catch::Contains("JOB  NAME"));
  // --no-progress prints the plain lines even there.
  auto plain = run_quiesce_on_pty(
      dir, run_args(dir, examples_dir + "/nightly.toml", {"--no-progress"}),
      std::chrono::seconds{60});
  CHECK(plain.status == exit_ok);
  CHECK_THAT(plain.out, Catch::Contains("queued -> running"));
  CHECK_THAT(plain.out, !Catch::Contains("jobs: 1 running"));
}
