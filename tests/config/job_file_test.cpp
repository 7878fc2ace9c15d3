#include "config/job_file.hpp"
#include "config/limits.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

using namespace std::chrono_literals;
using namespace quiesce;
using namespace quiesce::config;

namespace fs = std::filesystem;

namespace {

const std::string data_dir = QUIESCE_TEST_DATA_DIR;

struct expected_error {
  uint32_t line;
  uint32_t column;
  std::string substring;
};

struct bad_file {
  std::string name;
  std::vector<expected_error> errors;
};

const std::string duration_hint
    = R"(expected a duration such as "250ms", "30s", "5m", "1h" or "1m30s")";

const std::string not_shell
    = "'command' is a string but 'shell' is not true: set shell = true to run "
      "it with /bin/sh -c, or write the command as an array such as "
      "[\"make\", \"-j2\"]";

const std::string neither
    = "task has neither 'command' nor 'work': set command = [\"program\", "
      "\"argument\"] or work = \"name\"";

// Every file of tests/data/bad with each diagnostic it must produce, in
// order: line, column and a part of the message.
const std::vector<bad_file> catalogue{
    {"syntax_error.toml",
     {{2, 21, "invalid TOML: Error while parsing string"}}},
    {"duplicate_toml_key.toml",
     {{3, 8,
       "invalid TOML: Error while parsing key-value pair: cannot "
       "redefine existing string 'name'"}}},
    {"invalid_utf8.toml", {{2, 12, "invalid TOML: Encountered invalid utf-8"}}},
    {"deep_key.toml",
     {{4, 134, "key nested too deeply: more than 64 dotted parts"}}},
    {"unknown_key_task.toml",
     {{9, 5, "unknown key 'comand' in task (did you mean 'command'?)"}}},
    {"unknown_keys_everywhere.toml",
     {{2, 1, "unknown key 'slot' in [runtime] (did you mean 'slots'?)"},
      {4, 3, "unknown top-level key 'jobs' (did you mean 'job'?)"},
      {8, 1, "unknown key 'nmae' in job (did you mean 'name'?)"},
      {10, 1, "unknown key 'stop_on_error' in job"},
      {12, 9, "unknown key 'assessments' in job (did you mean 'assessment'?)"},
      {17, 3, "unknown key 'tasks' in assessment (did you mean 'task'?)"},
      {21, 5, "unknown key 'timelimit' in task (did you mean 'time_limit'?)"}}},
    {"top_level_runtime_keys.toml",
     {{1, 1,
       "unknown top-level key 'slots' (runtime settings go in a "
       "[runtime] table)"},
      {2, 1,
       "unknown top-level key 'grace' (runtime settings go in a "
       "[runtime] table)"},
      {3, 1, "unknown top-level key 'runtim' (did you mean 'runtime'?)"}}},
    {"wrong_type_slots.toml",
     {{2, 9, "'slots': expected an integer, found a string"}}},
    {"bad_limits.toml",
     {{3, 14,
       "'memory_max': expected digits with an optional suffix K, M, G or T"},
      {8, 18,
       "'memory_max': unknown suffix 'Q': expected K, M, G or T (powers of "
       "1024)"},
      {9, 12, "'cpus': expected a number from 0.01 to 1024, found 0.001"},
      {10, 16, "'pids_max': expected an integer from 1 to 4194304, found 0"},
      {14, 18,
       "'memory_max': at least 1M is needed (less kills a command as it "
       "starts), found 1000 bytes"},
      {15, 12,
       "'cpus': expected a number of CPUs such as 0.5 or 2, found a string"},
      {19, 5,
       "'memory_max' applies only to command tasks, not to a work "
       "function"}}},
    {"wrong_type_bool.toml",
     {{3, 28,
       "'stop_on_assessment_error': expected a boolean (true or false), "
       "found a string"},
      {7, 14,
       "'rerunnable': expected a boolean (true or false), found an "
       "integer"},
      {8, 9, "'label': expected a string, found an integer"}}},
    {"negative_integers.toml",
     {{2, 9, "'slots': expected an integer from 0 to 65536, found -2"},
      {6, 11, "'retries': expected an integer from 0 to 1000, found -1"}}},
    {"out_of_range.toml",
     {{2, 11, "'threads': expected an integer from 0 to 1024, found 100000"},
      {3, 20,
       "'max_running_jobs': expected an integer from 0 to 4294967295, "
       "found 5000000000"},
      {4, 11, "'retries': expected an integer from 0 to 1000, found 1001"}}},
    {"runtime_not_table.toml",
     {{1, 11, "'runtime': expected a table ([runtime]), found a string"}}},
    {"bad_runtime.toml",
     {{2, 13, R"('scheduler': expected "sharing" or "stealing", found "fifo")"},
      {3, 10,
       R"('listen': expected an address "HOST:PORT" (no port), found )"
       R"("localhost")"},
      {4, 1,
       "'nodes' is not supported: a head does not connect to its nodes, "
       "they join it; start `quiesce node --head HOST:PORT` on each node "
       "instead"},
      {6, 16, "'node_timeout' (1s) must be longer than 'heartbeat' (2s)"},
      {7, 11, "'run_dir': expected a non-empty path, found an empty string"}}},
    {"no_jobs.toml", {{1, 1, "no jobs: expected at least one [[job]] table"}}},
    {"empty_file.toml",
     {{1, 1, "no jobs: expected at least one [[job]] table"}}},
    {"job_not_array_of_tables.toml",
     {{1, 1,
       "'job': expected an array of tables ([[job]]), found a table "
       "(write [[job]] with double brackets)"}}},
    {"job_is_a_string.toml",
     {{1, 7, "'job': expected an array of tables ([[job]]), found a string"}}},
    {"missing_job_name.toml",
     {{1, 1, R"(job has no 'name': expected name = "...")"}}},
    {"job_without_assessments.toml",
     {{1, 1,
       R"(job "hollow" has no assessments: expected at least one )"
       "[[job.assessment]] table"}}},
    {"assessment_not_array.toml",
     {{3, 14,
       "'assessment': expected an array of tables ([[job.assessment]]), "
       "found a string"},
      {7, 15, "found an array element that is an integer"},
      {7, 18, "found an array element that is an integer"}}},
    {"assessment_without_tasks.toml",
     {{4, 3,
       R"(assessment "empty" has no tasks: expected at least one )"
       "[[job.assessment.task]] table"},
      {7, 3, R"(assessment 1 of job "j" has no tasks)"}}},
    {"duplicate_job_names.toml",
     {{8, 8, R"(duplicate job name "same" (first defined at line 2))"}}},
    {"duplicate_assessment_names.toml",
     {{8, 10,
       R"(duplicate assessment name "stage" (first defined at line 4))"}}},
    {"duplicate_task_names.toml",
     {{13, 12, R"(duplicate task name "t" (first defined at line 7))"}}},
    {"bad_durations.toml",
     {{2, 9, "'grace': " + duration_hint + R"(, found "5x")"},
      {6, 9,
       R"('grace': expected a duration string such as "30s", found an )"
       "integer"},
      {10, 14, "'time_limit': " + duration_hint + R"(, found "-1s")"},
      {11, 9, "'grace': " + duration_hint + R"(, found "")"}}},
    {"unknown_signal.toml",
     {{6, 15,
       R"('stop_signal': unknown signal "SIGFOO" (expected a name such )"
       R"(as "SIGTERM" or a number from 1 to 31))"},
      {9, 15, "'stop_signal': unknown signal 99"},
      {12, 15,
       R"('stop_signal': expected a name such as "SIGTERM" or a )"
       "number from 1 to 31, found a boolean"}}},
    {"neither_command_nor_work.toml", {{4, 3, neither}}},
    {"both_command_and_work.toml",
     {{6, 10,
       "task has both 'command' and 'work': a task runs either a "
       "command or a work function"}}},
    {"empty_argv.toml",
     {{5, 13,
       "'command': expected a non-empty array of strings (program and "
       "arguments), found an empty array"},
      {7, 14, "'command'[0]: expected a program name, found an empty string"}}},
    {"command_string_without_shell.toml",
     {{5, 13, not_shell},
      {7, 13, not_shell},
      {11, 11, "'shell = true' needs 'command' to be a string, found an array"},
      {13, 13, "'command': expected a shell command, found only whitespace"}}},
    {"non_string_argv.toml",
     {{5, 23, "'command'[1]: expected a string, found an integer"},
      {5, 26, "'command'[2]: expected a string, found a boolean"},
      {7, 13,
       "'command': expected an array of strings (or a string with shell "
       "= true), found an integer"}}},
    {"env_not_strings.toml",
     {{6, 30, "'env.JOBS': expected a string, found an integer"},
      {6, 33, R"('env': expected a variable name without '=', found "A=B")"},
      {9, 9,
       R"('env': expected a table of strings such as { CC = "gcc" }, )"
       "found a string"}}},
    {"command_keys_on_work.toml",
     {{6, 3, "'env' applies only to command tasks, not to a work function"},
      {7, 3, "'stop_signal' applies only to command tasks"},
      {10, 10,
       "'args' applies only to work functions; put a command's "
       "arguments in 'command'"},
      {13, 10, "'args': expected an array of strings, found a string"}}},
    {"empty_names.toml",
     {{2, 8, "'name': expected a non-empty string, found an empty string"},
      {6, 10, "'name': expected a non-empty string, found an empty string"},
      {9, 10,
       R"('name': expected a string without control characters, found )"
       R"("two\nlines")"}}},
    {"name_too_long.toml",
     {{7, 12, "'name': expected at most 320 characters, found 321"}}},
    {"many_errors.toml",
     {{3, 9, "'slots': expected an integer, found a string"},
      {7, 9, "'grace': " + duration_hint + R"(, found "10")"},
      {14, 5, "unknown key 'comand' in task (did you mean 'command'?)"},
      {17, 12, R"(duplicate task name "compile" (first defined at line 13))"},
      {18, 15, not_shell},
      {19, 19, R"('stop_signal': unknown signal "SIGNOPE")"}}},
};

std::string render(const std::vector<diagnostic>& xs) {
  std::string result;
  for (const auto& x : xs)
    result += to_string(x) + '\n';
  return result;
}

void check_errors(const load_result& result, const std::string& file,
                  const std::vector<expected_error>& expected) {
  INFO("diagnostics:\n" << render(result.errors));
  CHECK_FALSE(result.ok());
  CHECK(result.file.jobs.empty());
  REQUIRE(result.errors.size() == expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    const auto& got = result.errors[i];
    const auto& want = expected[i];
    INFO("diagnostic " << i << ": " << to_string(got));
    CHECK(got.file == file);
    CHECK(got.line == want.line);
    CHECK(got.column == want.column);
    CHECK_THAT(got.message, Catch::Contains(want.substring));
  }
}

const task_spec& task_at(const job_file& file, size_t job, size_t assessment,
                         size_t task) {
  return file.jobs.at(job).assessments.at(assessment).tasks.at(task);
}

std::string normal(const fs::path& x) {
  return fs::absolute(x).lexically_normal().string();
}

} // namespace

