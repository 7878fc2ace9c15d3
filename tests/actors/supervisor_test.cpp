// Deterministic tests of the supervisor and the execution tree below it (job,
// assessment and task actors) with fake nodes: every rule of
// docs/semantics.md that needs running actors, and the races. Each TEST_CASE
// name starts with the IDs of the rules it checks. The fixture is in
// tests/support/deterministic.hpp; the tests play the nodes, so they choose
// when (and in which order relative to a request) each attempt ends.

#include "support/deterministic.hpp"
#include "support/printers.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

using namespace quiesce;
using namespace quiesce::test;
using namespace std::chrono_literals;

namespace {

/// Returns `x` as an event carries it.
template <class Status>
entity_status status(Status x) {
  return x;
}

/// Returns a job of uniform function tasks with a short grace period.
job_spec fn_job(std::vector<size_t> sizes, caf::timespan grace = 1s) {
  auto j = uniform_job(sizes, fn_task("work"));
  j.policy.grace = grace;
  return j;
}

/// Returns the events of `evs` about `kind` / `subject` going to `to`.
std::vector<event> transitions(const std::vector<event>& evs, event_kind kind,
                               uint64_t subject, const entity_status& to) {
  std::vector<event> out;
  for (auto& ev : evs)
    if (ev.kind == kind && ev.subject == subject && ev.current == to)
      out.push_back(ev);
  return out;
}

/// Returns the task events of `evs` that move `task` to a terminal status.
size_t terminal_transitions(const std::vector<event>& evs, task_id task) {
  return static_cast<size_t>(
      std::count_if(evs.begin(), evs.end(), [&](const event& ev) {
        return ev.kind == event_kind::task && ev.subject == task
               && is_terminal(caf::get<task_status>(ev.current))
               && ev.previous != ev.current;
      }));
}

/// Returns whether `evs` holds a job event `from` → `to` with `code`.
bool has_job_event(const std::vector<event>& evs, job_status from,
                   job_status to, result_code code) {
  return std::any_of(evs.begin(), evs.end(), [&](const event& ev) {
    return ev.kind == event_kind::job && ev.previous == status(from)
           && ev.current == status(to) && ev.code == code;
  });
}

/// Returns whether `evs` holds an assessment event `from` → `to` with `code`.
bool has_assessment_event(const std::vector<event>& evs, assessment_index index,
                          assessment_status from, assessment_status to,
                          result_code code) {
  return std::any_of(evs.begin(), evs.end(), [&](const event& ev) {
    return ev.kind == event_kind::assessment && ev.subject == index
           && ev.previous == status(from) && ev.current == status(to)
           && ev.code == code;
  });
}

/// Returns how many attempts of `job` the fake nodes were asked to start.
size_t starts_of(const deterministic_fixture& f, job_id job) {
  return static_cast<size_t>(std::count_if(
      f.started().begin(), f.started().end(),
      [&](const started_attempt& a) { return a.key.job == job; }));
}

/// Replays the event stream of `job` on a blank model (every status starts
/// where `add_job` leaves it) and checks that each event starts from the
/// status the model holds (so no change is missing, repeated or out of
/// order) and that the model ends where the books are.
void check_replay(deterministic_fixture& f, job_id id) {
  auto evs = f.events_of(id);
  auto books = f.job(id);
  auto tasks = f.tasks(id);
  entity_status job_st = job_status::not_submitted;
  std::map<uint64_t, entity_status> assessment_st;
  std::map<uint64_t, entity_status> task_st;
  for (auto& a : books.assessments)
    assessment_st[a.index] = assessment_status::not_yet_run;
  for (auto& t : tasks)
    task_st[t.id] = task_status::not_submitted;
  uint64_t last_seq = 0;
  for (auto& ev : evs) {
    INFO("event " << describe(ev));
    CHECK(ev.seq > last_seq);
    last_seq = ev.seq;
    switch (ev.kind) {
      case event_kind::job:
        CHECK(ev.previous == job_st);
        CHECK(ev.previous != ev.current);
        job_st = ev.current;
        break;
      case event_kind::assessment:
        CHECK(ev.previous == assessment_st[ev.subject]);
        // running -> running only fixes an outcome (E3).
        if (ev.previous == ev.current)
          CHECK(ev.code == result_code::assessment_cancelled);
        assessment_st[ev.subject] = ev.current;
        break;
      case event_kind::task:
        CHECK(ev.previous == task_st[ev.subject]);
        CHECK(ev.previous != ev.current);
        task_st[ev.subject] = ev.current;
        break;
      case event_kind::progress:
        CHECK(ev.current == task_st[ev.subject]);
        break;
    }
  }
  CHECK(job_st == status(books.status));
  for (auto& a : books.assessments)
    CHECK(assessment_st[a.index] == status(a.status));
  for (auto& t : tasks) {
    INFO("task " << t.id);
    CHECK(task_st[t.id] == status(t.status));
  }
}

} // namespace

// -- starting and dispatching
// ---------------------------------------------------

TEST_CASE("J16 A1 T18 a started job runs its first assessment and dispatches "
          "its tasks up to the node's slots",
          "[supervisor][J16][A1][T18]") {
  deterministic_fixture f;
  f.add_node("fake", 2);
  auto id = f.submit(fn_job({5, 1}));
  REQUIRE(f.started().size() == 2);
  CHECK(f.started()[0].key == attempt_key{id, 1, 1});
  CHECK(f.started()[1].key == attempt_key{id, 2, 1});
  CHECK(f.started()[0].node == "fake");
  auto j = f.job(id);
  CHECK(j.status == job_status::running);
  CHECK(j.current == 0);
  CHECK(j.assessments[0].status == assessment_status::running);
  CHECK(j.assessments[1].status == assessment_status::not_yet_run);
  auto ts = f.tasks(id);
  CHECK(ts[0].status == task_status::running);
  CHECK(ts[0].node == "fake");
  CHECK(ts[0].attempts == 1);
  CHECK(ts[1].status == task_status::running);
  for (size_t i = 2; i < ts.size(); ++i)
    CHECK(ts[i].status == task_status::queued);
  // Completing one frees a slot: the next queued task of the assessment goes.
  f.end_attempt(f.started()[0]);
  REQUIRE(f.started().size() == 3);
  CHECK(f.started()[2].key.task == 3);
  CHECK(f.task(id, 1).status == task_status::finished);
  f.end_attempt(f.started()[1]);
  f.end_attempt(f.started()[2]);
  REQUIRE(f.started().size() == 5);
  // Task 6 (assessment 1) waits for every task of assessment 0, even with a
  // free slot.
  f.end_attempt(f.started()[3]);
  CHECK(f.started().size() == 5);
  CHECK(f.task(id, 6).status == task_status::queued);
  f.end_attempt(f.started()[4]);
  REQUIRE(f.started().size() == 6);
  CHECK(f.started()[5].key == attempt_key{id, 6, 1});
  CHECK(f.job(id).current == 1);
  f.end_attempt(f.started()[5]);
  j = f.job(id);
  CHECK(j.status == job_status::finished);
  CHECK(j.end_code == result_code::ok);
  CHECK(j.assessments[0].outcome == result_code::ok);
  check_replay(f, id);
}

