// The journal (actors/journal.hpp) on a real SQLite file: what the books
// flush comes back after a reopen, ids continue, and a damaged file is
// refused with its name and left as it was.

#include "actors/books.hpp"
#include "actors/journal.hpp"
#include "sqlite_read.hpp"
#include "support.hpp"
#include "support/specs.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sqlite3.h>

using namespace quiesce;
using namespace quiesce::test;

namespace {

const caf::timestamp t0{caf::timespan{1'000'000'000}};

// Submits and starts the job of `b` and dispatches its first task to node
// "n1" as the supervisor does.
void run_first_task(books& bk, job_books& b) {
  for (const auto& c : decide(b, submit_job{b.job.id, "alice"}).changes)
    bk.commit(b, c, t0, "alice");
  for (const auto& c : start(b).changes)
    bk.commit(b, c, t0);
  bk.commit(b, task_change(1, task_status::queued, task_status::running), t0,
            "n1");
  bk.begin_attempt(b, b.tasks[0], "n1");
}

// Writes a journal with one running job (3 tasks, the first one running), a
// finished job and a job not yet submitted; closes it.
void write_sample(const std::string& dir) {
  journal j{dir};
  books bk;
  bk.track();
  auto spec = uniform_job({2, 1}, cmd_task({"true"}, "t"), "nightly");
  spec.policy.retries = 4;
  spec.assessments[0].tasks[0].command.limits = {uint64_t{1} << 30, 500, 32};
  auto id = bk.add_job(std::move(spec), "alice", t0);
  run_first_task(bk, *bk.find(id));
  bk.flush(j);
  auto done = bk.add_job(uniform_job({1}, fn_task("ok")), "bob", t0);
  auto& d = *bk.find(done);
  run_first_task(bk, d);
  attempt_ended end;
  end.key = attempt_key{done, 1, 1};
  end.exit_code = 0;
  end.node = "n1";
  end.cpu_time = std::chrono::milliseconds{250};
  end.peak_memory = uint64_t{3} << 20;
  REQUIRE(bk.end_attempt(d, end));
  for (const auto& c : decide(d, end).changes)
    bk.commit(d, c, t0, "n1");
  for (auto step = advance(d); !step.changes.empty(); step = advance(d))
    for (const auto& c : step.changes)
      bk.commit(d, c, t0);
  REQUIRE(d.job.status == job_status::finished);
  bk.add_job(uniform_job({1}, cmd_task({"echo", "hi"}, "x")), "carol", t0);
  bk.flush(j);
  CHECK_FALSE(bk.dirty());
}

std::string bytes_of(const std::string& path) {
  return read_file(path);
}

} // namespace

TEST_CASE("the journal gives back what the books flushed", "[durability]") {
  scratch_dir dir;
  auto state = dir.path("state");
  write_sample(state);
  auto file = journal::file_of(state);
  // A plain SQL database a user can query.
  CHECK(count(file, "SELECT count(*) FROM jobs") == 3);
  CHECK(count(file, "SELECT count(*) FROM tasks") == 5);
  CHECK(count(file, "SELECT count(*) FROM jobs WHERE status = 'finished'")
        == 1);
  CHECK(count(file, "SELECT count(*) FROM changes WHERE who = 'n1' AND "
                    "to_status = 'running' AND kind = 'task'")
        == 2);
  journal j{state};
  auto got = j.load();
  // Ids are never handed out again.
  CHECK(got.next_job == 4);
  CHECK(static_cast<int64_t>(got.seq)
        == count(file, "SELECT max(seq) FROM changes"));
  REQUIRE(got.jobs.size() == 3);
  const auto& b = got.jobs[0];
  CHECK(b.job.id == 1);
  CHECK(b.job.name == "nightly");
  CHECK(b.job.owner == "alice");
  CHECK(b.job.status == job_status::running);
  CHECK(b.job.current == 0);
  CHECK(b.job.policy.retries == 4);
  CHECK(b.job.created == t0);
  REQUIRE(b.job.assessments.size() == 2);
  CHECK(b.job.assessments[0].status == assessment_status::running);
  CHECK(b.job.assessments[0].tasks == std::vector<task_id>{1, 2});
  CHECK(b.job.assessments[1].tasks == std::vector<task_id>{3});
  REQUIRE(b.tasks.size() == 3);
  CHECK(b.tasks[0].status == task_status::running);
  CHECK(b.tasks[0].attempts == 1);
  CHECK(b.tasks[0].node == "n1");
  CHECK(b.tasks[0].spec.command.argv == std::vector<std::string>{"true"});
  CHECK(b.tasks[0].spec.command.limits.memory_max == uint64_t{1} << 30);
  CHECK(b.tasks[0].spec.command.limits.cpu_millis == 500);
  CHECK(b.tasks[0].spec.command.limits.pids_max == 32);
  CHECK(b.tasks[1].status == task_status::queued);
  CHECK(got.jobs[1].job.id == 2);
  CHECK(got.jobs[1].job.status == job_status::finished);
  CHECK(got.jobs[1].tasks.at(0).exit_code == 0);
  CHECK(got.jobs[1].tasks.at(0).cpu_time == std::chrono::milliseconds{250});
  CHECK(got.jobs[1].tasks.at(0).peak_memory == uint64_t{3} << 20);
  CHECK(got.jobs[2].job.id == 3);
  CHECK(got.jobs[2].job.status == job_status::not_submitted);
  // Restored books count the running attempt as live and continue the ids.
  books bk;
  bk.restore(std::move(got));
  CHECK(bk.find(1)->live.at(1) == 1);
  CHECK(bk.find(2)->live.empty());
  CHECK(bk.add_job(uniform_job({1}, cmd_task({"true"})), "dave", t0) == 4);
}

TEST_CASE("the journal loads terminal jobs only within the retention age and "
          "reads older ones one at a time or newest first",
          "[durability][history]") {
  scratch_dir dir;
  auto state = dir.path("state");
  write_sample(state);
  journal j{state};
  // Job 2 (finished at t0) is older than the age: left on disk.
  auto got = j.load(t0 + std::chrono::seconds{1});
  CHECK(got.next_job == 4);
  REQUIRE(got.jobs.size() == 2);
  CHECK(got.jobs[0].job.id == 1);
  CHECK(got.jobs[0].tasks.size() == 3);
  CHECK(got.jobs[1].job.id == 3);
  CHECK(j.load(t0).jobs.size() == 3);
  // One job back, with or without its task records.
  job_books b;
  REQUIRE(j.find_job(2, true, b));
  CHECK(b.job.status == job_status::finished);
  CHECK(b.job.owner == "bob");
  REQUIRE(b.tasks.size() == 1);
  CHECK(b.tasks[0].peak_memory == uint64_t{3} << 20);
  CHECK(b.job.assessments.at(0).tasks == std::vector<task_id>{1});
  job_books light;
  REQUIRE(j.find_job(1, false, light));
  CHECK(light.tasks.empty());
  CHECK(light.job.assessments.at(0).tasks == std::vector<task_id>{1, 2});
  CHECK(light.job.assessments.at(1).tasks == std::vector<task_id>{3});
  job_books none;
  CHECK_FALSE(j.find_job(9, true, none));
  // Newest first, below a bound, optionally in one status.
  std::vector<job_id> seen;
  auto collect = [&](job_record& r) {
    seen.push_back(r.id);
    return true;
  };
  j.scan_jobs(invalid_id, nullptr, collect);
  CHECK(seen == std::vector<job_id>{3, 2, 1});
  seen.clear();
  j.scan_jobs(3, nullptr, collect);
  CHECK(seen == std::vector<job_id>{2, 1});
  seen.clear();
  auto finished = job_status::finished;
  j.scan_jobs(invalid_id, &finished, collect);
  CHECK(seen == std::vector<job_id>{2});
  seen.clear();
  j.scan_jobs(invalid_id, nullptr, [&](job_record& r) {
    seen.push_back(r.id);
    return false;
  });
  CHECK(seen == std::vector<job_id>{3});
}

TEST_CASE("a damaged journal is refused with its name and left as it was",
          "[durability]") {
  scratch_dir dir;
  auto state = dir.path("state");
  write_sample(state);
  auto file = journal::file_of(state);
  auto intact = bytes_of(file);
  REQUIRE(intact.size() > 4096);
  auto refused = [&](const std::string& why) {
    auto before = bytes_of(file);
    try {
      journal j{state};
      FAIL("a damaged journal was opened: " << why);
    } catch (const journal_error& e) {
      INFO(why);
      CHECK_THAT(e.what(), Catch::StartsWith(file));
    }
    CHECK(bytes_of(file) == before);
  };
  SECTION("truncated") {
    std::filesystem::resize_file(file, intact.size() / 2);
    refused("truncated to half");
  }
  SECTION("truncated to nothing") {
    std::filesystem::resize_file(file, 0);
    refused("empty");
  }
  SECTION("overwritten in the middle") {
    auto text = intact;
    for (size_t i = 4096; i < text.size() && i < 4096 + 2048; ++i)
      text[i] = static_cast<char>(0x5a);
    std::ofstream{file, std::ios::binary | std::ios::trunc} << text;
    refused("garbage in the second page");
  }
  SECTION("not a database") {
    std::ofstream{file, std::ios::binary | std::ios::trunc}
        << "this is not an SQLite file, not at all, no";
    refused("text");
  }
  SECTION("another program's database") {
    std::filesystem::remove(file);
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "CREATE TABLE x (y); INSERT INTO x VALUES (1)",
                         nullptr, nullptr, nullptr)
            == SQLITE_OK);
    sqlite3_close(db);
    refused("no meta table");
  }
}