TEST_CASE("job file loader reports every broken file of the catalogue with "
          "line, column and message",
          "[config][job_file]") {
  REQUIRE(catalogue.size() >= 24);
  for (const auto& entry : catalogue) {
    DYNAMIC_SECTION(entry.name) {
      auto path = data_dir + "/bad/" + entry.name;
      check_errors(load_job_file(path), path, entry.errors);
    }
  }
}

TEST_CASE("job file catalogue covers every file in tests/data/bad",
          "[config][job_file]") {
  std::set<std::string> listed;
  for (const auto& entry : catalogue)
    listed.insert(entry.name);
  std::set<std::string> present;
  for (const auto& entry : fs::directory_iterator{data_dir + "/bad"})
    present.insert(entry.path().filename().string());
  CHECK(listed == present);
}

TEST_CASE("job file loader rejects an unknown key with line and column",
          "[config][job_file]") {
  auto path = data_dir + "/bad/unknown_key_task.toml";
  auto result = load_job_file(path);
  REQUIRE(result.errors.size() == 1);
  CHECK(to_string(result.errors[0])
        == path
               + ":9:5: error: unknown key 'comand' in task (did you mean "
                 "'command'?)");
}

TEST_CASE("job file loader reports several errors of one file together",
          "[config][job_file]") {
  auto result = load_job_file(data_dir + "/bad/many_errors.toml");
  CHECK(result.errors.size() >= 3);
  CHECK(std::is_sorted(result.errors.begin(), result.errors.end(),
                       [](const diagnostic& x, const diagnostic& y) {
                         return std::tie(x.line, x.column)
                                < std::tie(y.line, y.column);
                       }));
}