TEST_CASE("T17 a job that starts after another ended runs on that job's "
          "actors: no spawn per job or per attempt",
          "[supervisor][T17]") {
  deterministic_fixture f;
  f.add_node("fake", 1);
  auto first = f.submit(fn_job({1, 1}));
  REQUIRE(f.started().size() == 1);
  f.end_attempt(f.started()[0]);
  // The second assessment's attempt goes to the same task actor.
  REQUIRE(f.started().size() == 2);
  CHECK(f.started()[1].key == attempt_key{first, 2, 1});
  CHECK(f.started()[1].reply_to == f.started()[0].reply_to);
  f.end_attempt(f.started()[1]);
  REQUIRE(f.job(first).status == job_status::finished);
  // A later job takes the idle job actor, its assessment and task actors.
  auto second = f.submit(fn_job({1}));
  REQUIRE(f.started().size() == 3);
  CHECK(f.started()[2].key == attempt_key{second, 1, 1});
  CHECK(f.started()[2].reply_to == f.started()[0].reply_to);
  // And the reused actors still carry a cancel to the running attempt.
  auto r = f.ask<task_op_reply>(cancel_task{second, 1, "", "test"});
  CHECK(r.code == result_code::ok);
  REQUIRE_FALSE(f.signals_of(second, 1).empty());
  CHECK(f.signals_of(second, 1).front() == stop_mode::request);
  f.end_attempt(f.started()[2], attempt_outcome::stopped, -1);
  CHECK(f.task(second, 1).status == task_status::cancelled);
  CHECK(is_terminal(f.job(second).status));
  check_replay(f, first);
  check_replay(f, second);
}

TEST_CASE("J20 J4 jobs start in submission order, max_running_jobs holds the "
          "rest queued, and cancel_job cancels a held job at once",
          "[supervisor][J20][J4]") {
  supervisor_options opts;
  opts.max_running_jobs = 1;
  deterministic_fixture f{opts};
  f.add_node("fake", 4);
  auto a = f.submit(fn_job({1}));
  auto b = f.submit(fn_job({1}));
  auto c = f.submit(fn_job({1}));
  REQUIRE(f.started().size() == 1);
  CHECK(f.started()[0].key.job == a);
  CHECK(f.job(b).status == job_status::queued);
  CHECK(f.job(c).status == job_status::queued);
  // Cancelling the held job c takes effect at once: it never runs.
  auto r = f.ask<op_reply>(cancel_job{c, "not needed", "test"});
  CHECK(r.code == result_code::ok);
  auto jc = f.job(c);
  CHECK(jc.status == job_status::cancelled);
  CHECK(jc.end_code == result_code::job_cancelled);
  CHECK(jc.error_message == "not needed");
  CHECK(f.task(c, 1).status == task_status::cancelled);
  CHECK(f.task(c, 1).end_code == result_code::task_cancelled);
  // a ends: b (submitted before c) starts, c does not.
  f.end_attempt(f.started()[0]);
  CHECK(f.job(a).status == job_status::finished);
  REQUIRE(f.started().size() == 2);
  CHECK(f.started()[1].key.job == b);
  CHECK(f.job(b).status == job_status::running);
  f.end_attempt(f.started()[1]);
  CHECK(f.job(b).status == job_status::finished);
  CHECK(starts_of(f, c) == 0);
  CHECK(f.job(c).status == job_status::cancelled);
}

// -- cancel_job
// -----------------------------------------------------------------

TEST_CASE("J5 J7 J8 J21 R10 cancel_job on a running job asks its function "
          "work to stop, never kills it, cancels the rest and ends cancelled "
          "after the work ends",
          "[supervisor][J5][J7][J8][J21][R10]") {
  deterministic_fixture f;
  f.add_node("fake", 1);
  auto id = f.submit(fn_job({2, 2}, 1s));
  REQUIRE(f.started().size() == 1);
  auto a = f.started()[0];
  auto r = f.ask<op_reply>(cancel_job{id, "stop please", "alice"});
  CHECK(r.code == result_code::ok);
  // R10: accepted and signalled, not ended.
  auto j = f.job(id);
  CHECK(j.status == job_status::cancelling);
  CHECK(j.error_message == "stop please");
  auto ts = f.tasks(id);
  CHECK(ts[0].status == task_status::running);
  for (size_t i = 1; i < ts.size(); ++i) {
    INFO("task " << ts[i].id);
    CHECK(ts[i].status == task_status::cancelled);
    CHECK(ts[i].end_code == result_code::task_cancelled);
    CHECK(ts[i].error_message == "stop please");
  }
  CHECK(f.signals_of(id, 1) == std::vector<stop_mode>{stop_mode::request});
  // Far past the grace period: still no kill, still running to completion.
  f.advance(10s);
  CHECK(f.signals_of(id, 1) == std::vector<stop_mode>{stop_mode::request});
  CHECK(f.job(id).status == job_status::cancelling);
  CHECK(f.task(id, 1).status == task_status::running);
  auto evs = f.events_of(id);
  CHECK(has_job_event(evs, job_status::running, job_status::cancelling,
                      result_code::job_cancelled));
  auto expected = task_status::finished;
  SECTION("work that completes anyway ends finished") {
    f.end_attempt(a, attempt_outcome::succeeded, 0);
  }
  SECTION("work that acknowledges the stop ends cancelled") {
    f.end_attempt(a, attempt_outcome::stopped, -1);
    expected = task_status::cancelled;
  }
  SECTION("work that fails after the stop request ends cancelled") {
    f.end_attempt(a, attempt_outcome::failed, 1, "exit code 1");
    expected = task_status::cancelled;
  }
  CHECK(f.task(id, 1).status == expected);
  j = f.job(id);
  CHECK(j.status == job_status::cancelled);
  CHECK(j.end_code == result_code::job_cancelled);
  CHECK(j.assessments[0].status == assessment_status::completed);
  // Task 2 of assessment 0 was cut: the assessment was cancelled (A3).
  CHECK(j.assessments[0].outcome == result_code::assessment_cancelled);
  CHECK(j.assessments[1].status == assessment_status::not_yet_run);
  // No attempt of task 2 or of assessment 1 was ever started.
  CHECK(f.started().size() == 1);
  evs = f.events_of(id);
  CHECK(has_job_event(evs, job_status::cancelling, job_status::cancelled,
                      result_code::job_cancelled));
  check_replay(f, id);
}

