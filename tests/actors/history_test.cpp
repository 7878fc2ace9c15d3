// History with retention (docs/durability.md, "History and retention"): a
// terminal job leaves the supervisor's memory once `job_retention` passed
// and nothing waits on it; with a journal (a real SQLite file in a scratch
// directory), every query answers for it as before, read from the journal,
// and requests that would change it answer as for a terminal job in memory;
// without one it is gone, and the refusal says it was retired. Retention 0
// makes retirement happen within the message that settles the job, so the
// deterministic fixture sees it without any clock.

#include "actors/access.hpp"
#include "actors/journal.hpp"
#include "support/deterministic.hpp"
#include "support/printers.hpp"
#include "support/processes.hpp"
#include "support/specs.hpp"

#include <caf/binary_serializer.hpp>

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

using namespace quiesce;
using namespace quiesce::test;
using namespace std::chrono_literals;

namespace {

// Returns `x` in CAF's binary encoding: two replies are the same when their
// encodings are.
template <class T>
std::vector<char> bytes(T x) {
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  REQUIRE(!sink(x));
  return buf;
}

// Supervisor options of a head with two users (alice owns the jobs, bob
// does not, "root-admin" is an admin) and the given retention and journal.
supervisor_options options(std::chrono::milliseconds retention,
                           const std::string& state_dir = {}) {
  supervisor_options opts;
  opts.local_admin = false;
  opts.admins = {"root-admin"};
  opts.job_retention = retention;
  if (!state_dir.empty())
    // Written on the deterministic scheduler's thread.
    opts.log = std::make_shared<journal>(state_dir, false);
  return opts;
}

// A job of alice's with two command tasks whose environment holds a secret.
job_spec secret_job() {
  auto t = cmd_task({"true"});
  t.command.env["API_TOKEN"] = "s3cret";
  return uniform_job({2}, t, "secret");
}

// Adds and submits a job of alice's; returns its id.
job_id submit_as_alice(deterministic_fixture& f, job_spec spec) {
  auto r = f.ask<add_job_reply>(add_job{std::move(spec), "alice"});
  REQUIRE(r.code == result_code::ok);
  REQUIRE(f.ask<op_reply>(submit_job{r.job, "alice"}).code == result_code::ok);
  f.run();
  return r.job;
}

// Returns the ids of the jobs in memory (list_jobs without history).
std::vector<job_id> in_memory(deterministic_fixture& f) {
  std::vector<job_id> out;
  for (const auto& j : f.ask<job_list>(list_jobs{}).jobs)
    out.push_back(j.id);
  return out;
}

// Returns the ids a history listing gives for `req`.
std::vector<job_id> listed(deterministic_fixture& f, list_jobs req,
                           bool& more) {
  req.history = true;
  auto r = f.ask<job_list>(req);
  REQUIRE(r.code == result_code::ok);
  more = r.more;
  std::vector<job_id> out;
  for (const auto& j : r.jobs)
    out.push_back(j.id);
  return out;
}

// What the queries answer about job `id` (tasks 1 and 2).
struct answers {
  std::vector<char> status;
  std::vector<char> tasks;
  std::vector<char> task1;
  std::vector<char> task2;
  std::vector<char> listing;
};

answers ask_all(deterministic_fixture& f, job_id id) {
  answers out;
  out.status = bytes(f.ask<job_status_reply>(get_job_status{id}));
  out.tasks = bytes(f.ask<task_list>(list_tasks{id}));
  out.task1 = bytes(f.ask<task_status_reply>(get_task_status{id, 1}));
  out.task2 = bytes(f.ask<task_status_reply>(get_task_status{id, 2}));
  list_jobs all;
  all.history = true;
  out.listing = bytes(f.ask<job_list>(all));
  return out;
}

} // namespace