TEST_CASE("job file loader names the file as the user gave it",
          "[config][job_file]") {
  auto cwd = fs::current_path();
  fs::current_path(data_dir);
  auto result = load_job_file("bad/../bad/wrong_type_slots.toml");
  fs::current_path(cwd);
  REQUIRE(result.errors.size() == 1);
  CHECK(to_string(result.errors[0])
        == "bad/../bad/wrong_type_slots.toml:2:9: error: 'slots': expected an "
           "integer, found a string");
}

TEST_CASE("job file loader reports a missing file with line 0",
          "[config][job_file]") {
  auto result = load_job_file("no/such/jobs.toml");
  REQUIRE(result.errors.size() == 1);
  const auto& x = result.errors[0];
  CHECK(x.file == "no/such/jobs.toml");
  CHECK(x.line == 0);
  CHECK(x.column == 0);
  CHECK_THAT(x.message, Catch::StartsWith("cannot read file: "));
  CHECK_THAT(to_string(x), Catch::StartsWith("no/such/jobs.toml: error: "));
}

TEST_CASE("job file loader refuses a directory", "[config][job_file]") {
  auto result = load_job_file(data_dir);
  REQUIRE(result.errors.size() == 1);
  CHECK(result.errors[0].line == 0);
  CHECK_THAT(result.errors[0].message, Catch::Contains("directory"));
}