TEST_CASE("J21 J7 cancel_job signals a running command only when the policy "
          "says stop_commands_on_cancel",
          "[supervisor][J21][J7]") {
  deterministic_fixture f;
  f.add_node("fake", 1);
  auto spec = uniform_job({1, 1}, cmd_task({"sleep", "60"}));
  spec.policy.grace = 1s;
  std::vector<stop_mode> expected;
  SECTION("by default a command is left to run to its end") {
    spec.policy.stop_commands_on_cancel = false;
  }
  SECTION("with stop_commands_on_cancel it gets its stop signal") {
    spec.policy.stop_commands_on_cancel = true;
    expected.push_back(stop_mode::request);
  }
  auto id = f.submit(spec);
  REQUIRE(f.started().size() == 1);
  auto r = f.ask<op_reply>(cancel_job{id, "", "test"});
  CHECK(r.code == result_code::ok);
  f.advance(500ms);
  CHECK(f.signals_of(id, 1) == expected);
  CHECK(f.job(id).status == job_status::cancelling);
  if (expected.empty()) {
    // Left alone: nothing reaches it, however long it runs.
    f.advance(5s);
    CHECK(f.signals_of(id, 1).empty());
  }
  f.end_attempt(f.started()[0], attempt_outcome::succeeded, 0);
  CHECK(f.task(id, 1).status == task_status::finished);
  CHECK(f.task(id, 1).exit_code == 0);
  auto j = f.job(id);
  CHECK(j.status == job_status::cancelled);
  CHECK(j.end_code == result_code::job_cancelled);
  CHECK(f.task(id, 2).status == task_status::cancelled);
  CHECK(f.started().size() == 1);
}

// -- cancel_assessment
// ----------------------------------------------------------

TEST_CASE("A6 A2 A8 E3 J21 cancel_assessment stops its work gracefully, "
          "completes only after the work ends, and the job goes on",
          "[supervisor][A6][A2][A8][E3][J21]") {
  deterministic_fixture f;
  f.add_node("fake", 2);
  auto id = f.submit(fn_job({2, 1}, 2s));
  REQUIRE(f.started().size() == 2);
  auto a1 = f.started()[0];
  auto a2 = f.started()[1];
  auto r = f.ask<op_reply>(cancel_assessment{id, 0, "bob"});
  CHECK(r.code == result_code::ok);
  for (task_id t : {1, 2}) {
    auto rec = f.task(id, t);
    CHECK(rec.status == task_status::cancelled);
    CHECK(rec.error_message == "assessment 0 cancelled");
    CHECK(f.signals_of(id, t) == std::vector<stop_mode>{stop_mode::request});
  }
  auto j = f.job(id);
  CHECK(j.assessments[0].status == assessment_status::running);
  CHECK(j.assessments[0].outcome == result_code::assessment_cancelled);
  auto evs = f.events_of(id);
  CHECK(has_assessment_event(evs, 0, assessment_status::running,
                             assessment_status::running,
                             result_code::assessment_cancelled));
  // A7: a second request while it drains is refused.
  CHECK(f.ask<op_reply>(cancel_assessment{id, 0, "bob"}).code
        == result_code::invalid_state);
  // Within the grace period: no kill.
  f.advance(1500ms);
  CHECK(f.signals_of(id, 1) == std::vector<stop_mode>{stop_mode::request});
  // Past it: a kill for each.
  f.advance(1s);
  CHECK(f.signals_of(id, 1)
        == std::vector<stop_mode>{stop_mode::request, stop_mode::kill});
  CHECK(f.signals_of(id, 2)
        == std::vector<stop_mode>{stop_mode::request, stop_mode::kill});
  // A2: not complete while work of it is live.
  f.end_attempt(a1, attempt_outcome::failed, -1, "killed by SIGKILL");
  CHECK(f.job(id).assessments[0].status == assessment_status::running);
  CHECK(f.started().size() == 2);
  f.end_attempt(a2, attempt_outcome::stopped, -1);
  j = f.job(id);
  CHECK(j.assessments[0].status == assessment_status::completed);
  CHECK(j.assessments[0].outcome == result_code::assessment_cancelled);
  evs = f.events_of(id);
  CHECK(has_assessment_event(evs, 0, assessment_status::running,
                             assessment_status::completed,
                             result_code::assessment_cancelled));
  // A8: the next assessment starts.
  CHECK(j.status == job_status::running);
  CHECK(j.current == 1);
  REQUIRE(f.started().size() == 3);
  CHECK(f.started()[2].key == attempt_key{id, 3, 1});
  f.end_attempt(f.started()[2]);
  j = f.job(id);
  CHECK(j.status == job_status::failed);
  CHECK(j.end_code == result_code::job_failed);
  CHECK(f.task(id, 1).status == task_status::cancelled);
  check_replay(f, id);
}