TEST_CASE("history: a retired job reads from the journal as it read from "
          "memory, owners and redaction still apply, and requests that would "
          "change it answer as for a terminal job in memory",
          "[actors][history][durability]") {
  temp_dir dir;
  job_id id = invalid_id;
  answers before;
  op_reply alice_cancel_before;
  {
    // A head that never retires: the job ends and stays in memory.
    deterministic_fixture f{options(-1ms, dir.path())};
    f.add_node("n1", 2);
    id = submit_as_alice(f, secret_job());
    REQUIRE(f.started().size() == 2);
    f.end_attempt(f.started().at(0));
    f.end_attempt(f.started().at(1), attempt_outcome::failed, 3, "exit 3");
    REQUIRE(f.job(id).status == job_status::failed);
    REQUIRE(in_memory(f) == std::vector<job_id>{id});
    before = ask_all(f, id);
    alice_cancel_before = f.ask<op_reply>(cancel_job{id, "late", "alice"});
    CHECK(alice_cancel_before.code == result_code::no_job_running);
  }
  // The same journal, retention 0: the failed job is not loaded again (it
  // ended before now) and answers from the journal.
  deterministic_fixture f{options(0ms, dir.path())};
  f.add_node("n1", 2);
  CHECK(in_memory(f).empty());
  auto after = ask_all(f, id);
  CHECK(after.status == before.status);
  CHECK(after.tasks == before.tasks);
  CHECK(after.task1 == before.task1);
  CHECK(after.task2 == before.task2);
  CHECK(after.listing == before.listing);
  // Read by nobody in particular: the environment stays redacted.
  auto tasks = f.ask<task_list>(list_tasks{id});
  REQUIRE(tasks.tasks.size() == 2);
  CHECK(tasks.tasks[0].spec.command.env.at("API_TOKEN") == redacted_value);
  CHECK(f.ask<task_status_reply>(get_task_status{id, 3}).code
        == result_code::task_not_found);
  auto unknown = f.ask<job_status_reply>(get_job_status{id + 10});
  CHECK(unknown.code == result_code::job_not_found);
  // wait_job of a retired (terminal) job answers at once.
  auto waited = f.ask<job_status_reply>(wait_job{id});
  CHECK(waited.code == result_code::ok);
  CHECK(waited.job.status == job_status::failed);
  // Ownership holds for history: bob may change nothing of alice's job.
  for (auto code :
       {f.ask<op_reply>(cancel_job{id, "mine", "bob"}).code,
        f.ask<op_reply>(requeue_job{id, "bob", false}).code,
        f.ask<op_reply>(terminate_job{id, "bob"}).code,
        f.ask<task_op_reply>(requeue_task{id, 2, "bob"}).code,
        f.ask<add_task_reply>(add_task{id, 0, cmd_task({"true"}), "bob"}).code})
    CHECK(code == result_code::permission_denied);
  // Alice's cancel answers as it did when the job was in memory.
  auto alice_cancel = f.ask<op_reply>(cancel_job{id, "late", "alice"});
  CHECK(alice_cancel.code == alice_cancel_before.code);
  CHECK(alice_cancel.detail == alice_cancel_before.detail);
  CHECK(f.ask<op_reply>(terminate_job{id, "alice"}).code
        == result_code::no_job_running);
  // Nothing changed and nothing stayed in memory.
  CHECK(in_memory(f).empty());
  CHECK(bytes(f.ask<job_status_reply>(get_job_status{id})) == before.status);
  // A requeue is accepted as for a failed job in memory: the job runs again,
  // in memory, and is retired again once it ended.
  REQUIRE(f.ask<op_reply>(requeue_job{id, "alice", false}).code
          == result_code::ok);
  f.run();
  CHECK(in_memory(f) == std::vector<job_id>{id});
  REQUIRE(f.started().size() == 1);
  CHECK(f.started().at(0).key == attempt_key{id, 2, 2});
  f.end_attempt(f.started().at(0));
  CHECK(in_memory(f).empty());
  auto rerun = f.ask<job_status_reply>(get_job_status{id});
  REQUIRE(rerun.code == result_code::ok);
  CHECK(rerun.job.status == job_status::finished);
  CHECK(rerun.job.requeue_count == 1);
  // Ids are never reused.
  auto next = f.ask<add_job_reply>(add_job{secret_job(), "alice"});
  CHECK(next.job == id + 1);
}

TEST_CASE("history: a job is retired only once nothing waits on it: not "
          "while its attempts are live or a terminate_job reply waits",
          "[actors][history]") {
  temp_dir dir;
  deterministic_fixture f{options(0ms, dir.path())};
  f.add_node("n1", 1);
  auto id = submit_as_alice(f, uniform_job({1}, cmd_task({"sleep", "9"})));
  REQUIRE(f.started().size() == 1);
  f.send(wait_job{id});
  f.send(terminate_job{id, "alice"});
  f.run();
  // Cancelled (terminal), but its attempt is live and the terminate waits.
  auto waited = f.try_take<job_status_reply>();
  REQUIRE(waited);
  CHECK(waited->job.status == job_status::cancelled);
  CHECK_FALSE(f.try_take<op_reply>());
  CHECK(in_memory(f) == std::vector<job_id>{id});
  auto a = f.started().at(0);
  auto end = deterministic_fixture::make_end(a, attempt_outcome::stopped);
  end.confirmed_dead = true;
  deterministic_fixture::send_end(a, end);
  f.run();
  auto terminated = f.try_take<op_reply>();
  REQUIRE(terminated);
  CHECK(terminated->code == result_code::ok);
  CHECK(in_memory(f).empty());
  CHECK(f.job(id).status == job_status::cancelled);
}

