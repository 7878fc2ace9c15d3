// SIGKILL a real head at random points while clients submit and cancel jobs,
// restart it on its state directory, and check after every restart that no
// acknowledged job was lost or changed its id, that acknowledged cancels
// held, and at the end that the journal's change history of every entity is
// a chain of edges the rules allow (so no task has two terminal statuses).
//
// QUIESCE_CRASH_KILLS sets the number of kills (default 50; the soak runs
// 500: QUIESCE_CRASH_KILLS=500 ctest -R crash).

#include "actors/journal.hpp"
#include "head_cluster.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <signal.h>
#include <sqlite3.h>
#include <tuple>

using namespace quiesce;
using namespace quiesce::test;
using nlohmann::json;

namespace {

int kills_wanted() {
  const char* text = std::getenv("QUIESCE_CRASH_KILLS");
  return text != nullptr && std::atoi(text) > 0 ? std::atoi(text) : 50;
}

// The status edges docs/semantics.md allows, by kind, as names (the journal
// keeps names); tests/reliability/support.hpp has the same list by type.
const std::set<std::tuple<std::string, std::string, std::string>>& edges() {
  static const std::set<std::tuple<std::string, std::string, std::string>> out{
      {"job", "not_submitted", "queued"},
      {"job", "not_submitted", "cancelled"},
      {"job", "queued", "cancelled"},
      {"job", "queued", "running"},
      {"job", "running", "cancelling"},
      {"job", "running", "cancelled"},
      {"job", "running", "finished"},
      {"job", "running", "failed"},
      {"job", "cancelling", "cancelled"},
      {"job", "failed", "queued"},
      {"job", "cancelled", "queued"},
      {"assessment", "not_yet_run", "running"},
      {"assessment", "running", "running"},
      {"assessment", "running", "completed"},
      {"assessment", "completed", "not_yet_run"},
      {"task", "not_submitted", "queued"},
      {"task", "not_submitted", "cancelled"},
      {"task", "queued", "running"},
      {"task", "queued", "cancelled"},
      {"task", "running", "finished"},
      {"task", "running", "failed"},
      {"task", "running", "cancelled"},
      {"task", "running", "queued"},
      {"task", "failed", "queued"},
      {"task", "cancelled", "queued"},
  };
  return out;
}

// Checks the journal at `file`: each entity's changes, in order, chain and
// follow allowed edges; its final record matches its last change. Returns
// the problems found (at most 20).
std::vector<std::string> check_journal(const std::string& file,
                                       size_t& changes) {
  std::vector<std::string> problems;
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr)
          == SQLITE_OK);
  auto rows = [&](const char* sql, auto fn) {
    sqlite3_stmt* st = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW)
      fn(st);
    sqlite3_finalize(st);
  };
  auto text = [](sqlite3_stmt* st, int col) {
    auto p = sqlite3_column_text(st, col);
    return p ? std::string{reinterpret_cast<const char*>(p)} : std::string{};
  };
  using key = std::tuple<int64_t, std::string, int64_t>;
  std::map<key, std::string> last;
  changes = 0;
  rows("SELECT job, kind, subject, from_status, to_status, seq FROM changes "
       "ORDER BY seq",
       [&](sqlite3_stmt* st) {
         ++changes;
         key k{sqlite3_column_int64(st, 0), text(st, 1),
               sqlite3_column_int64(st, 2)};
         auto from = text(st, 3);
         auto to = text(st, 4);
         auto where = "change " + std::to_string(sqlite3_column_int64(st, 5))
                      + " of job " + std::to_string(std::get<0>(k)) + " "
                      + std::get<1>(k) + " " + std::to_string(std::get<2>(k))
                      + ": " + from + " -> " + to;
         if (edges().count({std::get<1>(k), from, to}) == 0
             && problems.size() < 20)
           problems.push_back("disallowed " + where);
         auto i = last.find(k);
         auto before = i == last.end()
                           ? (std::get<1>(k) == "assessment" ? "not_yet_run"
                                                             : "not_submitted")
                           : i->second;
         if (before != from && problems.size() < 20)
           problems.push_back("broken chain (was " + before + ") at " + where);
         last[k] = to;
       });
  rows("SELECT id, status FROM jobs", [&](sqlite3_stmt* st) {
    key k{sqlite3_column_int64(st, 0), "job", 0};
    auto status = text(st, 1);
    auto i = last.find(k);
    auto expected = i == last.end() ? std::string{"not_submitted"} : i->second;
    if (expected != status && problems.size() < 20)
      problems.push_back("job " + std::to_string(std::get<0>(k)) + " is "
                         + status + ", its last change says " + expected);
  });
  rows("SELECT job, id, status FROM tasks", [&](sqlite3_stmt* st) {
    key k{sqlite3_column_int64(st, 0), "task", sqlite3_column_int64(st, 1)};
    auto status = text(st, 2);
    auto i = last.find(k);
    auto expected = i == last.end() ? std::string{"not_submitted"} : i->second;
    if (expected != status && problems.size() < 20)
      problems.push_back("task " + std::to_string(std::get<2>(k)) + " of job "
                         + std::to_string(std::get<0>(k)) + " is " + status
                         + ", its last change says " + expected);
  });
  sqlite3_close(db);
  return problems;
}

} // namespace