TEST_CASE("A5 G2 cancel_assessment of an index that is not running is "
          "refused invalid_index and changes nothing",
          "[supervisor][A5][G2]") {
  deterministic_fixture f;
  f.add_node("fake", 1);
  auto id = f.submit(fn_job({1, 1, 1}));
  f.end_attempt(f.started()[0]);
  REQUIRE(f.started().size() == 2);
  auto before = f.events->size();
  for (assessment_index i : {0u, 2u, 7u}) {
    INFO("index " << i);
    auto r = f.ask<op_reply>(cancel_assessment{id, i, "test"});
    CHECK(r.code == result_code::invalid_index);
  }
  CHECK(f.events->size() == before);
  CHECK(f.signals().empty());
  CHECK(f.task(id, 2).status == task_status::running);
  CHECK(f.job(id).assessments[1].status == assessment_status::running);
  CHECK(f.job(id).assessments[1].outcome == result_code::ok);
}

// -- terminate_job
// --------------------------------------------------------------

TEST_CASE("J13 J11 E4 terminate_job kills at once, sets every status, and "
          "replies only after every attempt has ended",
          "[supervisor][J13][J11][E4]") {
  deterministic_fixture f;
  f.add_node("fake", 2);
  auto id = f.submit(fn_job({2, 1}, 5s));
  REQUIRE(f.started().size() == 2);
  auto a1 = f.started()[0];
  auto a2 = f.started()[1];
  f.send(terminate_job{id, "carol"});
  f.run();
  CHECK(!f.try_take<op_reply>());
  // Killed at once, no stop request first, no grace.
  CHECK(f.signals_of(id, 1) == std::vector<stop_mode>{stop_mode::kill});
  CHECK(f.signals_of(id, 2) == std::vector<stop_mode>{stop_mode::kill});
  // J11: every status is final already.
  auto j = f.job(id);
  CHECK(j.status == job_status::cancelled);
  CHECK(j.end_code == result_code::job_cancelled);
  CHECK(j.assessments[0].status == assessment_status::completed);
  CHECK(j.assessments[0].outcome == result_code::assessment_terminated);
  CHECK(j.assessments[1].status == assessment_status::not_yet_run);
  for (auto& t : f.tasks(id)) {
    INFO("task " << t.id);
    CHECK(t.status == task_status::cancelled);
    CHECK(t.error_message == "terminated with job " + std::to_string(id));
  }
  f.end_attempt(a1, attempt_outcome::failed, -1, "killed by SIGKILL");
  CHECK(!f.try_take<op_reply>());
  f.end_attempt(a2, attempt_outcome::failed, -1, "killed by SIGKILL");
  auto r = f.try_take<op_reply>();
  REQUIRE(r);
  CHECK(r->code == result_code::ok);
  CHECK(f.started().size() == 2);
  // E4: every end event, each once.
  auto evs = f.events_of(id);
  for (task_id t : {1, 2, 3})
    CHECK(terminal_transitions(evs, t) == 1);
  CHECK(has_assessment_event(evs, 0, assessment_status::running,
                             assessment_status::completed,
                             result_code::assessment_terminated));
  CHECK(has_job_event(evs, job_status::running, job_status::cancelled,
                      result_code::job_cancelled));
  CHECK(transitions(evs, event_kind::job, 0, status(job_status::cancelled))
            .at(0)
            .who
        == "carol");
  // J12: a second terminate finds nothing running.
  CHECK(f.ask<op_reply>(terminate_job{id, "carol"}).code
        == result_code::no_job_running);
  check_replay(f, id);
}

TEST_CASE("J13 terminate_job replies terminate_failed when work is not "
          "confirmed dead within the bound",
          "[supervisor][J13]") {
  supervisor_options opts;
  opts.terminate_bound = std::chrono::milliseconds{1000};
  deterministic_fixture f{opts};
  f.add_node("fake", 2);
  auto id = f.submit(fn_job({2}));
  REQUIRE(f.started().size() == 2);
  auto a1 = f.started()[0];
  auto a2 = f.started()[1];
  f.send(terminate_job{id, "test"});
  f.run();
  f.end_attempt(a1, attempt_outcome::failed, -1);
  f.advance(900ms);
  CHECK(!f.try_take<op_reply>());
  f.advance(200ms);
  auto r = f.try_take<op_reply>();
  REQUIRE(r);
  CHECK(r->code == result_code::terminate_failed);
  // The statuses of J11 are set either way.
  CHECK(f.job(id).status == job_status::cancelled);
  // A late end gets no second reply.
  f.end_attempt(a2, attempt_outcome::failed, -1);
  CHECK(!f.try_take<op_reply>());
  SECTION("a node that reports an end not confirmed dead also fails it") {
    auto id2 = f.submit(fn_job({1}));
    auto b = f.attempt_of(id2, 1);
    f.send(terminate_job{id2, "test"});
    f.run();
    auto end = deterministic_fixture::make_end(b, attempt_outcome::failed, -1);
    end.confirmed_dead = false;
    deterministic_fixture::send_end(b, end);
    f.run();
    auto r2 = f.try_take<op_reply>();
    REQUIRE(r2);
    CHECK(r2->code == result_code::terminate_failed);
  }
}

TEST_CASE("J13 the bound of a terminate_job counts from that request, not "
          "from an earlier terminate of the same job",
          "[supervisor][J13]") {
  supervisor_options opts;
  opts.terminate_bound = std::chrono::milliseconds{1000};
  deterministic_fixture f{opts};
  f.add_node("fake", 1);
  auto id = f.submit(fn_job({1, 1}));
  f.end_attempt(f.started().at(0), attempt_outcome::failed, 1, "exit 1");
  REQUIRE(f.started().size() == 2);
  f.send(terminate_job{id, "test"});
  f.run();
  f.end_attempt(f.started()[1], attempt_outcome::failed, -1);
  REQUIRE(f.try_take<op_reply>());
  f.advance(500ms);
  // The job runs again (its failed task 1) and is terminated again.
  CHECK(f.ask<op_reply>(requeue_job{id, "test"}).code == result_code::ok);
  REQUIRE(f.started().size() == 3);
  CHECK(f.started()[2].key == attempt_key{id, 1, 2});
  f.send(terminate_job{id, "test"});
  f.run();
  // 1.1 s after the first terminate, 0.6 s after this one: still waiting.
  f.advance(600ms);
  CHECK(!f.try_take<op_reply>());
  f.advance(500ms);
  auto r = f.try_take<op_reply>();
  REQUIRE(r);
  CHECK(r->code == result_code::terminate_failed);
}