TEST_CASE("job file parser turns 10000 nested arrays into an error",
          "[config][job_file]") {
  std::string text = "[[job]]\nname = \"x\"\ndeep = ";
  text += std::string(10000, '[') + std::string(10000, ']') + "\n";
  auto result = parse_job_file(text, "deep.toml");
  REQUIRE(result.errors.size() == 1);
  CHECK(result.errors[0].line == 3);
  CHECK_THAT(result.errors[0].message,
             Catch::Contains("exceeded maximum nested value depth"));
}

TEST_CASE("job file parser turns 10000 nested inline tables into an error",
          "[config][job_file]") {
  std::string text = "x = ";
  for (int i = 0; i < 10000; ++i)
    text += "{ a = ";
  text += "1" + std::string(10000, '}') + "\n";
  auto result = parse_job_file(text, "deep.toml");
  REQUIRE(result.errors.size() == 1);
  CHECK(result.errors[0].line == 1);
  CHECK_THAT(result.errors[0].message,
             Catch::Contains("exceeded maximum nested value depth"));
}

TEST_CASE("job file parser turns a 100000-part dotted key into an error",
          "[config][job_file]") {
  // toml++ itself overflows the stack on this input.
  for (std::string prefix : {"", "[", "[[", "x = { "}) {
    std::string text = prefix;
    for (int i = 0; i < 100000; ++i)
      text += "a.";
    text += "b = 1\n";
    auto result = parse_job_file(text, "deep.toml");
    REQUIRE(result.errors.size() == 1);
    CHECK(result.errors[0].line == 1);
    CHECK(result.errors[0].column == prefix.size() + 130);
    CHECK_THAT(result.errors[0].message,
               Catch::Contains("key nested too deeply"));
  }
}

TEST_CASE("job file parser ignores dots inside strings and comments",
          "[config][job_file]") {
  std::string dots(1000, '.');
  // A name stays within the 320-character limit of names.
  std::string name(300, '.');
  std::string text = "# " + dots + "\n[[job]]\nname = \"" + name + "\"\n"
                     + "[[job.assessment]]\n[[job.assessment.task]]\n"
                     + "command = ['" + dots + "', \"\"\"" + dots + "\"\"\", "
                     + "'''" + dots + "''']\n";
  auto result = parse_job_file(text, "dots.toml");
  INFO(render(result.errors));
  REQUIRE(result.ok());
  CHECK(task_at(result.file, 0, 0, 0).command.argv
        == std::vector<std::string>{dots, dots, dots});
}

TEST_CASE("job file parser refuses input above the size limit",
          "[config][job_file]") {
  std::string text(max_file_size + 1, '#');
  auto result = parse_job_file(text, "huge.toml");
  REQUIRE(result.errors.size() == 1);
  CHECK(result.errors[0].line == 0);
  CHECK_THAT(result.errors[0].message, Catch::StartsWith("file too large"));
}

TEST_CASE("job file parser survives many jobs and tasks",
          "[config][job_file]") {
  std::string text;
  for (int j = 0; j < 200; ++j) {
    text += "[[job]]\nname = \"job" + std::to_string(j) + "\"\n";
    text += "[[job.assessment]]\n";
    for (int t = 0; t < 50; ++t)
      text += "[[job.assessment.task]]\ncommand = [\"true\"]\n";
  }
  auto result = parse_job_file(text, "many.toml");
  REQUIRE(result.ok());
  REQUIRE(result.file.jobs.size() == 200);
  CHECK(result.file.jobs.back().assessments.at(0).tasks.size() == 50);
}

