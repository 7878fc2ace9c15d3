// A real `quiesce head` restarted on its state directory: jobs come back,
// ids continue, the attempts its node kept through its lease are taken over,
// and a damaged journal stops the start with an error naming the file.

#include "actors/journal.hpp"
#include "cli/exit_status.hpp"
#include "head_cluster.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <signal.h>

using namespace quiesce;
using namespace quiesce::test;
using nlohmann::json;

TEST_CASE("a head restarted on its state directory keeps its jobs, never "
          "reuses an id and takes over the attempts its node kept",
          "[durability]") {
  scratch_dir dir;
  head_cluster c{dir};
  REQUIRE(c.start_head({"--local-slots", "0"}));
  // A lease longer than any restart: the node keeps its attempts for it.
  auto& node = c.start_node("n1", 2, {"--head-lease", "60s"});
  auto done = c.submit("done.toml", job_file("done", 1, "true"));
  REQUIRE(done.size() == 1);
  REQUIRE(eventually([&] { return c.jobs()[done[0]]["status"] == "finished"; },
                     20s));
  auto busy = c.submit("busy.toml", job_file("busy", 2, "sleep 30"));
  REQUIRE(busy.size() == 1);
  REQUIRE(eventually(
      [&] {
        auto ts = c.tasks(busy[0]);
        return ts.size() == 2 && ts[0]["status"] == "running"
               && ts[1]["status"] == "running";
      },
      20s));
  auto waiting = c.submit("waiting.toml", job_file("waiting", 1, "true"));
  REQUIRE(waiting.size() == 1);
  auto before = c.jobs();
  REQUIRE(before.size() == 3);
  c.head().signal(SIGKILL);
  c.head().wait(10s);
  REQUIRE(c.start_head({"--local-slots", "0"}));
  // Every job is back with its id, name and status.
  auto after = c.jobs();
  REQUIRE(after.size() == 3);
  for (const auto& [id, j] : before) {
    CHECK(after[id]["name"] == j["name"]);
    // The waiting job may finish between the listing and the kill.
    if (id != waiting[0])
      CHECK(after[id]["status"] == j["status"]);
    CHECK(after[id]["owner"] == j["owner"]);
  }
  // Ids continue.
  auto next = c.submit("next.toml", job_file("next", 1, "true"));
  REQUIRE(next.size() == 1);
  CHECK(next[0] == waiting[0] + 1);
  // The node kept both attempts through its lease and reports them when it
  // joins the new head, which takes them over: no second attempt.
  REQUIRE(eventually(
      [&] {
        return node.output().find("reported 2 attempt(s) kept from before")
               != std::string::npos;
      },
      30s));
  auto ts = c.tasks(busy[0]);
  REQUIRE(ts.size() == 2);
  for (const auto& t : ts) {
    CHECK(t["status"] == "running");
    CHECK(t["attempts"] == 1);
    CHECK(t["node_losses"] == 0);
    CHECK(t["requeue_count"] == 0);
  }
  // The rest of the work goes on: cancelled, the job ends cancelled.
  CHECK(c.client({"terminate", "job", std::to_string(busy[0])}).status == 0);
  CHECK(eventually(
      [&] {
        auto js = c.jobs();
        return js[busy[0]]["status"] == "cancelled"
               && js[waiting[0]]["status"] == "finished"
               && js[next[0]]["status"] == "finished";
      },
      30s));
  c.head().signal(SIGKILL);
}