// -- cancel_task
// ----------------------------------------------------------------

TEST_CASE("T1 T2 T18 J21 cancel_task of a running task cancels it at once, "
          "stops it gracefully, and frees its slot when the work ends",
          "[supervisor][T1][T2][T18][J21]") {
  deterministic_fixture f;
  f.add_node("fake", 1);
  auto spec = fn_job({2}, 5s);
  // The task's own grace wins over the job's.
  spec.assessments[0].tasks[0].grace = 500ms;
  auto id = f.submit(spec);
  REQUIRE(f.started().size() == 1);
  auto a = f.started()[0];
  auto r = f.ask<task_op_reply>(cancel_task{id, 1, "no longer needed", "dan"});
  CHECK(r.code == result_code::ok);
  CHECK(r.status == task_status::cancelled);
  auto t = f.task(id, 1);
  CHECK(t.status == task_status::cancelled);
  CHECK(t.end_code == result_code::task_cancelled);
  CHECK(t.error_message == "no longer needed");
  CHECK(f.signals_of(id, 1) == std::vector<stop_mode>{stop_mode::request});
  // T18: the slot is still taken.
  CHECK(f.started().size() == 1);
  f.advance(400ms);
  CHECK(f.signals_of(id, 1) == std::vector<stop_mode>{stop_mode::request});
  f.advance(200ms);
  CHECK(f.signals_of(id, 1)
        == std::vector<stop_mode>{stop_mode::request, stop_mode::kill});
  CHECK(f.started().size() == 1);
  f.end_attempt(a, attempt_outcome::failed, -1, "killed by SIGKILL");
  REQUIRE(f.started().size() == 2);
  CHECK(f.started()[1].key == attempt_key{id, 2, 1});
  // The end changed no status and kept the cancel reason (R1, G5).
  t = f.task(id, 1);
  CHECK(t.status == task_status::cancelled);
  CHECK(t.error_message == "no longer needed");
  CHECK(terminal_transitions(f.events_of(id), 1) == 1);
  f.end_attempt(f.started()[1]);
  CHECK(f.job(id).status == job_status::failed);
  check_replay(f, id);
}

TEST_CASE("T7 T6 cancel_tasks applies the cancels before the first refusal, "
          "stop requests included",
          "[supervisor][T7][T6]") {
  deterministic_fixture f;
  f.add_node("fake", 1);
  auto id = f.submit(fn_job({3}));
  auto a = f.started().at(0);
  auto r = f.ask<cancel_tasks_reply>(cancel_tasks{id, {1, 9, 3}, "x", "eve"});
  CHECK(r.code == result_code::task_not_found);
  CHECK(r.codes
        == std::vector<result_code>{result_code::ok,
                                    result_code::task_not_found,
                                    result_code::not_attempted});
  CHECK(f.task(id, 1).status == task_status::cancelled);
  CHECK(f.task(id, 3).status == task_status::queued);
  CHECK(f.signals_of(id, 1) == std::vector<stop_mode>{stop_mode::request});
  f.end_attempt(a, attempt_outcome::stopped, -1);
  REQUIRE(f.started().size() == 2);
  CHECK(f.started()[1].key.task == 2);
  auto ok = f.ask<cancel_tasks_reply>(cancel_tasks{id, {2, 3}, "y", "eve"});
  CHECK(ok.code == result_code::ok);
  CHECK(ok.codes == std::vector<result_code>{result_code::ok, result_code::ok});
  CHECK(f.task(id, 3).status == task_status::cancelled);
}

// -- races
// ----------------------------------------------------------------------

TEST_CASE("R2 R1 a completion and a cancel_task in flight together: the one "
          "processed first wins, never both, never neither",
          "[supervisor][R2][R1][T3]") {
  deterministic_fixture f;
  f.add_node("fake", 1);
  auto id = f.submit(fn_job({1}));
  auto a = f.started().at(0);
  SECTION("completion processed first: the cancel is refused") {
    f.deliver_end(a, attempt_outcome::succeeded, 0);
    f.send(cancel_task{id, 1, "too late", "test"});
    f.run();
    auto r = f.take<task_op_reply>();
    CHECK(r.code == result_code::invalid_state);
    CHECK(r.status == task_status::finished);
    CHECK_THAT(r.detail, Catch::Contains("finished"));
    auto t = f.task(id, 1);
    CHECK(t.status == task_status::finished);
    CHECK(t.end_code == result_code::ok);
    CHECK(f.signals().empty());
    CHECK(f.job(id).status == job_status::finished);
  }
  SECTION("cancel processed first: the completion is stale") {
    f.send(cancel_task{id, 1, "first", "test"});
    f.deliver_end(a, attempt_outcome::succeeded, 0);
    f.run();
    auto r = f.take<task_op_reply>();
    CHECK(r.code == result_code::ok);
    CHECK(r.status == task_status::cancelled);
    auto t = f.task(id, 1);
    CHECK(t.status == task_status::cancelled);
    CHECK(t.end_code == result_code::task_cancelled);
    CHECK(t.error_message == "first");
    CHECK(t.exit_code == 0); // recorded, status unchanged
    CHECK(f.job(id).status == job_status::failed);
  }
  CHECK(terminal_transitions(f.events_of(id), 1) == 1);
  check_replay(f, id);
}

