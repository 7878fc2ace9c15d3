// History with retention through real `quiesce` processes: a head retires a
// terminal job from its memory after `--job-retention` and, with a state
// directory, `status`, `list tasks` and `list jobs --all` read it from the
// journal exactly as they read it before; without one, `status` says the job
// was retired. Retention 0 retires a job within the message that settles it,
// before `quiesce wait` gets its answer, so nothing here waits on a clock;
// without a journal a `wait` may come too late, so that test polls `status`.

#include "head_cluster.hpp"

#include <catch2/catch.hpp>

#include <signal.h>

using namespace quiesce;
using namespace quiesce::test;
using nlohmann::json;

TEST_CASE("a retired job answers status, list tasks and list jobs --all from "
          "the journal as it answered from memory",
          "[durability][history]") {
  scratch_dir dir;
  head_cluster c{dir};
  REQUIRE(c.start_head({"--local-slots", "2", "--job-retention", "1h"}));
  auto ids = c.submit("two.toml", job_file("two", 2, "echo out; exit 0"));
  REQUIRE(ids.size() == 1);
  auto id = std::to_string(ids[0]);
  REQUIRE(c.client({"wait", id}).status == 0);
  // In memory (retention 1h): what the queries answer.
  auto status = c.client_json({"status", id});
  auto tasks = c.client_json({"list", "tasks", id});
  auto listing = c.client_json({"list", "jobs", "--all"});
  REQUIRE(status["job"]["status"] == "finished");
  REQUIRE(listing["jobs"].size() == 1);
  CHECK(c.client_json({"list", "jobs"})["jobs"] == listing["jobs"]);
  auto cancel = c.client({"cancel", "job", id});
  CHECK(cancel.status != 0);
  c.head().signal(SIGTERM);
  REQUIRE(c.head().wait(20s).status == 0);
  // Again on the same journal, retention 0: the job stays in the journal.
  REQUIRE(c.start_head({"--local-slots", "2", "--job-retention", "0s"}));
  CHECK(c.client_json({"list", "jobs"})["jobs"].empty());
  CHECK(c.client_json({"list", "jobs", "--all"})["jobs"] == listing["jobs"]);
  CHECK(c.client_json({"status", id}) == status);
  CHECK(c.client_json({"list", "tasks", id}) == tasks);
  // A change is refused as it was for the job in memory.
  auto again = c.client({"cancel", "job", id});
  CHECK(again.status == cancel.status);
  CHECK(again.out == cancel.out);
  // A new job: the next id, retired as soon as `wait` has its answer.
  auto next = c.submit("one.toml", job_file("one", 1, "true"));
  REQUIRE(next == std::vector<int>{ids[0] + 1});
  REQUIRE(c.client({"wait", std::to_string(next[0])}).status == 0);
  CHECK(c.client_json({"list", "jobs"})["jobs"].empty());
  CHECK(c.client_json({"status", std::to_string(next[0])})["job"]["status"]
        == "finished");
  // Paged: the newest first; the output names the next page.
  auto page = c.client_json({"list", "jobs", "--all", "--limit", "1"});
  REQUIRE(page["jobs"].size() == 1);
  CHECK(page["jobs"][0]["id"] == next[0]);
  CHECK(page["more"] == true);
  CHECK(page["before"] == next[0]);
  auto human = c.client({"list", "jobs", "--all", "--limit", "1"});
  CHECK(human.status == 0);
  CHECK_THAT(human.out,
             Catch::Contains("more: quiesce list jobs --all --before "
                             + std::to_string(next[0])));
  auto rest = c.client_json(
      {"list", "jobs", "--all", "--before", std::to_string(next[0])});
  REQUIRE(rest["jobs"].size() == 1);
  CHECK(rest["jobs"][0] == listing["jobs"][0]);
  CHECK(rest["more"] == false);
  c.head().signal(SIGTERM);
  c.head().wait(20s);
}

TEST_CASE("without a state directory a retired job is gone and status says "
          "it was retired",
          "[durability][history]") {
  scratch_dir dir;
  head_cluster c{dir};
  REQUIRE(c.start_head({"--local-slots", "1", "--job-retention", "0s"}, false));
  auto ids = c.submit("one.toml", job_file("one", 1, "true"));
  REQUIRE(ids.size() == 1);
  auto id = std::to_string(ids[0]);
  // The job may end (and leave memory) before a `wait` could ask for it.
  exit_info status;
  REQUIRE(eventually(
      [&] {
        status = c.client({"status", id});
        return status.out.find("retired") != std::string::npos;
      },
      20s));
  auto never = c.client({"status", "99"});
  CHECK(status.status != 0);
  CHECK(status.status == never.status); // both job_not_found
  CHECK_THAT(status.out, Catch::Contains("job_not_found")
                             && Catch::Contains("--state-dir"));
  CHECK_THAT(never.out, Catch::Contains("no job 99"));
  auto tasks = c.client({"list", "tasks", id});
  CHECK(tasks.status == never.status);
  CHECK_THAT(tasks.out, Catch::Contains("retired"));
  auto waited = c.client({"wait", id});
  CHECK(waited.status == c.client({"wait", "99"}).status);
  CHECK_THAT(waited.out, Catch::Contains("retired"));
  CHECK(c.client_json({"list", "jobs", "--all"})["jobs"].empty());
  c.head().signal(SIGTERM);
  c.head().wait(20s);
}

TEST_CASE("a head retires a job once its retention age passed, on its own "
          "timer, and reads it from the journal afterwards",
          "[durability][history]") {
  scratch_dir dir;
  head_cluster c{dir};
  REQUIRE(c.start_head({"--local-slots", "1", "--job-retention", "1s"}));
  auto ids = c.submit("one.toml", job_file("one", 1, "true"));
  REQUIRE(ids.size() == 1);
  auto id = std::to_string(ids[0]);
  REQUIRE(c.client({"wait", id}).status == 0);
  auto status = c.client_json({"status", id});
  REQUIRE(status["job"]["status"] == "finished");
  // Queries change nothing and do not retire: only the head's retire
  // timer can take the job out of memory here.
  CHECK(eventually([&] { return c.jobs().empty(); }, 20s));
  CHECK(c.client_json({"status", id}) == status);
  CHECK(c.client_json({"list", "jobs", "--all"})["jobs"].size() == 1);
  c.head().signal(SIGTERM);
  c.head().wait(20s);
}