TEST_CASE("job file loader fills every field of a complete file",
          "[config][job_file]") {
  auto path = data_dir + "/good/full.toml";
  auto result = load_job_file(path);
  INFO(render(result.errors));
  REQUIRE(result.ok());
  const auto& file = result.file;
  auto dir = fs::path{data_dir} / "good";

  CHECK(file.has_runtime);
  const auto& rt = file.runtime;
  CHECK(rt.slots == 4);
  CHECK(rt.threads == 2);
  CHECK(rt.grace == 7s);
  CHECK(rt.run_dir == normal(dir / "runs"));
  CHECK(rt.listen == "127.0.0.1:7701");
  CHECK(rt.retries == 5);
  CHECK(rt.max_running_jobs == 2);
  CHECK(rt.scheduler == "stealing");
  CHECK(rt.heartbeat_interval == 500ms);
  CHECK(rt.connection_timeout == 3s);

  REQUIRE(file.jobs.size() == 2);
  const auto& nightly = file.jobs[0];
  CHECK(nightly.name == "nightly");
  CHECK(nightly.policy.stop_on_assessment_error);
  CHECK(nightly.policy.grace == 10s);
  CHECK(nightly.policy.retries == 2);
  CHECK(nightly.policy.stop_commands_on_cancel);
  REQUIRE(nightly.assessments.size() == 2);
  CHECK(nightly.assessments[0].name == "build");
  CHECK(nightly.assessments[1].name == "verify");
  REQUIRE(nightly.assessments[0].tasks.size() == 2);

  const auto& compile = task_at(file, 0, 0, 0);
  CHECK(compile.name == "compile");
  CHECK(compile.kind == work_kind::command);
  CHECK(compile.command.argv == std::vector<std::string>{"make", "-j2"});
  CHECK(compile.command.env
        == process::environment{{"CC", "gcc"}, {"CFLAGS", "-O2 -g"}});
  CHECK(compile.command.workdir == normal(dir));
  CHECK(compile.command.stdout_path == normal(dir / "logs/compile.out"));
  CHECK(compile.command.stderr_path == "/tmp/compile.err");
  CHECK(compile.time_limit == 30min);
  CHECK(compile.stop_signal == 2);
  CHECK(compile.grace == 90s);
  CHECK_FALSE(compile.rerunnable);
  CHECK(compile.label == "linux");

  const auto& lint = task_at(file, 0, 0, 1);
  CHECK(lint.command.argv
        == std::vector<std::string>{"/bin/sh", "-c",
                                    "test -f Makefile && echo ok"});
  CHECK(lint.command.workdir == normal(dir / "src"));
  CHECK(lint.stop_signal == 1);

  const auto& checksum = task_at(file, 0, 1, 0);
  CHECK(checksum.kind == work_kind::function);
  CHECK(checksum.work == "checksum");
  CHECK(checksum.args == std::vector<std::string>{"a", "b"});
  CHECK(checksum.time_limit == 250ms);
  CHECK(checksum.command.argv.empty());

  // The second job takes its policy defaults from [runtime].
  const auto& defaults = file.jobs[1];
  CHECK(defaults.name == "defaults");
  CHECK_FALSE(defaults.policy.stop_on_assessment_error);
  CHECK(defaults.policy.grace == 7s);
  CHECK(defaults.policy.retries == 5);
  CHECK_FALSE(defaults.policy.stop_commands_on_cancel);
  CHECK(defaults.assessments.at(0).name.empty());
  const auto& plain = task_at(file, 1, 0, 0);
  CHECK(plain.name.empty());
  CHECK(plain.command.argv == std::vector<std::string>{"true"});
  CHECK(plain.command.env.empty());
  CHECK(plain.command.workdir.empty());
  CHECK(plain.command.stdout_path.empty());
  CHECK(plain.command.stderr_path.empty());
  CHECK(plain.time_limit == 0s);
  CHECK(plain.stop_signal == 15);
  CHECK(plain.grace == caf::timespan{-1});
  CHECK(plain.rerunnable);
  CHECK(plain.label.empty());
}

