// The `quiesce` binary's argument handling, help, and `validate`.

#include "cli/exit_status.hpp"
#include "support.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace quiesce;
using namespace quiesce::cli;
using namespace quiesce::test;

namespace {

// Three errors, and a first task that would leave a marker if it ran.
const char* bad_file = R"([runtime]
slots = "four"

[[job]]
name = "bad"

  [[job.assessment]]
  name = "first"

    [[job.assessment.task]]
    name = "touch"
    command = ["touch", "MARKER"]

    [[job.assessment.task]]
    name = "typo"
    comand = ["true"]
    time_limit = "5 seconds"
)";

} // namespace

TEST_CASE("help of every command exits 0 and shows examples", "[cli][help]") {
  scratch_dir dir;
  for (auto args : std::vector<std::vector<std::string>>{
           {"--help"}, {"run", "--help"}, {"validate", "--help"}}) {
    INFO(args.front() << " " << args.back());
    auto r = run_quiesce(dir, args);
    CHECK(r.status == exit_ok);
    CHECK_THAT(r.out, Catch::Contains("Examples:"));
    CHECK_THAT(r.out, Catch::Contains("Exit status:"));
    CHECK_THAT(r.out, Catch::Contains("  quiesce "));
  }
  auto run_help = run_quiesce(dir, {"run", "--help"});
  for (auto opt : {"--runtime", "--slots", "--threads", "--run-dir", "--json",
                   "--quiet", "--no-progress", "Ctrl-C"})
    CHECK_THAT(run_help.out, Catch::Contains(opt));
}

TEST_CASE("version prints the project version", "[cli][help]") {
  scratch_dir dir;
  auto r = run_quiesce(dir, {"--version"});
  CHECK(r.status == exit_ok);
  CHECK_THAT(r.out, Catch::StartsWith("quiesce 0."));
}

TEST_CASE("bad arguments exit with the invalid-input status", "[cli][args]") {
  scratch_dir dir;
  auto good = dir.write("good.toml", "[[job]]\nname = \"j\"\n[[job.assessment]]"
                                     "\n[[job.assessment.task]]\ncommand = "
                                     "[\"touch\", \"MARKER\"]\n");
  for (auto args :
       std::vector<std::vector<std::string>>{{},
                                             {"bogus"},
                                             {"run"},
                                             {"run", good, "--slots", "-1"},
                                             {"run", good, "--threads", "many"},
                                             {"run", good, "--no-such-option"},
                                             {"validate"}}) {
    auto r = run_quiesce(dir, args);
    CHECK(r.status == exit_invalid_input);
    CHECK_FALSE(r.err.empty());
  }
  CHECK_FALSE(exists(dir.path("MARKER")));
}

TEST_CASE("run of an invalid file reports every error with line and column "
          "and runs nothing",
          "[cli][run][invalid]") {
  scratch_dir dir;
  auto file = dir.write("bad.toml", bad_file);
  auto r = run_quiesce(dir, {"run", file});
  CHECK(r.status == exit_invalid_input);
  CHECK_THAT(r.err, Catch::Contains(file + ":2:9: error:"));
  CHECK_THAT(r.err, Catch::Contains(file + ":16:5: error:"));
  CHECK_THAT(r.err, Catch::Contains("did you mean 'command'"));
  CHECK_THAT(r.err, Catch::Contains(file + ":17:18: error:"));
  CHECK(r.out.empty());
  CHECK_FALSE(exists(dir.path("MARKER")));
  CHECK_FALSE(exists(dir.path(".quiesce")));
}

TEST_CASE("run --json of an invalid file prints the errors as JSON",
          "[cli][run][invalid][json]") {
  scratch_dir dir;
  auto file = dir.write("bad.toml", bad_file);
  auto r = run_quiesce(dir, {"run", "--json", file});
  CHECK(r.status == exit_invalid_input);
  auto doc = nlohmann::json::parse(r.out);
  CHECK(doc["exit_status"] == exit_invalid_input);
  CHECK(doc["outcome"] == "invalid_input");
  CHECK(doc["jobs"].empty());
  REQUIRE(doc["errors"].size() == 3);
  CHECK(doc["errors"][0]["line"] == 2);
  CHECK(doc["errors"][0]["column"] == 9);
  CHECK_FALSE(exists(dir.path("MARKER")));
}

