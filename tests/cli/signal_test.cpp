// Ctrl-C on a real `quiesce run` process: SIGINT once cancels (the current
// assessment finishes, no further one starts), twice terminates, SIGTERM and
// SIGHUP terminate; SIGKILL leaves its keeper to kill the tasks.

#include "cli/exit_status.hpp"
#include "support.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <signal.h>
#include <string>
#include <thread>
#include <unistd.h>

using namespace quiesce;
using namespace quiesce::cli;
using namespace quiesce::test;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

// A job whose first task writes STARTED and then runs until a stop signal
// (or, with `ignore_term`, until killed); its second assessment would write
// MARKER. `mark` goes into the task's command line so its processes can be
// found in /proc.
std::string two_step_job(const scratch_dir& dir, bool ignore_term,
                         const std::string& mark) {
  std::string body = ignore_term
                         ? "trap '' TERM; touch " + dir.path("STARTED")
                               + "; while :; do sleep 1; done"
                         : "trap 'echo got TERM; exit 0' TERM; touch "
                               + dir.path("STARTED") + "; sleep 30 & wait";
  return "[[job]]\nname = \"interrupt-me\"\nstop_commands_on_cancel = true\n"
         "grace = \"60s\"\n\n"
         "  [[job.assessment]]\n  name = \"long\"\n\n"
         "    [[job.assessment.task]]\n    name = \"long\"\n"
         "    command = [\"sh\", \"-c\", \""
         + body + " # " + mark + "\"]\n\n"
         + "  [[job.assessment]]\n  name = \"after\"\n\n"
           "    [[job.assessment.task]]\n    name = \"after\"\n"
           "    command = [\"touch\", \""
         + dir.path("MARKER") + "\"]\n";
}

std::string unique_mark(const char* what) {
  return std::string{"quiesce-test-"} + what + "-" + std::to_string(::getpid());
}

// Returns the assessments' tasks of the only job of a report.
json only_job(const std::string& out) {
  auto doc = json::parse(out);
  REQUIRE(doc["jobs"].size() == 1);
  return doc["jobs"][0];
}

} // namespace

TEST_CASE("Ctrl-C once cancels: the current assessment finishes and no "
          "further one runs",
          "[cli][signals]") {
  scratch_dir dir;
  auto mark = unique_mark("cancel");
  auto file = dir.write("job.toml", two_step_job(dir, false, mark));
  child proc{dir, {"run", "--json", "--run-dir", dir.path("runs"), file}};
  REQUIRE(wait_for_file(dir.path("STARTED"), 20s));
  proc.signal(SIGINT);
  auto t0 = std::chrono::steady_clock::now();
  auto r = proc.wait(20s);
  auto took = std::chrono::steady_clock::now() - t0;
  CHECK_FALSE(r.timed_out);
  CHECK(took < 5s);
  CHECK(r.status == exit_cancelled);
  CHECK_THAT(r.err, Catch::Contains("press Ctrl-C again to terminate"));
  CHECK_FALSE(exists(dir.path("MARKER")));
  auto doc = json::parse(r.out);
  CHECK(doc["interrupted"] == true);
  CHECK(doc["signals"] == json::array({"SIGINT"}));
  auto job = only_job(r.out);
  CHECK(job["status"] == "cancelled");
  CHECK(job["end_code"] == "job_cancelled");
  CHECK(job["error_message"] == "interrupted (Ctrl-C)");
  // The running task saw its stop signal and exited cleanly: it finished.
  auto first = job["assessments"][0]["tasks"][0];
  CHECK(first["status"] == "finished");
  CHECK(first["exit_code"] == 0);
  auto second = job["assessments"][1]["tasks"][0];
  CHECK(second["status"] == "cancelled");
  CHECK(second["started"].is_null());
  CHECK(processes_with(mark).empty());
}

TEST_CASE("Ctrl-C twice terminates a task that ignores its stop signal",
          "[cli][signals]") {
  scratch_dir dir;
  auto mark = unique_mark("terminate");
  auto file = dir.write("job.toml", two_step_job(dir, true, mark));
  child proc{dir, {"run", "--run-dir", dir.path("runs"), file}};
  REQUIRE(wait_for_file(dir.path("STARTED"), 20s));
  proc.signal(SIGINT);
  // The task ignores SIGTERM and has 60 s of grace: the first Ctrl-C alone
  // does not end the run.
  std::this_thread::sleep_for(1s);
  CHECK(proc.running());
  CHECK_FALSE(processes_with(mark).empty());
  proc.signal(SIGINT);
  auto t0 = std::chrono::steady_clock::now();
  auto r = proc.wait(30s);
  auto took = std::chrono::steady_clock::now() - t0;
  CHECK_FALSE(r.timed_out);
  CHECK(took < 10s);
  CHECK(r.status == exit_cancelled);
  CHECK_THAT(r.err, Catch::Contains("terminating 1 job"));
  CHECK_THAT(r.out, Catch::Contains("job_cancelled"));
  CHECK_FALSE(exists(dir.path("MARKER")));
  // Nothing of the task is left.
  for (int i = 0; i < 100 && !processes_with(mark).empty(); ++i)
    std::this_thread::sleep_for(20ms);
  CHECK(processes_with(mark).empty());
}