TEST_CASE("job file loader applies the defaults of a file without [runtime]",
          "[config][job_file]") {
  auto result = load_job_file(data_dir + "/good/minimal.toml");
  REQUIRE(result.ok());
  CHECK_FALSE(result.file.has_runtime);
  quiesce::settings defaults;
  CHECK(result.file.runtime.grace == defaults.grace);
  CHECK(result.file.runtime.run_dir == ".quiesce/runs");
  REQUIRE(result.file.jobs.size() == 1);
  const auto& job = result.file.jobs[0];
  CHECK(job.name == "smallest");
  CHECK(job.policy.grace == 5s);
  CHECK(job.policy.retries == 3);
  CHECK_FALSE(job.policy.stop_on_assessment_error);
}

TEST_CASE("job file loader takes job defaults from given runtime settings",
          "[config][job_file]") {
  quiesce::settings defaults;
  defaults.grace = 42s;
  defaults.retries = 9;
  defaults.slots = 3;
  auto result = load_job_file(data_dir + "/good/minimal.toml", defaults);
  REQUIRE(result.ok());
  CHECK(result.file.runtime.slots == 3);
  CHECK(result.file.jobs.at(0).policy.grace == 42s);
  CHECK(result.file.jobs.at(0).policy.retries == 9);
}

TEST_CASE("job file loader accepts arrays of inline tables",
          "[config][job_file]") {
  auto result = load_job_file(data_dir + "/good/inline.toml");
  INFO(render(result.errors));
  REQUIRE(result.ok());
  CHECK(result.file.jobs.at(0).name == "inline");
  CHECK(task_at(result.file, 0, 0, 0).command.argv
        == std::vector<std::string>{"echo", "hi"});
}

TEST_CASE("job file parser resolves relative paths against the file's "
          "directory",
          "[config][job_file]") {
  auto text = R"(
[runtime]
run_dir = "../runs"
[[job]]
name = "paths"
[[job.assessment]]
[[job.assessment.task]]
command = ["true"]
workdir = "./work/"
stdout = "out/../logs/a.out"
stderr = "/abs/b.err"
)";
  auto result = parse_job_file(text, "/base/dir/jobs.toml");
  INFO(render(result.errors));
  REQUIRE(result.ok());
  CHECK(result.file.runtime.run_dir == "/base/runs");
  const auto& cmd = task_at(result.file, 0, 0, 0).command;
  CHECK(cmd.workdir == "/base/dir/work");
  CHECK(cmd.stdout_path == "/base/dir/logs/a.out");
  CHECK(cmd.stderr_path == "/abs/b.err");

  // A bare file name is relative to the current directory.
  auto here = parse_job_file(text, "jobs.toml");
  REQUIRE(here.ok());
  CHECK(task_at(here.file, 0, 0, 0).command.workdir
        == normal(fs::current_path() / "work"));
}

TEST_CASE("job file parser builds a shell argv from a command string",
          "[config][job_file]") {
  auto text = R"(
[[job]]
name = "sh"
[[job.assessment]]
[[job.assessment.task]]
command = "echo 'a b' | cat"
shell = true
)";
  auto result = parse_job_file(text, "sh.toml");
  REQUIRE(result.ok());
  CHECK(task_at(result.file, 0, 0, 0).command.argv
        == std::vector<std::string>{"/bin/sh", "-c", "echo 'a b' | cat"});
}

TEST_CASE("job file parser reads the resource limits of tasks, with the "
          "job's as defaults",
          "[config][job_file][limits]") {
  auto text = R"(
[[job]]
name = "limits"
memory_max = "1G"
cpus = 2

  [[job.assessment]]
    [[job.assessment.task]]
    name = "inherits"
    command = ["true"]

    [[job.assessment.task]]
    name = "own"
    command = ["true"]
    memory_max = "512M"
    cpus = 0.2
    pids_max = 64

    [[job.assessment.task]]
    name = "bytes"
    command = ["true"]
    memory_max = 1048576

    [[job.assessment.task]]
    name = "fn"
    work = "fn"

[[job]]
name = "none"
  [[job.assessment]]
    [[job.assessment.task]]
    command = ["true"]
)";
  auto result = parse_job_file(text, "limits.toml");
  REQUIRE(result.ok());
  auto limits = [&](size_t job, size_t task) {
    return task_at(result.file, job, 0, task).command.limits;
  };
  CHECK(limits(0, 0).memory_max == (uint64_t{1} << 30));
  CHECK(limits(0, 0).cpu_millis == 2000);
  CHECK(limits(0, 0).pids_max == 0);
  CHECK(limits(0, 1).memory_max == (uint64_t{512} << 20));
  CHECK(limits(0, 1).cpu_millis == 200);
  CHECK(limits(0, 1).pids_max == 64);
  CHECK(limits(0, 2).memory_max == 1048576);
  CHECK(limits(0, 2).cpu_millis == 2000);
  CHECK_FALSE(limits(0, 3).any());
  CHECK_FALSE(limits(1, 0).any());
  auto summary = summarize(result.file);
  CHECK_THAT(summary, Catch::Contains("memory max 512M"));
  CHECK_THAT(summary, Catch::Contains("cpus 0.2"));
  CHECK_THAT(summary, Catch::Contains("pids max 64"));
}

