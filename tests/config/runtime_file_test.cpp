#include "config/job_file.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <string>

using namespace std::chrono_literals;
using namespace quiesce::config;

namespace {

const std::string runtime_dir = QUIESCE_TEST_DATA_DIR "/runtime";

std::string render(const std::vector<diagnostic>& xs) {
  std::string result;
  for (const auto& x : xs)
    result += to_string(x) + '\n';
  return result;
}

} // namespace

TEST_CASE("runtime file loader reads every setting of a [runtime] table",
          "[config][runtime_file]") {
  auto result = load_runtime_file(runtime_dir + "/good.toml");
  INFO(render(result.errors));
  REQUIRE(result.ok());
  CHECK(result.file.has_runtime);
  CHECK(result.file.jobs.empty());
  const auto& rt = result.file.runtime;
  CHECK(rt.threads == 3);
  CHECK(rt.slots == 8);
  CHECK(rt.grace == 2s);
  CHECK(rt.run_dir == "/var/tmp/quiesce");
  CHECK(rt.listen == "0.0.0.0:7700");
  CHECK(rt.nodes == std::vector<std::string>{"node1:7701", "node2:7701"});
  CHECK(rt.retries == 1);
  CHECK(rt.max_running_jobs == 10);
  CHECK(rt.scheduler == "sharing");
  CHECK(rt.heartbeat == 2s);
  CHECK(rt.node_timeout == 10s);
}

TEST_CASE("runtime file settings become the defaults of a job file",
          "[config][runtime_file]") {
  auto runtime = load_runtime_file(runtime_dir + "/good.toml");
  REQUIRE(runtime.ok());
  auto jobs = load_job_file(QUIESCE_TEST_DATA_DIR "/good/minimal.toml",
                            runtime.file.runtime);
  REQUIRE(jobs.ok());
  CHECK(jobs.file.runtime.slots == 8);
  CHECK(jobs.file.jobs.at(0).policy.grace == 2s);
  CHECK(jobs.file.jobs.at(0).policy.retries == 1);
}

TEST_CASE("runtime file loader refuses jobs in a runtime file",
          "[config][runtime_file]") {
  auto path = runtime_dir + "/with_job.toml";
  auto result = load_runtime_file(path);
  REQUIRE(result.errors.size() == 1);
  CHECK(
      to_string(result.errors[0])
      == path
             + ":4:3: error: unknown top-level key 'job' in a runtime file (a "
               "runtime file holds only a [runtime] table; jobs belong in a "
               "job file)");
}

TEST_CASE("runtime file loader refuses top-level settings",
          "[config][runtime_file]") {
  auto result = load_runtime_file(runtime_dir + "/top_level.toml");
  INFO(render(result.errors));
  REQUIRE(result.errors.size() == 2);
  CHECK(result.errors[0].line == 1);
  CHECK(result.errors[0].column == 1);
  CHECK_THAT(result.errors[0].message,
             Catch::Contains("unknown top-level key 'slots' in a runtime "
                             "file (runtime settings go in a [runtime] "
                             "table)"));
  CHECK(result.errors[1].line == 2);
  CHECK_THAT(result.errors[1].message,
             Catch::Contains("unknown top-level key 'threads'"));
}

TEST_CASE("runtime file loader reports bad values with line and column",
          "[config][runtime_file]") {
  auto result = load_runtime_file(runtime_dir + "/bad_values.toml");
  INFO(render(result.errors));
  REQUIRE(result.errors.size() == 2);
  CHECK(result.errors[0].line == 3);
  CHECK(result.errors[0].column == 1);
  CHECK(result.errors[0].message
        == "unknown key 'threds' in [runtime] (did you mean 'threads'?)");
  CHECK(result.errors[1].line == 4);
  CHECK(result.errors[1].column == 13);
  CHECK(result.errors[1].message
        == "'heartbeat': expected a positive duration, found \"0s\"");
  CHECK_FALSE(result.file.has_runtime);
}

TEST_CASE("runtime file parser wants a [runtime] table",
          "[config][runtime_file]") {
  auto result = parse_runtime_file("", "empty.toml");
  REQUIRE(result.errors.size() == 1);
  CHECK(to_string(result.errors[0])
        == "empty.toml:1:1: error: no [runtime] table: a runtime file holds "
           "its settings in a [runtime] table");
}

TEST_CASE("runtime file loader reports a missing file with line 0",
          "[config][runtime_file]") {
  auto result = load_runtime_file("missing-runtime.toml");
  REQUIRE(result.errors.size() == 1);
  CHECK(result.errors[0].line == 0);
  CHECK(result.errors[0].file == "missing-runtime.toml");
}

TEST_CASE("runtime file parser accepts listen port 0 but not node port 0",
          "[config][runtime_file]") {
  auto good = parse_runtime_file("[runtime]\nlisten = \"[::1]:0\"\n", "r");
  CHECK(good.ok());
  CHECK(good.file.runtime.listen == "[::1]:0");
  for (auto bad : {R"(listen = "::1:80")", R"(listen = "host:70000")",
                   R"(listen = ":80")", R"(listen = "host:")",
                   R"(nodes = ["host:0"])", R"(nodes = "host:1")"}) {
    auto result = parse_runtime_file(std::string{"[runtime]\n"} + bad, "r");
    INFO(bad);
    REQUIRE(result.errors.size() == 1);
    CHECK(result.errors[0].line == 2);
  }
}