TEST_CASE("A5 R2 cancel_assessment racing with its assessment's end: the "
          "end first makes it invalid_index, the cancel first wins",
          "[supervisor][A5][R2]") {
  deterministic_fixture f;
  f.add_node("fake", 1);
  auto id = f.submit(fn_job({1, 1}));
  auto a = f.started().at(0);
  SECTION("the end is processed first") {
    f.deliver_end(a);
    f.send(cancel_assessment{id, 0, "test"});
    f.run();
    CHECK(f.take<op_reply>().code == result_code::invalid_index);
    auto j = f.job(id);
    CHECK(j.assessments[0].outcome == result_code::ok);
    CHECK(j.assessments[1].status == assessment_status::running);
    CHECK(f.task(id, 1).status == task_status::finished);
    CHECK(f.task(id, 2).status == task_status::running);
    CHECK(f.signals().empty());
  }
  SECTION("the cancel is processed first") {
    f.send(cancel_assessment{id, 0, "test"});
    f.deliver_end(a);
    f.run();
    CHECK(f.take<op_reply>().code == result_code::ok);
    auto j = f.job(id);
    CHECK(j.assessments[0].outcome == result_code::assessment_cancelled);
    CHECK(j.assessments[1].status == assessment_status::running);
    CHECK(f.task(id, 1).status == task_status::cancelled);
  }
  // Either way the next assessment runs.
  REQUIRE(f.started().size() == 2);
  CHECK(f.started()[1].key.task == 2);
  CHECK(terminal_transitions(f.events_of(id), 1) == 1);
  check_replay(f, id);
}

TEST_CASE("J5 J8 R2 cancel_job processed just after the current assessment "
          "ended lets the next assessment, already running, finish",
          "[supervisor][J5][J8][R2]") {
  deterministic_fixture f;
  f.add_node("fake", 2);
  auto id = f.submit(fn_job({1, 2, 1}));
  f.deliver_end(f.started().at(0));
  f.send(cancel_job{id, "enough", "test"});
  f.run();
  CHECK(f.take<op_reply>().code == result_code::ok);
  auto j = f.job(id);
  CHECK(j.status == job_status::cancelling);
  CHECK(j.assessments[0].outcome == result_code::ok);
  CHECK(j.current == 1);
  // Assessment 1 was dispatched before the cancel and now runs to its end.
  REQUIRE(f.started().size() == 3);
  auto b = f.started()[1];
  auto c = f.started()[2];
  CHECK(f.signals_of(id, 2) == std::vector<stop_mode>{stop_mode::request});
  CHECK(f.signals_of(id, 3) == std::vector<stop_mode>{stop_mode::request});
  CHECK(f.task(id, 4).status == task_status::cancelled);
  f.end_attempt(b);
  CHECK(f.job(id).status == job_status::cancelling);
  f.end_attempt(c);
  j = f.job(id);
  CHECK(j.status == job_status::cancelled);
  CHECK(j.end_code == result_code::job_cancelled);
  CHECK(j.assessments[1].outcome == result_code::ok);
  CHECK(j.assessments[2].status == assessment_status::not_yet_run);
  CHECK(f.task(id, 2).status == task_status::finished);
  CHECK(f.task(id, 3).status == task_status::finished);
  CHECK(f.started().size() == 3);
  check_replay(f, id);
}

TEST_CASE("T11 T16 T17 requeue_task of a running task cancels it, queues it, "
          "and starts attempt 2 only after attempt 1 has ended",
          "[supervisor][T11][T16][T17]") {
  deterministic_fixture f;
  f.add_node("fake", 2);
  auto id = f.submit(fn_job({1}, 1s));
  auto a = f.started().at(0);
  auto r = f.ask<task_op_reply>(requeue_task{id, 1, "test"});
  CHECK(r.code == result_code::ok);
  CHECK(r.status == task_status::queued);
  auto evs = f.events_of(id);
  auto to_cancelled
      = transitions(evs, event_kind::task, 1, status(task_status::cancelled));
  REQUIRE(to_cancelled.size() == 1);
  CHECK(to_cancelled[0].message == "cancelled for requeue");
  CHECK(
      transitions(evs, event_kind::task, 1, status(task_status::queued)).size()
      == 2); // submit, requeue
  CHECK(f.signals_of(id, 1) == std::vector<stop_mode>{stop_mode::request});
  // A free slot, but the old attempt is live: nothing starts.
  f.advance(2s);
  CHECK(f.signals_of(id, 1)
        == std::vector<stop_mode>{stop_mode::request, stop_mode::kill});
  CHECK(f.started().size() == 1);
  CHECK(f.job(id).status == job_status::running);
  f.end_attempt(a, attempt_outcome::failed, -1, "killed");
  REQUIRE(f.started().size() == 2);
  CHECK(f.started()[1].key == attempt_key{id, 1, 2});
  auto t = f.task(id, 1);
  CHECK(t.status == task_status::running);
  CHECK(t.attempts == 2);
  CHECK(t.requeue_count == 1);
  // A duplicate report of attempt 1 changes nothing.
  f.end_attempt(a, attempt_outcome::succeeded, 0);
  CHECK(f.task(id, 1).status == task_status::running);
  f.end_attempt(f.started()[1]);
  CHECK(f.task(id, 1).status == task_status::finished);
  CHECK(f.job(id).status == job_status::finished);
  check_replay(f, id);
}

TEST_CASE("J11 J13 terminate_job of a cancelling job kills the work that "
          "cancel_job let run",
          "[supervisor][J11][J13][J9]") {
  deterministic_fixture f;
  f.add_node("fake", 1);
  auto id = f.submit(fn_job({1, 1}));
  auto a = f.started().at(0);
  CHECK(f.ask<op_reply>(cancel_job{id, "", "test"}).code == result_code::ok);
  // J9: a second cancel_job is refused.
  CHECK(f.ask<op_reply>(cancel_job{id, "", "test"}).code
        == result_code::invalid_state);
  f.send(terminate_job{id, "test"});
  f.run();
  CHECK(!f.try_take<op_reply>());
  CHECK(f.signals_of(id, 1)
        == std::vector<stop_mode>{stop_mode::request, stop_mode::kill});
  auto j = f.job(id);
  CHECK(j.status == job_status::cancelled);
  CHECK(j.assessments[0].outcome == result_code::assessment_terminated);
  CHECK(f.task(id, 1).status == task_status::cancelled);
  f.end_attempt(a, attempt_outcome::failed, -1);
  auto r = f.try_take<op_reply>();
  REQUIRE(r);
  CHECK(r->code == result_code::ok);
  auto evs = f.events_of(id);
  CHECK(has_job_event(evs, job_status::cancelling, job_status::cancelled,
                      result_code::job_cancelled));
  CHECK(
      transitions(evs, event_kind::job, 0, status(job_status::cancelled)).size()
      == 1);
  CHECK(f.started().size() == 1);
  check_replay(f, id);
}