TEST_CASE("a state directory that cannot be created is an error naming it",
          "[durability]") {
  scratch_dir dir;
  dir.write("plain", "a file, not a directory");
  try {
    journal j{dir.path("plain/state")};
    FAIL("a journal was opened under a file");
  } catch (const journal_error& e) {
    CHECK_THAT(e.what(), Catch::Contains(dir.path("plain/state")));
  }
}

TEST_CASE("a journal keeps each node's output directory of a job, and a "
          "version 2 journal is migrated to hold them",
          "[durability][output]") {
  scratch_dir dir;
  auto state = dir.path("state");
  write_sample(state);
  auto file = journal::file_of(state);
  SECTION("a version 2 journal (before output directories) opens migrated") {
    // What a head of the previous version left: no table, version 2.
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db,
                         "DROP TABLE output_dirs; UPDATE meta SET value = 2 "
                         "WHERE key = 'schema_version'",
                         nullptr, nullptr, nullptr)
            == SQLITE_OK);
    sqlite3_close(db);
    CHECK(count(file, "SELECT value FROM meta WHERE key = 'schema_version'")
          == 2);
  }
  {
    journal j{state};
    CHECK(count(file, "SELECT value FROM meta WHERE key = 'schema_version'")
          == 3);
    auto got = j.load();
    REQUIRE(got.jobs.size() == 3);
    // Nothing was reported yet: the jobs, tasks and changes are all there.
    CHECK(got.jobs[0].job.output_dirs.empty());
    CHECK(got.jobs[0].tasks.size() == 3);
    books bk;
    bk.restore(std::move(got));
    bk.track();
    auto& b = *bk.find(1);
    // Task 1's attempt 1 runs on n1 (write_sample): its node reports.
    CHECK(bk.set_output_dir(b, attempt_output{{1, 1, 1}, "/runs/job-1/", 7}));
    // A report for another attempt, or a task that never ran, changes
    // nothing.
    CHECK_FALSE(bk.set_output_dir(b, attempt_output{{1, 1, 2}, "/x/", 7}));
    CHECK_FALSE(bk.set_output_dir(b, attempt_output{{1, 2, 1}, "/x/", 7}));
    REQUIRE(b.job.output_dirs.size() == 1);
    CHECK(b.job.output_dirs[0].node == "n1");
    CHECK(b.job.output_dirs[0].dir == "/runs/job-1/");
    bk.flush(j);
    // The node chose again (it restarted): the directory is replaced.
    CHECK(bk.set_output_dir(b, attempt_output{{1, 1, 1}, "/runs/job-1.2/", 9}));
    bk.flush(j);
    CHECK(count(file, "SELECT count(*) FROM output_dirs") == 1);
  }
  journal j{state};
  auto got = j.load();
  REQUIRE(got.jobs.size() == 3);
  REQUIRE(got.jobs[0].job.output_dirs.size() == 1);
  CHECK(got.jobs[0].job.output_dirs[0].node == "n1");
  CHECK(got.jobs[0].job.output_dirs[0].dir == "/runs/job-1.2/");
  CHECK(got.jobs[1].job.output_dirs.empty());
  // Read one at a time, as for a retired job.
  job_books one;
  REQUIRE(j.find_job(1, true, one));
  REQUIRE(one.job.output_dirs.size() == 1);
  CHECK(one.job.output_dirs[0].dir == "/runs/job-1.2/");
  auto paths = output_paths_of(one.job, one.tasks[0]);
  CHECK(paths.stdout_path == "/runs/job-1.2/task-1.attempt-1.stdout");
  CHECK(paths.stderr_path == "/runs/job-1.2/task-1.attempt-1.stderr");
  // Task 2 never started: no paths.
  CHECK(output_paths_of(one.job, one.tasks[1]).stdout_path.empty());
}

TEST_CASE("a journal of an unknown schema version is refused, naming both",
          "[durability][output]") {
  scratch_dir dir;
  auto state = dir.path("state");
  write_sample(state);
  auto file = journal::file_of(state);
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db,
                       "UPDATE meta SET value = 1 WHERE key = "
                       "'schema_version'",
                       nullptr, nullptr, nullptr)
          == SQLITE_OK);
  sqlite3_close(db);
  auto before = bytes_of(file);
  try {
    journal j{state};
    FAIL("a version 1 journal was opened");
  } catch (const journal_error& e) {
    CHECK_THAT(e.what(), Catch::Contains("has schema version 1, this head "
                                         "reads 3"));
  }
  CHECK(bytes_of(file) == before);
}