TEST_CASE("a head killed with SIGKILL at random points loses no "
          "acknowledged work and keeps a consistent journal",
          "[durability][crash]") {
  scratch_dir dir;
  head_cluster c{dir};
  const int kills = kills_wanted();
  std::mt19937 rng{static_cast<unsigned>(kills) * 7919u};
  // Acknowledged by the head: job id -> name, and jobs whose cancel was ok.
  std::map<int, std::string> acked;
  std::set<int> cancelled;
  std::mutex mtx;
  int max_id = 0;
  size_t reused = 0;
  size_t lost = 0;
  size_t renamed = 0;
  size_t uncancelled = 0;
  const std::vector<std::string> head_args{"--local-slots", "2"};
  REQUIRE(c.start_head(head_args));
  for (int round = 0; round < kills; ++round) {
    // The client: submits and cancels until the head is gone.
    std::atomic<bool> stop{false};
    std::atomic<int> acked_now{0};
    std::thread client{[&, round] {
      std::mt19937 local{static_cast<unsigned>(round) + 1u};
      for (int n = 0; !stop; ++n) {
        auto name = "r" + std::to_string(round) + "-" + std::to_string(n);
        auto tasks = 1 + static_cast<int>(local() % 3);
        auto body
            = local() % 2 == 0 ? std::string{"true"} : std::string{"sleep 0.2"};
        auto ids = c.submit("job-" + name + ".toml",
                            job_file(name, tasks, body), 5s);
        if (ids.empty())
          continue; // not acknowledged (the head may be gone)
        {
          std::lock_guard<std::mutex> guard{mtx};
          for (auto id : ids) {
            if (acked.count(id) > 0 || id <= max_id)
              ++reused;
            acked[id] = name;
            max_id = std::max(max_id, id);
          }
        }
        ++acked_now;
        if (local() % 3 == 0) {
          auto doc
              = c.client_json({"cancel", "job", std::to_string(ids[0])}, 5s);
          if (doc.is_object() && doc.contains("code") && doc["code"] == "ok") {
            std::lock_guard<std::mutex> guard{mtx};
            cancelled.insert(ids[0]);
          }
        }
      }
    }};
    // Each round kills a head that has acknowledged work: first wait
    // (bounded) for one acknowledged job of this round, since a slow start
    // (a sanitizer build, a loaded machine) can take longer than the random
    // delay, then kill at a random point within the next 400 ms.
    for (int i = 0; i < 600 && acked_now == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds{100});
    std::this_thread::sleep_for(std::chrono::milliseconds{rng() % 400});
    c.head().signal(SIGKILL);
    c.head().wait(10s);
    stop = true;
    client.join();
    REQUIRE(c.start_head(head_args));
    // Every acknowledged job is there, under its id and name; every
    // acknowledged cancel held.
    auto jobs = c.jobs();
    std::lock_guard<std::mutex> guard{mtx};
    for (const auto& [id, name] : acked) {
      auto i = jobs.find(id);
      if (i == jobs.end()) {
        ++lost;
        continue;
      }
      if (i->second["name"] != name)
        ++renamed;
      if (cancelled.count(id) > 0) {
        auto st = i->second["status"].get<std::string>();
        if (st != "cancelling" && st != "cancelled")
          ++uncancelled;
      }
    }
  }
  c.head().signal(SIGKILL);
  c.head().wait(10s);
  INFO(kills << " kills, " << acked.size() << " acknowledged jobs");
  CHECK(acked.size() >= static_cast<size_t>(kills));
  CHECK(lost == 0);
  CHECK(reused == 0);
  CHECK(renamed == 0);
  CHECK(uncancelled == 0);
  size_t changes = 0;
  auto problems = check_journal(journal::file_of(c.state()), changes);
  INFO(changes << " changes in the journal");
  for (const auto& p : problems)
    UNSCOPED_INFO(p);
  CHECK(problems.empty());
  CHECK(changes > 0);
}