// -- requeue_job
// ----------------------------------------------------------------

TEST_CASE("J15 J18 requeue_job after a failure reruns only the failed tasks "
          "and the job can finish",
          "[supervisor][J15][J18]") {
  deterministic_fixture f;
  f.add_node("fake", 3);
  auto id = f.submit(fn_job({3, 1}));
  REQUIRE(f.started().size() == 3);
  f.end_attempt(f.started()[0]);
  f.end_attempt(f.started()[1], attempt_outcome::failed, 3, "exit code 3");
  f.end_attempt(f.started()[2]);
  // J18: the failed assessment does not stop the next one.
  REQUIRE(f.started().size() == 4);
  CHECK(f.started()[3].key.task == 4);
  f.end_attempt(f.started()[3]);
  auto j = f.job(id);
  CHECK(j.status == job_status::failed);
  CHECK(j.end_code == result_code::job_failed);
  CHECK(j.assessments[0].outcome == result_code::assessment_failed);
  auto t2 = f.task(id, 2);
  CHECK(t2.status == task_status::failed);
  CHECK(t2.exit_code == 3);
  CHECK(t2.error_message == "exit code 3");
  CHECK(f.ask<op_reply>(requeue_job{id, "test"}).code == result_code::ok);
  // Only task 2 runs again, as its attempt 2.
  REQUIRE(f.started().size() == 5);
  CHECK(f.started()[4].key == attempt_key{id, 2, 2});
  CHECK(f.task(id, 1).status == task_status::finished);
  CHECK(f.task(id, 4).status == task_status::finished);
  f.end_attempt(f.started()[4]);
  j = f.job(id);
  CHECK(j.status == job_status::finished);
  CHECK(j.end_code == result_code::ok);
  CHECK(j.requeue_count == 1);
  CHECK(f.started().size() == 5);
  // G5: the success kept the earlier failure's message.
  CHECK(f.task(id, 2).error_message == "exit code 3");
  CHECK(f.task(id, 2).requeue_count == 1);
  check_replay(f, id);
}

// -- lost nodes
// -----------------------------------------------------------------

TEST_CASE("R8 a task whose node is lost is requeued with node_lost until its "
          "retries are used up, then fails",
          "[supervisor][R8]") {
  deterministic_fixture f;
  auto n1 = f.add_node("n1", 1);
  auto spec = fn_job({1});
  spec.policy.retries = 2;
  auto id = f.submit(spec);
  REQUIRE(f.started().size() == 1);
  caf::anon_send_exit(n1, caf::exit_reason::kill);
  f.run();
  auto t = f.task(id, 1);
  CHECK(t.status == task_status::queued);
  CHECK(t.node_losses == 1);
  CHECK(t.requeue_count == 1);
  auto nodes = f.ask<node_list>(list_nodes{});
  REQUIRE(nodes.nodes.size() == 1);
  CHECK(nodes.nodes[0].status == node_status::unreachable);
  auto evs = f.events_of(id);
  auto requeued
      = transitions(evs, event_kind::task, 1, status(task_status::queued));
  REQUIRE(requeued.size() == 2);
  CHECK(requeued[1].previous == status(task_status::running));
  CHECK(requeued[1].code == result_code::node_lost);
  // No node: it waits.
  CHECK(f.started().size() == 1);
  auto n2 = f.add_node("n2", 1);
  REQUIRE(f.started().size() == 2);
  CHECK(f.started()[1].key == attempt_key{id, 1, 2});
  CHECK(f.started()[1].node == "n2");
  caf::anon_send_exit(n2, caf::exit_reason::kill);
  f.run();
  CHECK(f.task(id, 1).status == task_status::queued);
  CHECK(f.task(id, 1).node_losses == 2);
  auto n3 = f.add_node("n3", 1);
  REQUIRE(f.started().size() == 3);
  caf::anon_send_exit(n3, caf::exit_reason::kill);
  f.run();
  t = f.task(id, 1);
  CHECK(t.status == task_status::failed);
  CHECK(t.end_code == result_code::node_lost);
  auto j = f.job(id);
  CHECK(j.status == job_status::failed);
  CHECK(j.end_code == result_code::job_failed);
  check_replay(f, id);
}

// -- time limit
// -----------------------------------------------------------------

TEST_CASE("R6 J21 a task past its time limit gets a stop request, a kill "
          "after the grace period, and fails with timeout",
          "[supervisor][R6][J21]") {
  deterministic_fixture f;
  f.add_node("fake", 1);
  auto spec = fn_job({1}, 1s);
  spec.assessments[0].tasks[0].time_limit = 2s;
  auto id = f.submit(spec);
  auto a = f.started().at(0);
  f.advance(1900ms);
  CHECK(f.signals_of(id, 1).empty());
  f.advance(200ms);
  CHECK(f.signals_of(id, 1) == std::vector<stop_mode>{stop_mode::request});
  f.advance(800ms);
  CHECK(f.signals_of(id, 1) == std::vector<stop_mode>{stop_mode::request});
  f.advance(200ms);
  CHECK(f.signals_of(id, 1)
        == std::vector<stop_mode>{stop_mode::request, stop_mode::kill});
  CHECK(f.task(id, 1).status == task_status::running);
  f.end_attempt(a, attempt_outcome::failed, -1, "killed by SIGKILL");
  auto t = f.task(id, 1);
  CHECK(t.status == task_status::failed);
  CHECK(t.end_code == result_code::timeout);
  CHECK_THAT(t.error_message, Catch::Contains("time limit"));
  CHECK(f.job(id).status == job_status::failed);
}

// -- events
// ---------------------------------------------------------------------