TEST_CASE("history: without a journal a retired job is gone, and the "
          "refusal says it was retired",
          "[actors][history]") {
  deterministic_fixture f{options(0ms)};
  f.add_node("n1", 1);
  auto id = submit_as_alice(f, uniform_job({1}, fn_task("ok")));
  f.send(wait_job{id});
  f.run();
  f.end_attempt(f.started().at(0));
  // The wait got its answer before the job left memory.
  auto waited = f.try_take<job_status_reply>();
  REQUIRE(waited);
  CHECK(waited->code == result_code::ok);
  CHECK(waited->job.status == job_status::finished);
  CHECK(in_memory(f).empty());
  auto status = f.ask<job_status_reply>(get_job_status{id});
  CHECK(status.code == result_code::job_not_found);
  CHECK_THAT(status.detail, Catch::Contains("retired")
                                && Catch::Contains("job_retention")
                                && Catch::Contains("journal"));
  auto tasks = f.ask<task_list>(list_tasks{id});
  CHECK(tasks.code == result_code::job_not_found);
  CHECK_THAT(tasks.detail, Catch::Contains("retired"));
  auto cancel = f.ask<op_reply>(cancel_job{id, "x", "alice"});
  CHECK(cancel.code == result_code::job_not_found);
  CHECK_THAT(cancel.detail, Catch::Contains("retired"));
  CHECK(f.ask<job_status_reply>(wait_job{id}).code
        == result_code::job_not_found);
  // A job that never existed is not called retired.
  auto never = f.ask<job_status_reply>(get_job_status{id + 1});
  CHECK(never.code == result_code::job_not_found);
  CHECK_THAT(never.detail, !Catch::Contains("retired"));
  // list_jobs with history lists memory only: nothing.
  bool more = true;
  CHECK(listed(f, list_jobs{}, more).empty());
  CHECK_FALSE(more);
}

TEST_CASE("history: list_jobs with history merges memory and journal, newest "
          "first chosen, a page at a time",
          "[actors][history][durability]") {
  temp_dir dir;
  deterministic_fixture f{options(0ms, dir.path())};
  f.add_node("n1", 1);
  for (int i = 0; i < 5; ++i) {
    auto id = submit_as_alice(f, uniform_job({1}, fn_task("ok")));
    f.end_attempt(f.started().back(),
                  i == 2 ? attempt_outcome::failed : attempt_outcome::succeeded,
                  i == 2 ? 1 : 0);
    REQUIRE(id == static_cast<job_id>(i + 1));
  }
  // Job 6 waits (not submitted): in memory.
  auto waiting = f.ask<add_job_reply>(add_job{secret_job(), "alice"});
  REQUIRE(waiting.job == 6);
  CHECK(in_memory(f) == std::vector<job_id>{6});
  bool more = false;
  list_jobs page;
  page.limit = 2;
  CHECK(listed(f, page, more) == std::vector<job_id>{5, 6});
  CHECK(more);
  page.before = 5;
  CHECK(listed(f, page, more) == std::vector<job_id>{3, 4});
  CHECK(more);
  page.before = 3;
  CHECK(listed(f, page, more) == std::vector<job_id>{1, 2});
  CHECK_FALSE(more);
  // The default bound lists everything here; a status filter applies to
  // both sources.
  CHECK(listed(f, list_jobs{}, more) == std::vector<job_id>{1, 2, 3, 4, 5, 6});
  list_jobs finished;
  finished.filter_by_status = true;
  finished.status = job_status::finished;
  CHECK(listed(f, finished, more) == std::vector<job_id>{1, 2, 4, 5});
  finished.status = job_status::not_submitted;
  CHECK(listed(f, finished, more) == std::vector<job_id>{6});
  finished.status = job_status::failed;
  CHECK(listed(f, finished, more) == std::vector<job_id>{3});
  // Without history, the same request sees memory only.
  CHECK(f.ask<job_list>(list_jobs{}).jobs.size() == 1);
}
