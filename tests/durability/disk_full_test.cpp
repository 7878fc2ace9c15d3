// A journal on a full disk (docs/durability.md, "What survives what"): the
// state directory is a small tmpfs of its own, filled up by a file. The head
// (an embedded runtime: the supervisor and its journal, in this process)
// refuses new work with `unavailable` and a detail naming the journal and
// SQLite's error, keeps nothing of an add_job it refused, loses nothing it
// acknowledged, and serves again once the file is gone. Needs the right to
// mount (root or CAP_SYS_ADMIN); without it the test says SKIP and passes.

#include "actors/journal.hpp"
#include "runtime/runtime.hpp"
#include "sqlite_read.hpp"
#include "support.hpp"
#include "support/specs.hpp"

#include <catch2/catch.hpp>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <set>
#include <sqlite3.h>
#include <string>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

using namespace quiesce;
using namespace quiesce::test;
using namespace std::chrono_literals;

namespace {

// A tmpfs of `size` mounted on `path` (created), unmounted when it goes out
// of scope, whatever happened in between.
struct tmpfs_mount {
  std::string path;
  bool mounted = false;
  std::string why;

  tmpfs_mount(std::string dir, const std::string& size) : path(std::move(dir)) {
    ::mkdir(path.c_str(), 0700);
    auto data = "size=" + size + ",mode=0700";
    if (::mount("tmpfs", path.c_str(), "tmpfs", 0, data.c_str()) == 0)
      mounted = true;
    else
      why = std::strerror(errno);
  }

  ~tmpfs_mount() {
    if (mounted)
      ::umount2(path.c_str(), MNT_DETACH);
  }

  tmpfs_mount(const tmpfs_mount&) = delete;
  tmpfs_mount& operator=(const tmpfs_mount&) = delete;
};

// Writes `file` until its file system has no byte left; returns the errno
// of the write that failed (ENOSPC when it filled up).
int fill(const std::string& file) {
  auto fd = ::open(file.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0600);
  if (fd < 0)
    return errno;
  std::vector<char> block(1 << 16, 'x');
  int err = 0;
  // Big blocks first, then single bytes for the last partial block.
  for (size_t size : {block.size(), size_t{1}}) {
    for (;;) {
      auto n = ::write(fd, block.data(), size);
      if (n < 0) {
        err = errno;
        break;
      }
    }
    if (err != ENOSPC)
      break;
  }
  ::close(fd);
  return err;
}

// A job whose definition takes `bytes` in the journal: more than any slack
// a full disk may have left in the journal's files.
job_spec big_job(const std::string& name, size_t bytes) {
  auto t = cmd_task({"true"});
  t.command.env["PAYLOAD"] = std::string(bytes, 'p');
  return uniform_job({1}, t, name);
}

// Returns the ids of the jobs in the journal file `file`, read with SQLite
// directly.
std::set<job_id> ids_in(const std::string& file) {
  std::set<job_id> out;
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr)
          == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "SELECT id FROM jobs", -1, &st, nullptr)
          == SQLITE_OK);
  while (sqlite3_step(st) == SQLITE_ROW)
    out.insert(static_cast<job_id>(sqlite3_column_int64(st, 0)));
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

// Returns the number of rows of `table` in the journal file `file` whose
// job (or id, for jobs) is `job`.
int64_t rows_in(const std::string& file, const std::string& table, job_id job) {
  return count(file, "SELECT count(*) FROM " + table + " WHERE "
                         + (table == "jobs" ? "id" : "job") + " = "
                         + std::to_string(job));
}

std::set<job_id> ids_listed(runtime& rt) {
  std::set<job_id> out;
  auto listed = rt.list_jobs();
  REQUIRE(listed.code == result_code::ok);
  for (const auto& j : listed.jobs)
    out.insert(j.id);
  return out;
}

} // namespace