TEST_CASE("E1 E2 every change is published once, in order, and replaying "
          "the stream gives the books' statuses",
          "[supervisor][E1][E2]") {
  deterministic_fixture f;
  f.add_node("fake", 2);
  auto id = f.submit(fn_job({3, 2}, 1s));
  auto other = f.submit(fn_job({1}));
  size_t ended = 0;
  f.end_attempt(f.started().at(ended++), attempt_outcome::failed, 2, "exit 2");
  CHECK(f.ask<task_op_reply>(requeue_task{id, 1, "frank"}).code
        == result_code::ok);
  CHECK(f.ask<task_op_reply>(cancel_task{id, 3, "skip", "frank"}).code
        == result_code::ok);
  // Play every attempt to success, in start order, until none is left
  // (including the one of cancelled task 3: its work still runs, A2).
  for (; ended < f.started().size() && ended < 50; ++ended)
    f.end_attempt(f.started()[ended]);
  CHECK(f.job(other).status == job_status::finished);
  CHECK(is_terminal(f.job(id).status));
  auto evs = f.events_of(id);
  // E2: the fields of a request's event and of a node's event.
  auto cancelled
      = transitions(evs, event_kind::task, 3, status(task_status::cancelled));
  REQUIRE(cancelled.size() == 1);
  CHECK(cancelled[0].who == "frank");
  CHECK(cancelled[0].message == "skip");
  CHECK(cancelled[0].code == result_code::task_cancelled);
  CHECK(cancelled[0].job == id);
  CHECK(cancelled[0].time.time_since_epoch().count() > 0);
  auto failed
      = transitions(evs, event_kind::task, 1, status(task_status::failed));
  REQUIRE(failed.size() == 1);
  CHECK(failed[0].who == "fake");
  CHECK(failed[0].code == result_code::task_failed);
  CHECK(failed[0].message == "exit 2");
  // E1: job begin and end once each, assessments in order.
  CHECK(transitions(evs, event_kind::job, 0, status(job_status::running)).size()
        == 1);
  std::vector<uint64_t> begun;
  for (auto& ev : evs)
    if (ev.kind == event_kind::assessment
        && ev.current == status(assessment_status::running)
        && ev.previous == status(assessment_status::not_yet_run))
      begun.push_back(ev.subject);
  CHECK(begun == std::vector<uint64_t>{0, 1});
  // The whole stream is strictly ordered, across jobs too.
  for (size_t i = 1; i < f.events->size(); ++i)
    CHECK((*f.events)[i - 1].seq < (*f.events)[i].seq);
  check_replay(f, id);
  check_replay(f, other);
}

TEST_CASE("E5 progress reports are published as progress events and change "
          "no status",
          "[supervisor][E5]") {
  deterministic_fixture f;
  f.add_node("fake", 1);
  auto id = f.submit(fn_job({1}));
  auto a = f.started().at(0);
  f.progress(a, 50, "half way");
  auto evs = f.events_of(id);
  REQUIRE(!evs.empty());
  auto& ev = evs.back();
  CHECK(ev.kind == event_kind::progress);
  CHECK(ev.subject == 1);
  CHECK(ev.percent == 50);
  CHECK(ev.message == "half way");
  CHECK(ev.current == status(task_status::running));
  CHECK(f.task(id, 1).status == task_status::running);
  f.end_attempt(a);
  auto before = f.events->size();
  f.progress(a, 99, "too late");
  CHECK(f.events->size() == before);
}

TEST_CASE("E7 every subscriber sees the same stream", "[supervisor][E7]") {
  deterministic_fixture f;
  auto second = std::make_shared<std::vector<event>>();
  auto sink = f.sys.spawn(event_recorder_impl, second);
  CHECK(f.ask<op_reply>(subscribe{sink}).code == result_code::ok);
  f.add_node("fake", 1);
  auto id = f.submit(fn_job({1}));
  f.end_attempt(f.started().at(0));
  CHECK(f.job(id).status == job_status::finished);
  REQUIRE(second->size() == f.events->size());
  for (size_t i = 0; i < second->size(); ++i) {
    CHECK((*second)[i].seq == (*f.events)[i].seq);
    CHECK((*second)[i].current == (*f.events)[i].current);
  }
  caf::anon_send_exit(sink, caf::exit_reason::kill);
  f.run();
}

// -- every request gets a reply
// -------------------------------------------------

TEST_CASE("G1 G6 every request about an unknown job is refused job_not_found",
          "[supervisor][G1][G6]") {
  deterministic_fixture f;
  for (job_id id : {job_id{0}, job_id{42}}) {
    INFO("job " << id);
    CHECK(f.ask<op_reply>(submit_job{id, "t"}).code
          == result_code::job_not_found);
    CHECK(f.ask<op_reply>(cancel_job{id, "", "t"}).code
          == result_code::job_not_found);
    CHECK(f.ask<op_reply>(cancel_assessment{id, 0, "t"}).code
          == result_code::job_not_found);
    CHECK(f.ask<op_reply>(terminate_job{id, "t"}).code
          == result_code::job_not_found);
    CHECK(f.ask<op_reply>(requeue_job{id, "t"}).code
          == result_code::job_not_found);
    CHECK(f.ask<task_op_reply>(cancel_task{id, 1, "", "t"}).code
          == result_code::job_not_found);
    CHECK(f.ask<cancel_tasks_reply>(cancel_tasks{id, {1}, "", "t"}).code
          == result_code::job_not_found);
    CHECK(f.ask<task_op_reply>(requeue_task{id, 1, "t"}).code
          == result_code::job_not_found);
    CHECK(f.ask<add_task_reply>(add_task{id, 0, fn_task("w"), "t"}).code
          == result_code::job_not_found);
    CHECK(f.ask<task_list>(list_tasks{id, false, task_status::queued}).code
          == result_code::job_not_found);
    CHECK(f.ask<job_status_reply>(get_job_status{id}).code
          == result_code::job_not_found);
    CHECK(f.ask<task_status_reply>(get_task_status{id, 1}).code
          == result_code::job_not_found);
    CHECK(f.ask<job_status_reply>(wait_job{id}).code
          == result_code::job_not_found);
  }
  // Exactly one reply each: nothing is left over.
  CHECK(!f.try_take<op_reply>());
}

TEST_CASE("G1 wait_job replies once the job is terminal", "[supervisor][G1]") {
  deterministic_fixture f;
  f.add_node("fake", 1);
  auto id = f.submit(fn_job({1}));
  f.send(wait_job{id});
  f.run();
  CHECK(!f.try_take<job_status_reply>());
  f.end_attempt(f.started().at(0));
  auto r = f.try_take<job_status_reply>();
  REQUIRE(r);
  CHECK(r->code == result_code::ok);
  CHECK(r->job.status == job_status::finished);
}
