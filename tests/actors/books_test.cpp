// Tests of the books (actors/books.hpp): where records are built and every
// change is applied and numbered.

#include "actors/books.hpp"
#include "support/printers.hpp"
#include "support/specs.hpp"

#include <catch2/catch.hpp>

using namespace quiesce;
using namespace quiesce::test;

namespace {

const caf::timestamp t0{caf::timespan{1'000'000'000}};
const caf::timestamp t1{caf::timespan{2'000'000'000}};

// Adds a two-assessment job (two tasks, then one) and returns its books.
job_books& add_sample(books& bk) {
  auto spec = uniform_job({2, 1}, cmd_task({"true"}, "t"), "nightly");
  spec.policy.retries = 4;
  auto id = bk.add_job(std::move(spec), "alice", t0);
  return *bk.find(id);
}

// Submits and starts the job of `b` and dispatches its first task to node
// "n1" as the supervisor would; returns the number of the last change.
uint64_t run_first_task(books& bk, job_books& b) {
  for (const auto& c : decide(b, submit_job{b.job.id, "alice"}).changes)
    bk.commit(b, c, t0);
  for (const auto& c : start(b).changes)
    bk.commit(b, c, t0);
  auto seq = bk.commit(
      b, task_change(1, task_status::queued, task_status::running), t0);
  bk.begin_attempt(b, b.tasks[0], "n1");
  return seq;
}

} // namespace

TEST_CASE("books build a job's records from its spec", "[actors][books]") {
  books bk;
  auto& b = add_sample(bk);
  CHECK(b.job.id == 1);
  CHECK(b.job.name == "nightly");
  CHECK(b.job.owner == "alice");
  CHECK(b.job.created == t0);
  CHECK(b.job.policy.retries == 4);
  CHECK(b.job.status == job_status::not_submitted);
  REQUIRE(b.job.assessments.size() == 2);
  CHECK(b.job.assessments[0].index == 0);
  CHECK(b.job.assessments[0].name == "assessment-0");
  CHECK(b.job.assessments[0].tasks == std::vector<task_id>{1, 2});
  CHECK(b.job.assessments[1].index == 1);
  CHECK(b.job.assessments[1].tasks == std::vector<task_id>{3});
  REQUIRE(b.tasks.size() == 3);
  for (task_id id = 1; id <= 3; ++id) {
    const auto* t = b.find(id);
    REQUIRE(t != nullptr);
    CHECK(t->id == id);
    CHECK(t->job == 1);
    CHECK(t->created == t0);
    CHECK(t->status == task_status::not_submitted);
    CHECK(t->spec.name == "t");
  }
  CHECK(b.tasks[2].assessment == 1);
  // Ids are never reused: the next job gets the next one.
  CHECK(bk.add_job(uniform_job({1}, cmd_task({"true"})), "bob", t1) == 2);
}

TEST_CASE("books add a task and append an assessment one past the last",
          "[actors][books]") {
  books bk;
  auto& b = add_sample(bk);
  CHECK(bk.add_task(b, 0, cmd_task({"a"}, "x"), t1) == 4);
  CHECK(bk.add_task(b, 2, cmd_task({"b"}, "y"), t1) == 5);
  REQUIRE(b.job.assessments.size() == 3);
  CHECK(b.job.assessments[0].tasks == std::vector<task_id>{1, 2, 4});
  CHECK(b.job.assessments[2].index == 2);
  CHECK(b.job.assessments[2].tasks == std::vector<task_id>{5});
  const auto* t = b.find(5);
  REQUIRE(t != nullptr);
  CHECK(t->assessment == 2);
  CHECK(t->created == t1);
  CHECK(t->spec.name == "y");
  CHECK(make_task_record(9, 3, 1, cmd_task({"c"}), t0).job == 9);
}

TEST_CASE("books apply every change and number it", "[actors][books]") {
  books bk;
  auto& b = add_sample(bk);
  CHECK(bk.commit(b, job_change(job_status::not_submitted, job_status::queued),
                  t1)
        == 1);
  CHECK(b.job.status == job_status::queued);
  CHECK(b.job.submitted == t1);
  CHECK(bk.commit(
            b, task_change(2, task_status::not_submitted, task_status::queued),
            t1)
        == 2);
  CHECK(b.tasks[1].status == task_status::queued);
}

TEST_CASE("make_event reports a change with its number and asker",
          "[actors][books]") {
  auto c = task_change(4, task_status::running, task_status::cancelled,
                       result_code::task_cancelled, "stop");
  auto ev = make_event(3, c, 17, "bob", t1);
  CHECK(ev.seq == 17);
  CHECK(ev.job == 3);
  CHECK(ev.kind == event_kind::task);
  CHECK(ev.subject == 4);
  CHECK(ev.previous == c.from);
  CHECK(ev.current == c.to);
  CHECK(ev.previous == entity_status{task_status::running});
  CHECK(ev.current == entity_status{task_status::cancelled});
  CHECK(fits(ev.kind, ev.previous));
  CHECK(fits(ev.kind, ev.current));
  CHECK(ev.code == result_code::task_cancelled);
  CHECK(ev.message == "stop");
  CHECK(ev.who == "bob");
  CHECK(ev.time == t1);
}

TEST_CASE("books take an attempt's end once and ignore stale reports",
          "[actors][books]") {
  books bk;
  auto& b = add_sample(bk);
  run_first_task(bk, b);
  const auto& t = b.tasks[0];
  REQUIRE(t.attempts == 1);
  CHECK(t.node == "n1");
  CHECK(b.live.at(1) == 1);
  attempt_ended end;
  end.key = attempt_key{1, 1, 2}; // not the live attempt
  end.exit_code = 3;
  end.node = "n2";
  CHECK_FALSE(bk.end_attempt(b, end));
  CHECK(b.live.count(1) == 1);
  end.key.attempt = 1;
  CHECK(bk.end_attempt(b, end));
  CHECK(b.live.empty());
  CHECK(t.exit_code == 3);
  CHECK(t.node == "n2");
  CHECK_FALSE(bk.end_attempt(b, end)); // a duplicate
}

TEST_CASE("books turn progress of a running attempt into a numbered event",
          "[actors][books]") {
  books bk;
  auto& b = add_sample(bk);
  CHECK_FALSE(bk.progress(attempt_progress{{1, 1, 1}, 50, "half"}, t1));
  auto last = run_first_task(bk, b);
  CHECK_FALSE(bk.progress(attempt_progress{{2, 1, 1}, 50, "half"}, t1));
  CHECK_FALSE(bk.progress(attempt_progress{{1, 2, 1}, 50, "half"}, t1));
  CHECK_FALSE(bk.progress(attempt_progress{{1, 1, 2}, 50, "half"}, t1));
  auto ev = bk.progress(attempt_progress{{1, 1, 1}, 50, "half"}, t1);
  REQUIRE(ev);
  // Progress counts in the same stream as the changes.
  CHECK(ev->seq == last + 1);
  CHECK(ev->kind == event_kind::progress);
  CHECK(ev->subject == 1);
  CHECK(ev->previous == entity_status{task_status::running});
  CHECK(fits(ev->kind, ev->previous));
  CHECK(ev->current == ev->previous);
  CHECK(ev->percent == 50);
  CHECK(ev->message == "half");
  CHECK(ev->who == "n1");
  CHECK(ev->time == t1);
}

TEST_CASE("books list and look up records", "[actors][books]") {
  books bk;
  auto& b = add_sample(bk);
  bk.add_job(uniform_job({1}, cmd_task({"true"})), "bob", t0);
  bk.commit(b, job_change(job_status::not_submitted, job_status::queued), t1);
  CHECK(bk.list(list_jobs{}).jobs.size() == 2);
  auto queued = bk.list(list_jobs{true, job_status::queued, false, 0, 0});
  REQUIRE(queued.jobs.size() == 1);
  CHECK(queued.jobs[0].id == 1);
  CHECK(bk.list(list_tasks{1, false, {}}).tasks.size() == 3);
  CHECK(bk.list(list_tasks{1, true, task_status::queued}).tasks.empty());
  CHECK(bk.list(list_tasks{9, false, {}}).code == result_code::job_not_found);
  CHECK(bk.status(get_job_status{2}).job.owner == "bob");
  CHECK(bk.status(get_job_status{0}).code == result_code::job_not_found);
  CHECK(bk.status(get_task_status{1, 3}).task.assessment == 1);
  CHECK(bk.status(get_task_status{1, 4}).code == result_code::task_not_found);
  CHECK(bk.status(get_task_status{3, 1}).code == result_code::job_not_found);
}