TEST_CASE("memory sizes parse with binary suffixes and refuse the rest",
          "[config][limits]") {
  uint64_t bytes = 0;
  std::string why;
  CHECK(parse_memory_size("65536", bytes, why));
  CHECK(bytes == 65536);
  CHECK(parse_memory_size("64k", bytes, why));
  CHECK(bytes == 65536);
  CHECK(parse_memory_size("3G", bytes, why));
  CHECK(bytes == (uint64_t{3} << 30));
  CHECK(parse_memory_size("2T", bytes, why));
  CHECK(bytes == (uint64_t{2} << 40));
  for (auto bad : {"", "M", "1.5G", "-1M", "1 M", "1MB", "99999999999999999999",
                   "16777216T"}) {
    INFO(bad);
    CHECK_FALSE(parse_memory_size(bad, bytes, why));
  }
  CHECK(format_memory_size(uint64_t{512} << 20) == "512M");
  CHECK(format_memory_size(1536 * 1024) == "1536K");
  CHECK(format_memory_size(1000) == "1000");
  CHECK(format_cpus(200) == "0.2");
  CHECK(format_cpus(2000) == "2");
  CHECK(format_cpus(1250) == "1.25");
}

TEST_CASE("job file parser accepts shell = false with an argv array",
          "[config][job_file]") {
  auto text = R"(
[[job]]
name = "argv"
[[job.assessment]]
[[job.assessment.task]]
command = ["printf", "%s\n", "x"]
shell = false
)";
  auto result = parse_job_file(text, "argv.toml");
  REQUIRE(result.ok());
  CHECK(task_at(result.file, 0, 0, 0).command.argv
        == std::vector<std::string>{"printf", "%s\n", "x"});
}

TEST_CASE("job file parser reads env from a sub-table", "[config][job_file]") {
  auto text = R"(
[[job]]
name = "env"
[[job.assessment]]
[[job.assessment.task]]
command = ["env"]
[job.assessment.task.env]
LANG = "C.UTF-8"
"WITH SPACE" = ""
)";
  auto result = parse_job_file(text, "env.toml");
  INFO(render(result.errors));
  REQUIRE(result.ok());
  CHECK(task_at(result.file, 0, 0, 0).command.env
        == process::environment{{"LANG", "C.UTF-8"}, {"WITH SPACE", ""}});
}

TEST_CASE("job file parser keeps the jobs of a file in file order",
          "[config][job_file]") {
  std::string text;
  for (auto name : {"zeta", "alpha", "mid"})
    text += std::string{"[[job]]\nname = \""} + name
            + "\"\n[[job.assessment]]\n[[job.assessment.task]]\n"
              "command = [\"true\"]\n";
  auto result = parse_job_file(text, "order.toml");
  REQUIRE(result.ok());
  REQUIRE(result.file.jobs.size() == 3);
  CHECK(result.file.jobs[0].name == "zeta");
  CHECK(result.file.jobs[1].name == "alpha");
  CHECK(result.file.jobs[2].name == "mid");
}

TEST_CASE("job file loader accepts every example in examples/",
          "[config][job_file][examples]") {
  std::vector<fs::path> examples;
  for (const auto& entry : fs::directory_iterator{QUIESCE_EXAMPLES_DIR})
    if (entry.path().extension() == ".toml")
      examples.push_back(entry.path());
  std::sort(examples.begin(), examples.end());
  REQUIRE(examples.size() >= 3);
  for (const auto& path : examples) {
    DYNAMIC_SECTION(path.filename().string()) {
      auto result = load_job_file(path.string());
      INFO(render(result.errors));
      CHECK(result.ok());
      CHECK_FALSE(result.file.jobs.empty());
    }
  }
}