TEST_CASE("a head on a full disk refuses new work, keeps nothing it refused, "
          "loses nothing it acknowledged and serves again once space is "
          "freed",
          "[durability]") {
  scratch_dir dir;
  tmpfs_mount state{dir.path("state"), "4m"};
  if (!state.mounted) {
    WARN("SKIP: cannot mount a tmpfs on " << state.path << " (" << state.why
                                          << "); the disk-full test needs "
                                             "root or CAP_SYS_ADMIN");
    return;
  }
  auto filler = state.path + "/filler";
  std::set<job_id> acknowledged;
  {
    runtime_options opts;
    opts.local_node = false;
    opts.state_dir = state.path;
    opts.threads = 2;
    runtime rt{opts};
    for (int i = 0; i < 3; ++i) {
      auto r = rt.add_job(big_job("before", 1024));
      REQUIRE(r.code == result_code::ok);
      acknowledged.insert(r.job);
    }
    REQUIRE(fill(filler) == ENOSPC);
    // The first add_job that needs space: its write fails, it is refused
    // and taken back.
    auto refused = rt.add_job(big_job("refused", 256 * 1024));
    CHECK(refused.code == result_code::unavailable);
    CHECK(refused.job == invalid_id);
    CHECK_THAT(refused.detail,
               Catch::Contains("no new work while the journal fails")
                   && Catch::Contains(journal::file_of(state.path))
                   && Catch::Contains("full"));
    CHECK(ids_listed(rt) == acknowledged);
    auto next = *acknowledged.rbegin() + 1;
    CHECK(rt.job_status(next).code == result_code::job_not_found);
    // Meanwhile every request for new work is refused at once, even a small
    // one, and leaves nothing either.
    auto again = rt.add_job(uniform_job({1}, cmd_task({"true"}), "small"));
    CHECK(again.code == result_code::unavailable);
    CHECK_THAT(again.detail,
               Catch::Contains("no new work while the journal fails"));
    CHECK(rt.submit(*acknowledged.begin()).code == result_code::unavailable);
    CHECK(ids_listed(rt) == acknowledged);
    // Space again: the journal's writer tries again on its own, and the head
    // takes new work once a write succeeded.
    REQUIRE(::unlink(filler.c_str()) == 0);
    job_id after = invalid_id;
    REQUIRE(eventually(
        [&] {
          auto r = rt.add_job(big_job("after", 256 * 1024));
          if (r.code == result_code::ok) {
            after = r.job;
            return true;
          }
          // Refused while the head has not seen a write succeed: nothing
          // of it stays.
          CHECK(r.code == result_code::unavailable);
          return false;
        },
        30s));
    CHECK(after > next);
    acknowledged.insert(after);
    CHECK(ids_listed(rt) == acknowledged);
    CHECK(rt.submit(after).code == result_code::ok);
    // Full again: an add_task whose write fails is refused and taken back,
    // with the assessment it would have appended.
    auto first = *acknowledged.begin();
    REQUIRE(rt.list_tasks(first).tasks.size() == 1);
    REQUIRE(fill(filler) == ENOSPC);
    auto task = big_job("task", 256 * 1024).assessments[0].tasks[0];
    auto refused_task = rt.add_task(first, 1, task);
    CHECK(refused_task.code == result_code::unavailable);
    CHECK_THAT(refused_task.detail,
               Catch::Contains("no new work while the journal fails"));
    auto tasks = rt.list_tasks(first);
    CHECK(tasks.tasks.size() == 1);
    auto status = rt.job_status(first);
    REQUIRE(status.code == result_code::ok);
    CHECK(status.job.assessments.size() == 1);
    REQUIRE(::unlink(filler.c_str()) == 0);
    REQUIRE(eventually(
        [&] { return rt.add_task(first, 1, task).code == result_code::ok; },
        30s));
    CHECK(rt.list_tasks(first).tasks.size() == 2);
  }
  // The runtime is gone: the journal holds every acknowledged job and
  // nothing else.
  auto file = journal::file_of(state.path);
  CHECK(ids_in(file) == acknowledged);
  auto first = *acknowledged.begin();
  CHECK(rows_in(file, "tasks", first) == 2);
  CHECK(rows_in(file, "assessments", first) == 2);
  // A runtime started on it again lists them.
  runtime_options opts;
  opts.local_node = false;
  opts.state_dir = state.path;
  opts.threads = 2;
  runtime rt{opts};
  CHECK(ids_listed(rt) == acknowledged);
}