TEST_CASE("run of a missing file or a bad runtime file exits 2",
          "[cli][run][invalid]") {
  scratch_dir dir;
  auto missing = run_quiesce(dir, {"run", dir.path("nope.toml")});
  CHECK(missing.status == exit_invalid_input);
  CHECK_THAT(missing.err, Catch::Contains("nope.toml: error:"));
  auto good = dir.write("good.toml", "[[job]]\nname = \"j\"\n[[job.assessment]]"
                                     "\n[[job.assessment.task]]\ncommand = "
                                     "[\"touch\", \"MARKER\"]\n");
  auto rt = dir.write("rt.toml", "[runtime]\nslots = -3\n");
  auto bad_rt = run_quiesce(dir, {"run", "--runtime", rt, good});
  CHECK(bad_rt.status == exit_invalid_input);
  CHECK_THAT(bad_rt.err, Catch::Contains(rt + ":2:9: error:"));
  CHECK_FALSE(exists(dir.path("MARKER")));
}

TEST_CASE("run refuses work-function tasks, which the command cannot run",
          "[cli][run][invalid]") {
  scratch_dir dir;
  auto file = dir.write("work.toml",
                        "[[job]]\nname = \"j\"\n[[job.assessment]]\n"
                        "[[job.assessment.task]]\ncommand = [\"touch\", "
                        "\"MARKER\"]\n[[job.assessment.task]]\nname = \"sum\""
                        "\nwork = \"checksum\"\n");
  auto r = run_quiesce(dir, {"run", file});
  CHECK(r.status == exit_invalid_input);
  CHECK_THAT(r.err, Catch::Contains("work function 'checksum'"));
  CHECK_FALSE(exists(dir.path("MARKER")));
  auto v = run_quiesce(dir, {"validate", file});
  CHECK(v.status == exit_ok);
  CHECK_THAT(v.err, Catch::Contains("note: "));
}

TEST_CASE("validate prints what every example would run", "[cli][validate]") {
  scratch_dir dir;
  for (auto name : {"nightly", "batch", "cancellation"}) {
    auto r
        = run_quiesce(dir, {"validate", examples_dir + "/" + name + ".toml"});
    CHECK(r.status == exit_ok);
    CHECK(r.err.empty());
    CHECK_FALSE(r.out.empty());
  }
  auto nightly = run_quiesce(dir, {"validate", examples_dir + "/nightly.toml"});
  for (auto word : {"nightly", "build", "unit", "integration", "report",
                    "compile", "round-trip"})
    CHECK_THAT(nightly.out, Catch::Contains(word));
  CHECK_FALSE(exists(dir.path(".quiesce")));
}

TEST_CASE("validate of a bad file prints every error and exits 2",
          "[cli][validate]") {
  scratch_dir dir;
  auto file = dir.write("bad.toml", bad_file);
  auto r = run_quiesce(dir, {"validate", file});
  CHECK(r.status == exit_invalid_input);
  CHECK(r.out.empty());
  auto lines = std::count(r.err.begin(), r.err.end(), '\n');
  CHECK(lines == 3);
  CHECK_THAT(r.err, Catch::Contains(file + ":2:9: error:"));
}

TEST_CASE("validate --json reports the jobs or the errors", "[cli][validate]") {
  scratch_dir dir;
  auto ok
      = run_quiesce(dir, {"validate", "--json", examples_dir + "/batch.toml"});
  CHECK(ok.status == exit_ok);
  auto doc = nlohmann::json::parse(ok.out);
  CHECK(doc["valid"] == true);
  CHECK(doc["runtime"]["slots"] == 4);
  // The address `quiesce head` listens on without a runtime file saying
  // otherwise.
  CHECK(doc["runtime"]["listen"] == "127.0.0.1:7700");
  CHECK_FALSE(doc["runtime"].contains("nodes"));
  REQUIRE(doc["jobs"].size() == 1);
  CHECK(doc["jobs"][0]["name"] == "batch");
  CHECK(doc["jobs"][0]["assessments"][0]["tasks"].size() == 12);
  auto file = dir.write("bad.toml", bad_file);
  auto bad = run_quiesce(dir, {"validate", "--json", file});
  CHECK(bad.status == exit_invalid_input);
  auto bdoc = nlohmann::json::parse(bad.out);
  CHECK(bdoc["valid"] == false);
  CHECK(bdoc["errors"].size() == 3);
}

TEST_CASE("validate prints the listen address a head really uses",
          "[cli][validate][settings]") {
  scratch_dir dir;
  auto file = examples_dir + "/batch.toml";
  auto plain = run_quiesce(dir, {"validate", file});
  CHECK(plain.status == exit_ok);
  CHECK_THAT(plain.out, Catch::Contains("  listen 127.0.0.1:7700, "));
  auto rt = dir.write("rt.toml", "[runtime]\nlisten = \"0.0.0.0:7800\"\n");
  auto site = run_quiesce(dir, {"validate", "--runtime", rt, file});
  CHECK(site.status == exit_ok);
  CHECK_THAT(site.out, Catch::Contains("  listen 0.0.0.0:7800, "));
}