TEST_CASE("SIGTERM terminates at once", "[cli][signals]") {
  scratch_dir dir;
  auto mark = unique_mark("sigterm");
  auto file = dir.write("job.toml", two_step_job(dir, true, mark));
  child proc{dir, {"run", "--json", "--run-dir", dir.path("runs"), file}};
  REQUIRE(wait_for_file(dir.path("STARTED"), 20s));
  proc.signal(SIGTERM);
  auto r = proc.wait(30s);
  CHECK_FALSE(r.timed_out);
  CHECK(r.status == exit_cancelled);
  auto job = only_job(r.out);
  CHECK(job["status"] == "cancelled");
  CHECK(json::parse(r.out)["signals"] == json::array({"SIGTERM"}));
  CHECK_FALSE(exists(dir.path("MARKER")));
  for (int i = 0; i < 100 && !processes_with(mark).empty(); ++i)
    std::this_thread::sleep_for(20ms);
  CHECK(processes_with(mark).empty());
}

TEST_CASE("Ctrl-C on examples/cancellation.toml cancels the job",
          "[cli][signals][examples]") {
  scratch_dir dir;
  child proc{dir,
             {"run", "--json", "--run-dir", dir.path("runs"),
              examples_dir + "/cancellation.toml"}};
  // With --json the event lines go to stderr.
  bool started = false;
  for (int i = 0; i < 2000 && !started; ++i) {
    started = proc.errors().find("(long-running): queued -> running")
              != std::string::npos;
    std::this_thread::sleep_for(10ms);
  }
  REQUIRE(started);
  // Time for the shell to set its trap.
  std::this_thread::sleep_for(500ms);
  proc.signal(SIGINT);
  auto r = proc.wait(20s);
  CHECK_FALSE(r.timed_out);
  CHECK(r.status == exit_cancelled);
  auto job = only_job(r.out);
  CHECK(job["status"] == "cancelled");
  CHECK(job["end_code"] == "job_cancelled");
  auto tasks = job["assessments"][0]["tasks"];
  CHECK(tasks[0]["status"] == "finished");
  CHECK(job["assessments"][1]["tasks"][0]["status"] == "cancelled");
}

namespace {

// A job of one task whose processes leave its process group: a `setsid`
// child and, below it, a double-forked grandchild. Every process of it
// carries `marker` in its environment; the task touches STARTED.
std::string escaping_job(const scratch_dir& dir, const std::string& marker) {
  return "[[job]]\nname = \"escapes\"\ngrace = \"5s\"\n\n"
         "  [[job.assessment]]\n\n    [[job.assessment.task]]\n"
         "    command = [\"sh\", \"-c\", \"setsid sh -c '(sleep 300 &); exec "
         "sleep 300' & touch "
         + dir.path("STARTED")
         + "; exec sleep 300\"]\n"
           "    env = { QUIESCE_TEST_MARKER = \""
         + marker + "\" }\n";
}

// Returns how many live processes (zombies aside) carry `marker` in their
// environment.
size_t alive_with(const std::string& marker) {
  auto wanted = "QUIESCE_TEST_MARKER=" + marker + '\0';
  size_t n = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator{"/proc", ec}) {
    auto name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != name.npos)
      continue;
    auto env = read_file(entry.path().string() + "/environ");
    n += (env + '\0').find(wanted) != std::string::npos ? 1 : 0;
  }
  return n;
}

} // namespace

TEST_CASE("SIGHUP terminates like SIGTERM, prints the summary and leaves "
          "nothing running",
          "[cli][signals]") {
  scratch_dir dir;
  auto marker = unique_mark("sighup");
  auto file = dir.write("job.toml", escaping_job(dir, marker));
  child proc{dir, {"run", "--run-dir", dir.path("runs"), file}};
  REQUIRE(wait_for_file(dir.path("STARTED"), 20s));
  REQUIRE(eventually([&] { return alive_with(marker) == 3; }, 10s));
  proc.signal(SIGHUP);
  auto r = proc.wait(30s);
  CHECK_FALSE(r.timed_out);
  CHECK(r.status == exit_cancelled);
  CHECK_THAT(r.err, Catch::Contains("terminating 1 job"));
  // The summary table.
  CHECK_THAT(r.out, Catch::Contains("job_cancelled"));
  // terminate_job replies once every process of the job is dead and reaped,
  // the setsid and double-forked ones included (they share its cgroup).
  CHECK(eventually([&] { return alive_with(marker) == 0; }, 6s));
}

TEST_CASE("SIGKILL of quiesce run kills its tasks within the grace period "
          "+ 1 s",
          "[cli][signals]") {
  scratch_dir dir;
  auto marker = unique_mark("sigkill");
  auto file = dir.write("job.toml", escaping_job(dir, marker));
  child proc{dir, {"run", "--run-dir", dir.path("runs"), file}};
  REQUIRE(wait_for_file(dir.path("STARTED"), 20s));
  REQUIRE(eventually([&] { return alive_with(marker) == 3; }, 10s));
  proc.signal(SIGKILL);
  proc.wait(30s);
  // Its keeper process sees it die and kills its cgroups.
  CHECK(eventually([&] { return alive_with(marker) == 0; }, 6s));
}
