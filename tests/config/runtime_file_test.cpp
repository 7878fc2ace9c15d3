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
  CHECK(rt.retries == 1);
  CHECK(rt.max_running_jobs == 10);
  CHECK(rt.scheduler == "sharing");
  CHECK(rt.heartbeat_interval == 2s);
  CHECK(rt.connection_timeout == 10s);
  CHECK(rt.head_lease == 12s);
  CHECK(rt.job_retention == 90s);
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
  REQUIRE(result.errors.size() == 3);
  CHECK(result.errors[0].line == 3);
  CHECK(result.errors[0].column == 1);
  CHECK(result.errors[0].message
        == "unknown key 'threds' in [runtime] (did you mean 'threads'?)");
  CHECK(result.errors[1].line == 4);
  CHECK(result.errors[1].column == 13);
  CHECK(result.errors[1].message
        == "'heartbeat': expected a positive duration, found \"0s\"");
  CHECK(result.errors[2].line == 5);
  CHECK_THAT(result.errors[2].message,
             Catch::Contains("'job_retention'") && Catch::Contains("-5m"));
  CHECK_FALSE(result.file.has_runtime);
}

TEST_CASE("runtime file loader reads and checks the bounds on peers",
          "[config][runtime_file]") {
  auto good = parse_runtime_file("[runtime]\nmax_connections = 300\n"
                                 "max_connections_per_address = 20\n"
                                 "handshake_timeout = \"2s\"\n"
                                 "max_message_size = \"8MiB\"\n",
                                 "peers.toml");
  INFO(render(good.errors));
  REQUIRE(good.ok());
  CHECK(good.file.runtime.max_connections == 300);
  CHECK(good.file.runtime.max_connections_per_address == 20);
  CHECK(good.file.runtime.handshake_timeout == 2s);
  CHECK(good.file.runtime.max_message_size == (uint64_t{8} << 20));
  auto bad = parse_runtime_file("[runtime]\nmax_connections = 0\n"
                                "max_connections_per_address = -1\n"
                                "handshake_timeout = \"20m\"\n"
                                "max_message_size = \"1K\"\n",
                                "peers.toml");
  INFO(render(bad.errors));
  REQUIRE(bad.errors.size() == 4);
  CHECK(bad.errors[0].line == 2);
  CHECK_THAT(bad.errors[0].message, Catch::Contains("'max_connections'"));
  CHECK(bad.errors[1].line == 3);
  CHECK_THAT(bad.errors[1].message,
             Catch::Contains("'max_connections_per_address'"));
  CHECK(bad.errors[2].line == 4);
  CHECK_THAT(bad.errors[2].message,
             Catch::Contains("'handshake_timeout': expected at most 10m"));
  CHECK(bad.errors[3].line == 5);
  CHECK_THAT(bad.errors[3].message,
             Catch::Contains("'max_message_size': expected a size from 1MiB"));
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

TEST_CASE("runtime file parser accepts listen port 0 and checks addresses",
          "[config][runtime_file]") {
  auto good = parse_runtime_file("[runtime]\nlisten = \"[::1]:0\"\n", "r");
  CHECK(good.ok());
  CHECK(good.file.runtime.listen == "[::1]:0");
  for (auto bad : {R"(listen = "::1:80")", R"(listen = "host:70000")",
                   R"(listen = ":80")", R"(listen = "host:")"}) {
    auto result = parse_runtime_file(std::string{"[runtime]\n"} + bad, "r");
    INFO(bad);
    REQUIRE(result.errors.size() == 1);
    CHECK(result.errors[0].line == 2);
  }
}

TEST_CASE("runtime file parser refuses 'nodes' with line and column",
          "[config][runtime_file]") {
  for (auto value : {R"(["node1:7701"])", R"([])", R"("host:1")"}) {
    INFO(value);
    auto result = parse_runtime_file(
        std::string{"[runtime]\nslots = 2\n  nodes = "} + value + "\n",
        "site.toml");
    REQUIRE(result.errors.size() == 1);
    CHECK(to_string(result.errors[0])
          == "site.toml:3:3: error: 'nodes' is not supported: a head does "
             "not connect to its nodes, they join it; start `quiesce node "
             "--head HOST:PORT` on each node instead");
    CHECK_FALSE(result.file.has_runtime);
  }
}

TEST_CASE("runtime file parser loads each key into the settings and leaves "
          "the others at their defaults",
          "[config][runtime_file]") {
  const quiesce::settings defaults;
  auto load = [](const std::string& line) {
    auto result = parse_runtime_file("[runtime]\n" + line + "\n", "/etc/r");
    INFO(line << '\n' << render(result.errors));
    REQUIRE(result.ok());
    return result.file.runtime;
  };
  // Every key, and what a default-constructed settings has instead.
  CHECK(load("threads = 7").threads == 7);
  CHECK(load("slots = 9").slots == 9);
  CHECK(load(R"(grace = "1m30s")").grace == 90s);
  CHECK(load(R"(run_dir = "runs")").run_dir == "/etc/runs");
  CHECK(load(R"(listen = "0.0.0.0:7800")").listen == "0.0.0.0:7800");
  CHECK(load("retries = 0").retries == 0);
  CHECK(load("max_running_jobs = 4").max_running_jobs == 4);
  CHECK(load(R"(scheduler = "stealing")").scheduler == "stealing");
  CHECK(load(R"(heartbeat = "250ms")").heartbeat_interval == 250ms);
  CHECK(load(R"(node_timeout = "9s")").connection_timeout == 9s);
  CHECK(load("strict_limits = true").strict_limits);
  CHECK(load(R"(log_file = "head.log")").log_file == "/etc/head.log");
  CHECK(load(R"(log_level = "debug")").log_level == "debug");
  CHECK(load(R"(log_max_size = "2MiB")").log_max_size == 2u << 20);
  CHECK(load("log_max_size = 4096").log_max_size == 4096);
  CHECK(load("log_files = 0").log_files == 0);
  CHECK(load(R"(metrics_listen = "127.0.0.1:0")").metrics_listen
        == "127.0.0.1:0");
  auto x = load("threads = 7");
  CHECK(x.strict_limits == defaults.strict_limits);
  CHECK(x.log_file.empty());
  CHECK(x.log_level == "info");
  CHECK(x.log_max_size == defaults.log_max_size);
  CHECK(x.metrics_listen.empty());
  CHECK(x.slots == defaults.slots);
  CHECK(x.grace == defaults.grace);
  CHECK(x.run_dir == defaults.run_dir);
  CHECK(x.listen == defaults.listen);
  CHECK(x.scheduler == defaults.scheduler);
  CHECK(x.heartbeat_interval == defaults.heartbeat_interval);
}

TEST_CASE("settings default to the address a head listens on",
          "[config][runtime_file]") {
  const quiesce::settings defaults;
  CHECK(defaults.listen == "127.0.0.1:7700");
  CHECK(defaults.head == defaults.listen);
  CHECK(defaults.run_dir == ".quiesce/runs");
  CHECK(defaults.connection_timeout > defaults.heartbeat_interval);
  auto result = parse_runtime_file("[runtime]\nthreads = 1\n", "r");
  REQUIRE(result.ok());
  CHECK(result.file.runtime.listen == "127.0.0.1:7700");
}

TEST_CASE("runtime file parser refuses bad log settings with line and column",
          "[config][runtime_file][log]") {
  auto errors = [](const std::string& line) {
    auto result = parse_runtime_file("[runtime]\n" + line + "\n", "r.toml");
    CHECK_FALSE(result.ok());
    return render(result.errors);
  };
  CHECK_THAT(errors(R"(log_level = "loud")"),
             Catch::Contains("r.toml:2:13: error: 'log_level': expected "
                             "trace, debug, info, warn, error or off"));
  CHECK_THAT(errors("log_max_size = 100"),
             Catch::Contains("r.toml:2:16: error: 'log_max_size': expected a "
                             "size from 1KiB to 1024GiB"));
  CHECK_THAT(errors(R"(log_max_size = "10 MB")"),
             Catch::Contains("'log_max_size'"));
  CHECK_THAT(errors("log_max_size = -5"), Catch::Contains("'log_max_size'"));
  CHECK_THAT(errors("log_files = 1001"), Catch::Contains("'log_files'"));
  CHECK_THAT(errors(R"(metrics_listen = "nowhere")"),
             Catch::Contains("'metrics_listen'"));
}

TEST_CASE("runtime file reads [runtime.users] and run_as_root, refusing bad "
          "entries with their place",
          "[config][runtime_file][owner]") {
  auto parse = [](const std::string& text) {
    return parse_runtime_file(text, "r.toml", quiesce::settings{});
  };
  auto ok = parse("[runtime]\nrun_as_root = true\n[runtime.users]\n"
                  "alice = \"alice\"\n"
                  "ci = { uid = 1500, gid = 1501, groups = [1500, 44] }\n"
                  "bare = { uid = 7, gid = 8 }\n");
  INFO(render(ok.errors));
  REQUIRE(ok.ok());
  const auto& rt = ok.file.runtime;
  CHECK(rt.run_as_root);
  REQUIRE(rt.users.size() == 3);
  CHECK(rt.users.at("alice").user == "alice");
  CHECK(rt.users.at("ci").uid == 1500);
  CHECK(rt.users.at("ci").gid == 1501);
  CHECK(rt.users.at("ci").groups == std::vector<int64_t>{1500, 44});
  CHECK(rt.users.at("bare").groups.empty());
  CHECK_FALSE(parse("[runtime]\nthreads = 1\n").file.runtime.run_as_root);
  // Each bad entry is named.
  auto bad = parse("[runtime]\nusers = 3\n");
  CHECK_THAT(render(bad.errors), Catch::Contains("'users': expected a table"));
  bad = parse("[runtime.users]\nalice = { uid = 1 }\n");
  CHECK_THAT(render(bad.errors),
             Catch::Contains("'users.alice': a numeric account needs both "
                             "'uid' and 'gid'"));
  bad = parse("[runtime.users]\nalice = 5\n");
  CHECK_THAT(render(bad.errors),
             Catch::Contains("'users.alice': expected a local user name"));
  bad = parse("[runtime.users]\nalice = { uid = 1, gid = 1, home = \"x\" }\n");
  CHECK_THAT(render(bad.errors), Catch::Contains("home"));
  bad = parse("[runtime.users]\nalice = { uid = 1, gid = 1, groups = [-1] }\n");
  CHECK_THAT(render(bad.errors), Catch::Contains("expected group ids"));
  CHECK_FALSE(bad.ok());
}