TEST_CASE("R16 R17 a head restarted while its node held an attempt places "
          "that task again only once the node showed it does not have it",
          "[durability][pipeline]") {
  scratch_dir dir;
  head_cluster c{dir};
  REQUIRE(c.start_head({"--local-slots", "0"}));
  auto& node
      = c.start_node("n1", 1, {"--head-lease", "60s", "--pipeline", "1"});
  // One job takes the slot; the next one's task is then held. (Two tasks of
  // one job could reach the node in either order: R14.)
  auto first = c.submit("first.toml", job_file("first", 1, "sleep 30"));
  REQUIRE(first.size() == 1);
  REQUIRE(eventually(
      [&] {
        auto ts = c.tasks(first[0]);
        return ts.size() == 1 && ts[0]["status"] == "running";
      },
      20s));
  auto second = c.submit("second.toml", job_file("second", 1, "sleep 30"));
  REQUIRE(second.size() == 1);
  REQUIRE(eventually(
      [&] {
        auto ts = c.tasks(second[0]);
        return ts.size() == 1 && ts[0]["status"] == "queued"
               && ts[0]["attempts"] == 1;
      },
      20s));
  c.head().signal(SIGKILL);
  c.head().wait(10s);
  REQUIRE(c.start_head({"--local-slots", "0"}));
  // The node kept the running attempt through its lease and dropped the
  // held one (nobody would have heard it start): it reports one.
  REQUIRE(eventually(
      [&] {
        return node.output().find("reported 1 attempt(s) kept from before")
               != std::string::npos;
      },
      30s));
  // The held task is held again under a new number once the node joined
  // without it; it never showed as running and counts no node loss.
  REQUIRE(eventually(
      [&] {
        auto ts = c.tasks(second[0]);
        return ts.size() == 1 && ts[0]["attempts"] == 2;
      },
      20s));
  auto running = c.tasks(first[0]);
  CHECK(running[0]["status"] == "running");
  CHECK(running[0]["attempts"] == 1);
  auto held = c.tasks(second[0]);
  CHECK(held[0]["status"] == "queued");
  CHECK(held[0]["node_losses"] == 0);
  for (auto id : {first[0], second[0]})
    CHECK(c.client({"terminate", "job", std::to_string(id)}).status == 0);
  CHECK(eventually(
      [&] {
        auto js = c.jobs();
        return js[first[0]]["status"] == "cancelled"
               && js[second[0]]["status"] == "cancelled";
      },
      30s));
  c.head().signal(SIGKILL);
}

TEST_CASE("a head refuses to start on a damaged journal, names it and "
          "leaves it as it was",
          "[durability]") {
  scratch_dir dir;
  head_cluster c{dir};
  REQUIRE(c.start_head({"--local-slots", "0"}));
  REQUIRE(c.submit("a.toml", job_file("a", 3, "true")).size() == 1);
  c.head().signal(SIGTERM);
  REQUIRE(c.head().wait(20s).status == 0);
  auto file = journal::file_of(c.state());
  auto size = std::filesystem::file_size(file);
  REQUIRE(size > 4096);
  std::filesystem::resize_file(file, size / 2);
  auto damaged = read_file(file);
  CHECK_FALSE(c.start_head({"--local-slots", "0"}));
  auto h = c.head().wait(20s);
  CHECK(h.status == cli::exit_runtime_error);
  CHECK_THAT(h.err, Catch::Contains(file));
  CHECK_THAT(h.err, Catch::Contains("damaged"));
  CHECK(read_file(file) == damaged);
}

TEST_CASE("a head without a state directory starts its ids at 1 again but "
          "never overwrites the output of an earlier head's job",
          "[durability]") {
  scratch_dir dir;
  head_cluster c{dir};
  auto runs = dir.path("runs");
  const std::vector<std::string> args{"--local-slots", "1", "--run-dir", runs};
  REQUIRE(c.start_head(args, false));
  auto first = c.submit("a.toml", job_file("a", 1, "echo first-head"));
  REQUIRE(first == std::vector<int>{1});
  REQUIRE(eventually([&] { return c.jobs()[1]["status"] == "finished"; }, 20s));
  c.head().signal(SIGKILL);
  c.head().wait(10s);
  REQUIRE(c.start_head(args, false));
  auto second = c.submit("b.toml", job_file("b", 1, "echo second-head"));
  REQUIRE(second == std::vector<int>{1});
  REQUIRE(eventually([&] { return c.jobs()[1]["status"] == "finished"; }, 20s));
  CHECK(read_file(runs + "/job-1/task-1.attempt-1.stdout") == "first-head\n");
  CHECK(read_file(runs + "/job-1.2/task-1.attempt-1.stdout")
        == "second-head\n");
  c.head().signal(SIGTERM);
  c.head().wait(20s);
}
