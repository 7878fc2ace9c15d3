#include "config/job_file.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace quiesce::config;

TEST_CASE("summarize describes jobs, assessments, tasks and policies",
          "[config][summary]") {
  auto text = R"(
[runtime]
slots = 2
grace = "3s"
[[job]]
name = "nightly"
stop_on_assessment_error = true
  [[job.assessment]]
  name = "build"
    [[job.assessment.task]]
    name = "compile"
    command = ["echo", "a b", "it's"]
    env = { CC = "gcc" }
    time_limit = "1m30s"
    stop_signal = "INT"
    rerunnable = false
  [[job.assessment]]
  name = "check"
    [[job.assessment.task]]
    work = "checksum"
    args = ["x"]
    [[job.assessment.task]]
    command = "sleep 1 && true"
    shell = true
    grace = "250ms"
)";
  auto result = parse_job_file(text, "/srv/jobs.toml");
  REQUIRE(result.ok());
  auto summary = summarize(result.file);
  INFO(summary);
  using Catch::Contains;
  CHECK_THAT(summary, Contains("threads auto, slots 2, scheduler sharing"));
  CHECK_THAT(summary, Contains("grace 3s, retries 3"));
  CHECK_THAT(summary, Contains("1 job\n"));
  CHECK_THAT(summary,
             Contains("job \"nightly\": 2 assessments, stop on assessment "
                      "error yes, grace 3s, retries 3, stop commands on "
                      "cancel no\n"));
  CHECK_THAT(summary, Contains("  0. assessment \"build\": 1 task\n"));
  CHECK_THAT(summary,
             Contains("    task \"compile\": command echo 'a b' 'it'\\''s'\n"
                      "      env CC=gcc\n"
                      "      time limit 1m30s\n"
                      "      stop signal SIGINT\n"
                      "      not rerunnable\n"));
  CHECK_THAT(summary, Contains("  1. assessment \"check\": 2 tasks\n"
                               "    task #0: work checksum x\n"));
  CHECK_THAT(summary,
             Contains("    task #1: command /bin/sh -c 'sleep 1 && true'\n"
                      "      grace 250ms\n"));
  // The order of the output follows the order of the file.
  CHECK(summary.find("\"build\"") < summary.find("\"check\""));
}

TEST_CASE("summarize marks default runtime settings", "[config][summary]") {
  job_file empty;
  auto summary = summarize(empty);
  CHECK_THAT(summary, Catch::StartsWith("runtime (defaults):\n"));
  CHECK_THAT(summary, Catch::Contains("max running jobs unlimited"));
  // The address `quiesce head` really listens on by default.
  CHECK_THAT(summary, Catch::Contains("  listen 127.0.0.1:7700, heartbeat 1s, "
                                      "node timeout 5s, head lease 5s\n"));
  CHECK_THAT(summary, Catch::Contains("0 jobs\n"));
}
