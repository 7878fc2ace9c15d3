// Tests of the pure rules table (actors/rules.hpp). Every TEST_CASE name
// starts with the ID of the rule of docs/semantics.md it checks; the
// status x operation tables cover all 7 job and all 6 task statuses.

#include "actors/rules.hpp"
#include "messages/text.hpp"
#include "support/printers.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <initializer_list>
#include <set>
#include <string>
#include <vector>

using namespace quiesce;

namespace {

constexpr job_id the_job = 7;

const caf::timestamp t0{caf::timespan{1'000'000'000}};

constexpr std::array<job_status, 7> all_job_statuses{
    job_status::not_submitted, job_status::queued,   job_status::running,
    job_status::cancelling,    job_status::finished, job_status::failed,
    job_status::cancelled};

constexpr std::array<task_status, 6> all_task_statuses{
    task_status::not_submitted, task_status::queued, task_status::running,
    task_status::finished,      task_status::failed, task_status::cancelled};

std::string repeat(const std::string& s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i)
    out += s;
  return out;
}

// 320 and 321 code points of two bytes each ("é").
const std::string msg_320 = repeat("\xC3\xA9", 320);
const std::string msg_321 = repeat("\xC3\xA9", 321);
// A lone continuation byte and an overlong '/'.
const std::string bad_utf8 = "stop \x80 now";
const std::string overlong = "\xC0\xAF";

// -- building books -----------------------------------------------------------

task_spec command_task(std::string name) {
  task_spec spec;
  spec.name = std::move(name);
  spec.command.argv = {"true"};
  return spec;
}

// Returns a not_submitted job with one assessment per entry of `sizes`, each
// holding that many tasks; task ids count from 1 across the job.
job_books make_books(std::initializer_list<size_t> sizes,
                     job_policy policy = {}) {
  job_books b;
  b.job.id = the_job;
  b.job.name = "j";
  b.job.policy = policy;
  task_id next = 1;
  assessment_index index = 0;
  for (auto n : sizes) {
    assessment_record a;
    a.index = index;
    a.name = "a" + std::to_string(index);
    for (size_t k = 0; k < n; ++k) {
      task_record t;
      t.id = next++;
      t.job = the_job;
      t.assessment = index;
      t.spec = command_task("t" + std::to_string(t.id));
      a.tasks.push_back(t.id);
      b.tasks.push_back(std::move(t));
    }
    b.job.assessments.push_back(std::move(a));
    ++index;
  }
  return b;
}

bool active(const job_books& b) {
  return b.job.status == job_status::running
         || b.job.status == job_status::cancelling;
}

const task_record& task(const job_books& b, task_id id) {
  const auto* t = b.find(id);
  REQUIRE(t != nullptr);
  return *t;
}

const assessment_record& assessment(const job_books& b, size_t index) {
  REQUIRE(index < b.job.assessments.size());
  return b.job.assessments[index];
}

// Applies every change of `d` in order, as the supervisor does.
void apply_all(job_books& b, const decision& d) {
  for (const auto& c : d.changes)
    apply(b, c, t0);
}

// Calls advance until it returns nothing (bounded), applying each step.
void settle(job_books& b) {
  for (int i = 0; i < 100; ++i) {
    auto d = advance(b);
    if (d.changes.empty())
      return;
    apply_all(b, d);
  }
  FAIL("advance did not settle within 100 steps");
}

void submit(job_books& b) {
  auto d = decide(b, submit_job{the_job, "test"});
  REQUIRE(d);
  apply_all(b, d);
}

// Submits the job if needed, starts it and settles it.
void begin(job_books& b) {
  if (b.job.status == job_status::not_submitted)
    submit(b);
  auto d = start(b);
  REQUIRE_FALSE(d.changes.empty());
  apply_all(b, d);
  settle(b);
}

// Dispatches task `id` as the supervisor would: queued -> running, live.
void dispatch(job_books& b, task_id id) {
  REQUIRE(dispatchable(b, task(b, id)));
  apply(b, task_change(id, task_status::queued, task_status::running), t0);
  b.live[id] = task(b, id).attempts;
}

// Dispatches every dispatchable task.
void dispatch_all(job_books& b) {
  for (const auto& t : b.tasks)
    if (dispatchable(b, t))
      dispatch(b, t.id);
}

// Returns the report of the end of task `id`'s latest attempt.
attempt_ended report_for(const job_books& b, task_id id, attempt_outcome out,
                         result_code code = result_code::ok) {
  attempt_ended r;
  r.key = attempt_key{the_job, id, task(b, id).attempts};
  r.outcome = out;
  r.code = code;
  r.node = "local";
  return r;
}

// Reports the end of task `id`'s live attempt: applies the decision, drops
// the live attempt and settles. Returns the decision.
decision end_attempt(job_books& b, task_id id, attempt_outcome out,
                     result_code code = result_code::ok,
                     bool stop_requested = false) {
  auto r = report_for(b, id, out, code);
  r.stop_requested = stop_requested;
  auto d = decide(b, r);
  apply_all(b, d);
  b.live.erase(id);
  settle(b);
  return d;
}

// Runs the job to its end: every dispatched task succeeds unless its id is
// in `fails`. Bounded.
void run_to_end(job_books& b, const std::set<task_id>& fails = {}) {
  for (int i = 0; i < 100 && active(b); ++i) {
    dispatch_all(b);
    std::vector<task_id> ids;
    for (const auto& entry : b.live)
      ids.push_back(entry.first);
    if (ids.empty())
      return;
    std::sort(ids.begin(), ids.end());
    for (auto id : ids) {
      if (fails.count(id) > 0)
        end_attempt(b, id, attempt_outcome::failed, result_code::task_failed);
      else
        end_attempt(b, id, attempt_outcome::succeeded);
    }
  }
}

// Returns a job of assessments {2, 2, 1} (tasks 1-2, 3-4, 5) in status `s`:
// - running: assessment 0 finished, 1 current with task 3 running (live) and
//   task 4 queued, task 5 queued;
// - cancelling: that running job after cancel_job;
// - finished / failed (task 5 failed) / cancelled (cancelled while queued).
job_books books_in(job_status s) {
  auto b = make_books({2, 2, 1});
  switch (s) {
    case job_status::not_submitted:
      break;
    case job_status::queued:
      submit(b);
      break;
    case job_status::running:
    case job_status::cancelling:
      begin(b);
      dispatch_all(b);
      end_attempt(b, 1, attempt_outcome::succeeded);
      end_attempt(b, 2, attempt_outcome::succeeded);
      dispatch(b, 3);
      if (s == job_status::cancelling)
        apply_all(b, decide(b, cancel_job{the_job, "", "test"}));
      break;
    case job_status::finished:
      begin(b);
      run_to_end(b);
      break;
    case job_status::failed:
      begin(b);
      run_to_end(b, {5});
      break;
    case job_status::cancelled:
      submit(b);
      apply_all(b, decide(b, cancel_job{the_job, "", "test"}));
      break;
  }
  REQUIRE(b.job.status == s);
  return b;
}

// Returns a running job of assessments {2, 2, 1}, assessment 0 current, whose
// task 1 is set to `s` (and to non-rerunnable when asked).
job_books books_with_task1(task_status s, bool rerunnable = true) {
  auto b = make_books({2, 2, 1});
  begin(b);
  auto& t = *b.find(1);
  t.spec.rerunnable = rerunnable;
  t.status = s;
  if (s == task_status::running) {
    t.attempts = 1;
    b.live[1] = 1;
  }
  return b;
}

size_t index_of(job_status s) {
  return static_cast<size_t>(s);
}

// Returns the first change of `d` about `subject`, or nullptr.
const transition* change_of(const decision& d, event_kind kind,
                            uint64_t subject) {
  for (const auto& c : d.changes)
    if (c.kind == kind && c.subject == subject)
      return &c;
  return nullptr;
}

size_t count_changes(const decision& d, event_kind kind) {
  return static_cast<size_t>(
      std::count_if(d.changes.begin(), d.changes.end(),
                    [&](const transition& c) { return c.kind == kind; }));
}

/// Returns `x` as a transition carries it.
template <class Status>
entity_status status(Status x) {
  return x;
}

// A refused decision carries nothing to apply (rule G2).
void check_refused(const decision& d, result_code expected) {
  CHECK(d.code == expected);
  CHECK_FALSE(d.detail.empty());
  CHECK(d.changes.empty());
  CHECK(d.stop.empty());
}

} // namespace

// -- G: every request
// -----------------------------------------------------------

TEST_CASE("G2 refused requests return no changes and stop nothing",
          "[rules][G2]") {
  auto b = books_in(job_status::running);
  check_refused(decide(b, add_task{the_job, 0, command_task("x"), "t"}),
                result_code::invalid_state);
  check_refused(decide(b, submit_job{the_job, "t"}),
                result_code::invalid_state);
  check_refused(decide(b, cancel_assessment{the_job, 0, "t"}),
                result_code::invalid_index);
  check_refused(decide(b, cancel_task{the_job, 1, "", "t"}),
                result_code::invalid_state);
  check_refused(decide(b, cancel_task{the_job, 3, msg_321, "t"}),
                result_code::message_too_long);
  check_refused(decide(b, requeue_task{the_job, 1, "t"}),
                result_code::invalid_state);
  check_refused(decide(b, requeue_job{the_job, "t"}),
                result_code::invalid_state);
  check_refused(decide(b, cancel_tasks{the_job, {}, "", "t"}),
                result_code::invalid_argument);
  auto c = books_in(job_status::cancelling);
  check_refused(decide(c, cancel_job{the_job, "", "t"}),
                result_code::invalid_state);
  auto f = books_in(job_status::finished);
  check_refused(decide(f, terminate_job{the_job, "t"}),
                result_code::no_job_running);
}

TEST_CASE("G3 the message is checked before the state", "[rules][G3]") {
  // A terminal job with a bad message: the message is named first.
  auto f = books_in(job_status::finished);
  check_refused(decide(f, cancel_job{the_job, msg_321, "t"}),
                result_code::message_too_long);
  check_refused(decide(f, cancel_job{the_job, bad_utf8, "t"}),
                result_code::invalid_utf8);
  auto c = books_in(job_status::cancelling);
  check_refused(decide(c, cancel_job{the_job, msg_321, "t"}),
                result_code::message_too_long);
  // A finished task with a bad message: the message is named first.
  check_refused(decide(f, cancel_task{the_job, 1, msg_321, "t"}),
                result_code::message_too_long);
  // An unknown task is named before a bad message.
  check_refused(decide(f, cancel_task{the_job, 99, msg_321, "t"}),
                result_code::task_not_found);
}

TEST_CASE("G4 cancel messages of 320 code points are accepted, 321 or "
          "invalid UTF-8 are refused",
          "[rules][G4]") {
  SECTION("cancel_job") {
    auto b = books_in(job_status::queued);
    check_refused(decide(b, cancel_job{the_job, msg_321, "t"}),
                  result_code::message_too_long);
    check_refused(decide(b, cancel_job{the_job, bad_utf8, "t"}),
                  result_code::invalid_utf8);
    check_refused(decide(b, cancel_job{the_job, overlong, "t"}),
                  result_code::invalid_utf8);
    auto d = decide(b, cancel_job{the_job, msg_320, "t"});
    REQUIRE(d);
    apply_all(b, d);
    CHECK(b.job.error_message == msg_320);
    CHECK(task(b, 1).error_message == msg_320);
  }
  SECTION("cancel_task") {
    auto b = books_in(job_status::running);
    check_refused(decide(b, cancel_task{the_job, 3, msg_321, "t"}),
                  result_code::message_too_long);
    check_refused(decide(b, cancel_task{the_job, 3, bad_utf8, "t"}),
                  result_code::invalid_utf8);
    auto d = decide(b, cancel_task{the_job, 3, msg_320, "t"});
    REQUIRE(d);
    apply_all(b, d);
    CHECK(task(b, 3).error_message == msg_320);
  }
  SECTION("cancel_tasks") {
    auto b = books_in(job_status::running);
    for (const auto& bad : {msg_321, bad_utf8}) {
      auto d = decide(b, cancel_tasks{the_job, {3, 4}, bad, "t"});
      CHECK_FALSE(d);
      CHECK(d.changes.empty());
      CHECK(d.codes.size() == 2);
    }
    auto d = decide(b, cancel_tasks{the_job, {3, 4}, msg_320, "t"});
    REQUIRE(d);
    apply_all(b, d);
    CHECK(task(b, 3).error_message == msg_320);
    CHECK(task(b, 4).error_message == msg_320);
  }
}

TEST_CASE("G5 the last message set wins and an empty one keeps it",
          "[rules][G5]") {
  auto b = books_in(job_status::running);
  auto r = report_for(b, 3, attempt_outcome::failed, result_code::task_failed);
  r.message = "exit code 3";
  apply_all(b, decide(b, r));
  b.live.erase(3);
  CHECK(task(b, 3).error_message == "exit code 3");
  // A requeue sets no message: the runtime error stays readable.
  apply_all(b, decide(b, requeue_task{the_job, 3, "t"}));
  CHECK(task(b, 3).error_message == "exit code 3");
  // A cancel reason replaces it.
  apply_all(b, decide(b, cancel_task{the_job, 3, "no longer needed", "t"}));
  CHECK(task(b, 3).error_message == "no longer needed");
  // A transition without a message keeps the current one.
  apply(b, task_change(3, task_status::cancelled, task_status::queued), t0);
  CHECK(task(b, 3).error_message == "no longer needed");
}

// -- S: specs
// -------------------------------------------------------------------

TEST_CASE("S1 S2 validate refuses bad specs and names the first problem",
          "[rules][S1][S2]") {
  job_spec good;
  good.name = "ok";
  good.assessments.push_back({"a", {command_task("t")}});
  task_spec fn;
  fn.kind = work_kind::function;
  fn.work = "sleep";
  good.assessments[0].tasks.push_back(fn);
  REQUIRE(validate(good));
  auto refused = [](const job_spec& spec, const std::string& needle) {
    auto d = validate(spec);
    CHECK(d.code == result_code::invalid_argument);
    CHECK(d.detail.find(needle) != std::string::npos);
    CHECK(d.changes.empty());
  };
  SECTION("job level") {
    auto s = good;
    s.name = msg_321;
    refused(s, "job name");
    s = good;
    s.name = bad_utf8;
    refused(s, "job name");
    s = good;
    s.policy.grace = caf::timespan{-1};
    refused(s, "grace");
    s = good;
    s.assessments.push_back({"empty", {}});
    refused(s, "assessment 1 has no tasks");
  }
  SECTION("task level, located by assessment and task") {
    auto with = [&](task_spec t) {
      auto s = good;
      s.assessments.push_back({"b", {command_task("x"), std::move(t)}});
      return s;
    };
    auto t = command_task("t");
    t.command.argv.clear();
    refused(with(t), "assessment 1, task 1: a command task needs");
    t.command.argv = {""};
    refused(with(t), "non-empty argv");
    t = fn;
    t.work.clear();
    refused(with(t), "work name");
    t = command_task("t");
    t.time_limit = caf::timespan{-5};
    refused(with(t), "time limit");
    t = command_task("t");
    t.stop_signal = 0;
    refused(with(t), "stop signal");
    t.stop_signal = 65;
    refused(with(t), "stop signal");
    t = command_task("t");
    t.grace = caf::timespan{-2};
    refused(with(t), "grace");
    t = command_task("t");
    t.name = msg_321;
    refused(with(t), "task name");
    t = command_task("t");
    t.command.limits.memory_max = 1000;
    refused(with(t), "memory_max must be at least 1 MiB");
    t = command_task("t");
    t.command.limits.cpu_millis = 9;
    refused(with(t), "cpus must be from 0.01 to 1024");
    t.command.limits.cpu_millis = 1024001;
    refused(with(t), "cpus must be from 0.01 to 1024");
    t = command_task("t");
    t.command.limits.pids_max = 4194305;
    refused(with(t), "pids_max must be at most 4194304");
    t = fn;
    t.command.limits.pids_max = 10;
    refused(with(t), "resource limits apply to command tasks only");
  }
  SECTION("limits that are accepted") {
    auto t = command_task(msg_320);
    t.stop_signal = 64;
    t.grace = caf::timespan{0};
    t.time_limit = caf::timespan{0};
    CHECK(validate(t));
    t.stop_signal = 1;
    t.grace = caf::timespan{-1}; // the job's grace
    CHECK(validate(t));
    t.command.limits = {uint64_t{1} << 20, 10, 4194304};
    CHECK(validate(t));
    t.command.limits = {uint64_t{1} << 40, 1024000, 1};
    CHECK(validate(t));
  }
}

TEST_CASE("S3 a job with no assessments is valid", "[rules][S3]") {
  job_spec s;
  s.name = "empty";
  CHECK(validate(s));
}

// -- J: job operations
// ----------------------------------------------------------

TEST_CASE("J1 add_task is accepted only while the job is not_submitted",
          "[rules][J1]") {
  for (auto s : all_job_statuses) {
    INFO("job status " << to_name(s));
    auto b = books_in(s);
    auto d = decide(b, add_task{the_job, 0, command_task("x"), "t"});
    if (s == job_status::not_submitted) {
      CHECK(d);
      CHECK(d.changes.empty()); // the supervisor creates the record
    } else {
      check_refused(d, result_code::invalid_state);
      CHECK(d.detail.find(std::string{to_name(s)}) != std::string::npos);
    }
  }
}

TEST_CASE("J2 add_task appends an assessment at index == count and refuses "
          "past it",
          "[rules][J2]") {
  auto b = books_in(job_status::not_submitted);
  CHECK(decide(b, add_task{the_job, 0, command_task("x"), "t"}));
  CHECK(decide(b, add_task{the_job, 2, command_task("x"), "t"}));
  CHECK(decide(b, add_task{the_job, 3, command_task("x"), "t"}));
  check_refused(decide(b, add_task{the_job, 4, command_task("x"), "t"}),
                result_code::invalid_argument);
  auto bad = command_task("x");
  bad.command.argv.clear();
  check_refused(decide(b, add_task{the_job, 0, bad, "t"}),
                result_code::invalid_argument);
}

TEST_CASE("J3 submit_job queues a not_submitted job and its tasks, refuses "
          "every other status",
          "[rules][J3]") {
  for (auto s : all_job_statuses) {
    INFO("job status " << to_name(s));
    auto b = books_in(s);
    auto d = decide(b, submit_job{the_job, "t"});
    if (s != job_status::not_submitted) {
      check_refused(d, result_code::invalid_state);
      continue;
    }
    REQUIRE(d);
    CHECK(count_changes(d, event_kind::task) == 5);
    apply_all(b, d);
    CHECK(b.job.status == job_status::queued);
    CHECK(b.job.submitted == t0);
    for (const auto& t : b.tasks) {
      CHECK(t.status == task_status::queued);
      CHECK(t.submitted == t0);
    }
    CHECK(b.job.current == -1);
  }
}

TEST_CASE("J4 J5 J9 J10 cancel_job answers each of the 7 job statuses",
          "[rules][J4][J5][J9][J10]") {
  std::array<result_code, 7> expected{};
  expected[index_of(job_status::not_submitted)] = result_code::ok;
  expected[index_of(job_status::queued)] = result_code::ok;
  expected[index_of(job_status::running)] = result_code::ok;
  expected[index_of(job_status::cancelling)] = result_code::invalid_state;
  expected[index_of(job_status::finished)] = result_code::no_job_running;
  expected[index_of(job_status::failed)] = result_code::no_job_running;
  expected[index_of(job_status::cancelled)] = result_code::no_job_running;
  for (auto s : all_job_statuses) {
    INFO("job status " << to_name(s));
    auto b = books_in(s);
    auto d = decide(b, cancel_job{the_job, "bye", "t"});
    CHECK(d.code == expected[index_of(s)]);
    if (!d) {
      check_refused(d, expected[index_of(s)]);
      continue;
    }
    const auto* j = change_of(d, event_kind::job, 0);
    REQUIRE(j != nullptr);
    CHECK(j->from == status(s));
    CHECK(j->to
          == status(s == job_status::running ? job_status::cancelling
                                             : job_status::cancelled));
    CHECK(j->code == result_code::job_cancelled);
  }
}

TEST_CASE("J4 cancel_job on a job not yet running cancels it and all its "
          "tasks at once",
          "[rules][J4]") {
  for (auto s : {job_status::not_submitted, job_status::queued}) {
    INFO("job status " << to_name(s));
    auto b = books_in(s);
    auto d = decide(b, cancel_job{the_job, "", "t"});
    REQUIRE(d);
    CHECK(d.stop.empty());
    CHECK(count_changes(d, event_kind::task) == 5);
    apply_all(b, d);
    CHECK(b.job.status == job_status::cancelled);
    CHECK(b.job.end_code == result_code::job_cancelled);
    CHECK(b.job.ended == t0);
    for (const auto& t : b.tasks) {
      CHECK(t.status == task_status::cancelled);
      CHECK(t.end_code == result_code::task_cancelled);
      CHECK(t.error_message == "cancelled with job 7");
    }
    // Nothing starts afterwards.
    CHECK(start(b).changes.empty());
    CHECK(advance(b).changes.empty());
  }
  auto b = books_in(job_status::queued);
  apply_all(b, decide(b, cancel_job{the_job, "user abort", "t"}));
  CHECK(b.job.error_message == "user abort");
  CHECK(task(b, 5).error_message == "user abort");
}

TEST_CASE("J5 cancel_job on a running job cancels later tasks and asks "
          "running ones to stop",
          "[rules][J5][E6]") {
  auto b = books_in(job_status::running);
  auto d = decide(b, cancel_job{the_job, "", "t"});
  REQUIRE(d);
  const auto* j = change_of(d, event_kind::job, 0);
  REQUIRE(j != nullptr);
  CHECK(j->from == status(job_status::running));
  CHECK(j->to == status(job_status::cancelling));
  CHECK(j->code == result_code::job_cancelled);
  // The queued task of the current assessment and the later task.
  CHECK(change_of(d, event_kind::task, 4) != nullptr);
  CHECK(change_of(d, event_kind::task, 5) != nullptr);
  // The running task is asked to stop, never cancelled or killed here.
  CHECK(change_of(d, event_kind::task, 3) == nullptr);
  CHECK(d.stop == std::vector<task_id>{3});
  CHECK(d.mode == stop_mode::request);
  // Finished tasks of the completed assessment are left alone.
  CHECK(change_of(d, event_kind::task, 1) == nullptr);
  CHECK(change_of(d, event_kind::assessment, 1) == nullptr);
  apply_all(b, d);
  CHECK(b.job.status == job_status::cancelling);
  CHECK(task(b, 3).status == task_status::running);
  CHECK(task(b, 4).status == task_status::cancelled);
  CHECK(task(b, 4).error_message == "cancelled with job 7");
  CHECK(task(b, 5).status == task_status::cancelled);
  CHECK(task(b, 1).status == task_status::finished);
  CHECK(b.job.current == 1);
}

TEST_CASE("J6 a cancelling job dispatches nothing and starts no further "
          "assessment",
          "[rules][J6]") {
  auto b = books_in(job_status::cancelling);
  // Even a queued task of the current assessment is not dispatched.
  b.find(4)->status = task_status::queued;
  CHECK_FALSE(dispatchable(b, task(b, 4)));
  b.find(4)->status = task_status::cancelled;
  end_attempt(b, 3, attempt_outcome::succeeded);
  CHECK(b.job.status == job_status::cancelled);
  CHECK(assessment(b, 2).status == assessment_status::not_yet_run);
  CHECK(task(b, 5).status == task_status::cancelled);
}

TEST_CASE("J7 running work of a cancelling job runs to completion: success "
          "finishes, failure or stop cancels",
          "[rules][J7][R4][R5]") {
  SECTION("succeeded -> finished") {
    auto b = books_in(job_status::cancelling);
    auto d = end_attempt(b, 3, attempt_outcome::succeeded);
    CHECK(task(b, 3).status == task_status::finished);
    CHECK(task(b, 3).end_code == result_code::ok);
  }
  SECTION("failed without a stop request -> cancelled") {
    auto b = books_in(job_status::cancelling);
    end_attempt(b, 3, attempt_outcome::failed, result_code::task_failed);
    CHECK(task(b, 3).status == task_status::cancelled);
    CHECK(task(b, 3).end_code == result_code::task_cancelled);
  }
  SECTION("stopped -> cancelled") {
    auto b = books_in(job_status::cancelling);
    end_attempt(b, 3, attempt_outcome::stopped, result_code::ok, true);
    CHECK(task(b, 3).status == task_status::cancelled);
    CHECK(task(b, 3).error_message == "stopped on request");
  }
  SECTION("timed out -> failed with timeout") {
    auto b = books_in(job_status::cancelling);
    end_attempt(b, 3, attempt_outcome::timed_out, result_code::timeout);
    CHECK(task(b, 3).status == task_status::failed);
    CHECK(task(b, 3).end_code == result_code::timeout);
    CHECK(assessment(b, 1).outcome == result_code::assessment_cancelled);
  }
}

TEST_CASE("J8 a cancelling job ends cancelled only when its current "
          "assessment completes and no attempt is live",
          "[rules][J8][A2]") {
  auto b = books_in(job_status::cancelling);
  settle(b);
  CHECK(b.job.status == job_status::cancelling);
  // Cancel the running task too: every task is terminal, but its work still
  // runs, so the assessment and the job wait.
  auto d = decide(b, cancel_task{the_job, 3, "", "t"});
  REQUIRE(d);
  apply_all(b, d);
  REQUIRE(task(b, 3).status == task_status::cancelled);
  REQUIRE(b.live.count(3) == 1);
  CHECK(advance(b).changes.empty());
  CHECK(b.job.status == job_status::cancelling);
  CHECK(assessment(b, 1).status == assessment_status::running);
  // The work ends: its report is stale, but the attempt is gone.
  auto late = decide(b, report_for(b, 3, attempt_outcome::stopped));
  CHECK(late.changes.empty());
  b.live.erase(3);
  auto step = advance(b);
  REQUIRE(step.changes.size() == 2);
  apply_all(b, step);
  CHECK(assessment(b, 1).status == assessment_status::completed);
  CHECK(assessment(b, 1).outcome == result_code::assessment_cancelled);
  CHECK(b.job.status == job_status::cancelled);
  CHECK(b.job.end_code == result_code::job_cancelled);
  CHECK(assessment(b, 2).status == assessment_status::not_yet_run);
  CHECK(advance(b).changes.empty());
}

TEST_CASE("J9 cancel_job on a cancelling job is refused invalid_state",
          "[rules][J9]") {
  auto b = books_in(job_status::cancelling);
  auto d = decide(b, cancel_job{the_job, "", "t"});
  check_refused(d, result_code::invalid_state);
  CHECK(d.detail.find("already cancelling") != std::string::npos);
}

TEST_CASE("J10 cancel_job on a terminal job is refused no_job_running",
          "[rules][J10]") {
  for (auto s :
       {job_status::finished, job_status::failed, job_status::cancelled}) {
    INFO("job status " << to_name(s));
    auto b = books_in(s);
    check_refused(decide(b, cancel_job{the_job, "", "t"}),
                  result_code::no_job_running);
  }
}

TEST_CASE("J11 J12 terminate_job answers each of the 7 job statuses",
          "[rules][J11][J12]") {
  for (auto s : all_job_statuses) {
    INFO("job status " << to_name(s));
    auto b = books_in(s);
    auto d = decide(b, terminate_job{the_job, "t"});
    if (is_terminal(s)) {
      check_refused(d, result_code::no_job_running);
      continue;
    }
    REQUIRE(d);
    CHECK(d.mode == stop_mode::kill);
    apply_all(b, d);
    CHECK(b.job.status == job_status::cancelled);
    CHECK(b.job.end_code == result_code::job_cancelled);
    CHECK(b.job.current == -1);
    for (const auto& t : b.tasks)
      CHECK(is_terminal(t.status));
    CHECK(advance(b).changes.empty());
  }
}

TEST_CASE("J11 E4 terminate_job kills running work and ends task, "
          "assessment and job in one step",
          "[rules][J11][E4]") {
  for (auto s : {job_status::running, job_status::cancelling}) {
    INFO("job status " << to_name(s));
    auto b = books_in(s);
    auto d = decide(b, terminate_job{the_job, "t"});
    REQUIRE(d);
    CHECK(d.stop == std::vector<task_id>{3});
    CHECK(d.mode == stop_mode::kill);
    const auto* t3 = change_of(d, event_kind::task, 3);
    REQUIRE(t3 != nullptr);
    CHECK(t3->from == status(task_status::running));
    CHECK(t3->to == status(task_status::cancelled));
    CHECK(t3->message == "terminated with job 7");
    const auto* a = change_of(d, event_kind::assessment, 1);
    REQUIRE(a != nullptr);
    CHECK(a->to == status(assessment_status::completed));
    CHECK(a->code == result_code::assessment_terminated);
    const auto& last = d.changes.back();
    CHECK(last.kind == event_kind::job);
    CHECK(last.to == status(job_status::cancelled));
    CHECK(last.code == result_code::job_cancelled);
    apply_all(b, d);
    // Terminal at once, while the killed attempt is still live.
    CHECK(b.live.count(3) == 1);
    CHECK(b.job.status == job_status::cancelled);
    CHECK(assessment(b, 1).outcome == result_code::assessment_terminated);
    CHECK(task(b, 3).error_message == "terminated with job 7");
    CHECK(task(b, 5).status == task_status::cancelled);
    // The kill's late report changes nothing.
    CHECK(decide(b, report_for(b, 3, attempt_outcome::failed)).changes.empty());
  }
}

TEST_CASE("J11 terminate_job of a job not yet running has no assessment to "
          "end",
          "[rules][J11]") {
  auto b = books_in(job_status::queued);
  auto d = decide(b, terminate_job{the_job, "t"});
  REQUIRE(d);
  CHECK(count_changes(d, event_kind::assessment) == 0);
  CHECK(d.stop.empty());
  apply_all(b, d);
  CHECK(b.job.status == job_status::cancelled);
  CHECK(task(b, 1).error_message == "terminated with job 7");
}

TEST_CASE("J14 requeue_job answers each of the 7 job statuses",
          "[rules][J14]") {
  for (auto s : all_job_statuses) {
    INFO("job status " << to_name(s));
    auto b = books_in(s);
    auto d = decide(b, requeue_job{the_job, "t"});
    if (s == job_status::failed || s == job_status::cancelled) {
      REQUIRE(d);
      const auto* j = change_of(d, event_kind::job, 0);
      REQUIRE(j != nullptr);
      CHECK(j->to == status(job_status::queued));
    } else {
      check_refused(d, result_code::invalid_state);
    }
  }
}

TEST_CASE("J15 J16 requeue_job queues failed tasks and reruns only their "
          "assessments",
          "[rules][J15][J16][J18]") {
  auto b = books_in(job_status::failed);
  REQUIRE(task(b, 5).status == task_status::failed);
  REQUIRE(assessment(b, 2).outcome == result_code::assessment_failed);
  REQUIRE(b.job.end_code == result_code::job_failed);
  auto d = decide(b, requeue_job{the_job, "t"});
  REQUIRE(d);
  CHECK(count_changes(d, event_kind::task) == 1);
  apply_all(b, d);
  CHECK(b.job.status == job_status::queued);
  CHECK(b.job.requeue_count == 1);
  CHECK(b.job.end_code == result_code::ok);
  CHECK(b.job.current == -1);
  CHECK(task(b, 5).status == task_status::queued);
  CHECK(task(b, 5).requeue_count == 1);
  CHECK(task(b, 1).status == task_status::finished);
  CHECK(assessment(b, 0).status == assessment_status::completed);
  CHECK(assessment(b, 1).status == assessment_status::completed);
  CHECK(assessment(b, 2).status == assessment_status::not_yet_run);
  CHECK(assessment(b, 2).outcome == result_code::ok);
  // The job restarts at assessment 2 and finishes this time.
  begin(b);
  CHECK(b.job.current == 2);
  run_to_end(b);
  CHECK(b.job.status == job_status::finished);
  CHECK(b.job.end_code == result_code::ok);
  CHECK(task(b, 1).attempts == 1);
  CHECK(task(b, 5).attempts == 2);
}

TEST_CASE("J15 requeue_job leaves finished, cancelled and non-rerunnable "
          "failed tasks as they are",
          "[rules][J15][J17]") {
  auto b = make_books({2, 1});
  b.find(2)->spec.rerunnable = false;
  begin(b);
  run_to_end(b, {2});
  REQUIRE(b.job.status == job_status::failed);
  auto d = decide(b, requeue_job{the_job, "t"});
  REQUIRE(d);
  CHECK(count_changes(d, event_kind::task) == 0);
  CHECK(count_changes(d, event_kind::assessment) == 0);
  apply_all(b, d);
  CHECK(task(b, 2).status == task_status::failed);
  CHECK(task(b, 1).status == task_status::finished);
  // Nothing left to run: the job ends at once, failed again.
  auto s = start(b);
  apply_all(b, s);
  CHECK(b.job.status == job_status::failed);
  CHECK(b.job.end_code == result_code::job_failed);
  CHECK(b.job.requeue_count == 1);
}

TEST_CASE("J15 requeue_job with cancelled queues the cancelled rerunnable "
          "tasks too and reruns their assessments",
          "[rules][J15][J16]") {
  // A job cancelled after assessment 0 finished: tasks 1 and 2 finished,
  // 3..5 cancelled, task 4 not rerunnable.
  auto b = make_books({2, 2, 1});
  b.find(4)->spec.rerunnable = false;
  begin(b);
  dispatch_all(b);
  end_attempt(b, 1, attempt_outcome::succeeded);
  end_attempt(b, 2, attempt_outcome::succeeded);
  apply_all(b, decide(b, cancel_job{the_job, "", "t"}));
  settle(b);
  REQUIRE(b.job.status == job_status::cancelled);
  REQUIRE(task(b, 3).status == task_status::cancelled);
  auto d = decide(b, requeue_job{the_job, "t", true});
  REQUIRE(d);
  apply_all(b, d);
  CHECK(b.job.status == job_status::queued);
  CHECK(task(b, 1).status == task_status::finished);
  CHECK(task(b, 3).status == task_status::queued);
  CHECK(task(b, 3).requeue_count == 1);
  CHECK(task(b, 4).status == task_status::cancelled);
  CHECK(task(b, 5).status == task_status::queued);
  CHECK(assessment(b, 0).status == assessment_status::completed);
  // The job starts again at assessment 1.
  begin(b);
  CHECK(b.job.current == 1);
  // The hint of requeue_task on an ended job names this request.
  auto c = books_in(job_status::cancelled);
  auto refused = decide(c, requeue_task{the_job, 1, "t"});
  check_refused(refused, result_code::invalid_state);
  CHECK(refused.detail.find("quiesce requeue job 7 --cancelled")
        != std::string::npos);
}

TEST_CASE("J15 J16 a requeued cancelled job keeps its tasks cancelled until "
          "they are requeued one by one",
          "[rules][J15][J16][T10]") {
  SECTION("tasks requeued one by one run again") {
    auto b = books_in(job_status::cancelled);
    apply_all(b, decide(b, requeue_job{the_job, "t"}));
    REQUIRE(b.job.status == job_status::queued);
    for (const auto& t : b.tasks)
      CHECK(t.status == task_status::cancelled);
    for (task_id id = 1; id <= 5; ++id) {
      auto d = decide(b, requeue_task{the_job, id, "t"});
      CHECK(d);
      apply_all(b, d);
    }
    begin(b);
    run_to_end(b);
    CHECK(b.job.status == job_status::finished);
  }
  SECTION("assessments whose tasks are all terminal complete at once") {
    auto b = books_in(job_status::cancelled);
    apply_all(b, decide(b, requeue_job{the_job, "t"}));
    begin(b);
    for (const auto& a : b.job.assessments) {
      CHECK(a.status == assessment_status::completed);
      CHECK(a.outcome == result_code::assessment_failed);
    }
    CHECK(b.job.status == job_status::failed);
  }
}

TEST_CASE("J15 T15 after requeue_job, tasks of completed assessments cannot "
          "be requeued, later ones can",
          "[rules][J15][T15]") {
  auto b = books_in(job_status::cancelling);
  end_attempt(b, 3, attempt_outcome::succeeded);
  REQUIRE(b.job.status == job_status::cancelled);
  apply_all(b, decide(b, requeue_job{the_job, "t"}));
  REQUIRE(b.job.status == job_status::queued);
  // Task 4 was cancelled in assessment 1, which completed.
  check_refused(decide(b, requeue_task{the_job, 4, "t"}),
                result_code::invalid_state);
  // Task 5 belongs to assessment 2, which never ran.
  auto d = decide(b, requeue_task{the_job, 5, "t"});
  REQUIRE(d);
  apply_all(b, d);
  begin(b);
  CHECK(b.job.current == 2);
  run_to_end(b);
  // Assessment 1 ended assessment_cancelled, so the job fails.
  CHECK(b.job.status == job_status::failed);
  CHECK(task(b, 5).status == task_status::finished);
}

TEST_CASE("J16 start runs a queued job from its first assessment",
          "[rules][J16][A1]") {
  for (auto s : all_job_statuses) {
    INFO("job status " << to_name(s));
    auto b = books_in(s);
    if (s != job_status::queued)
      CHECK(start(b).changes.empty());
  }
  auto b = books_in(job_status::queued);
  auto d = start(b);
  REQUIRE(d.changes.size() == 2);
  CHECK(d.changes[0].kind == event_kind::job);
  CHECK(d.changes[0].to == status(job_status::running));
  CHECK(d.changes[1].kind == event_kind::assessment);
  CHECK(d.changes[1].subject == 0);
  CHECK(d.changes[1].to == status(assessment_status::running));
  apply_all(b, d);
  CHECK(b.job.current == 0);
  CHECK(b.job.started == t0);
  CHECK(assessment(b, 0).started == t0);
  CHECK(advance(b).changes.empty());
}

TEST_CASE("J17 a job with no assessments runs nothing and finishes at once",
          "[rules][J17]") {
  job_books b;
  b.job.id = the_job;
  submit(b);
  auto d = start(b);
  REQUIRE(d.changes.size() == 2);
  apply_all(b, d);
  CHECK(b.job.status == job_status::finished);
  CHECK(b.job.end_code == result_code::ok);
  CHECK(b.job.current == -1);
}

TEST_CASE("J18 A1 a job whose tasks all finish runs its assessments in order "
          "and finishes ok",
          "[rules][J18][A1]") {
  auto b = make_books({2, 3, 1});
  begin(b);
  std::vector<int32_t> order{b.job.current};
  for (int i = 0; i < 20 && active(b); ++i) {
    // Only tasks of the current assessment are dispatchable.
    for (const auto& t : b.tasks)
      if (dispatchable(b, t))
        CHECK(t.assessment == static_cast<assessment_index>(b.job.current));
    dispatch_all(b);
    std::vector<task_id> ids;
    for (const auto& entry : b.live)
      ids.push_back(entry.first);
    for (auto id : ids)
      end_attempt(b, id, attempt_outcome::succeeded);
    if (active(b))
      order.push_back(b.job.current);
  }
  CHECK(order == std::vector<int32_t>{0, 1, 2});
  CHECK(b.job.status == job_status::finished);
  CHECK(b.job.end_code == result_code::ok);
  for (const auto& a : b.job.assessments) {
    CHECK(a.status == assessment_status::completed);
    CHECK(a.outcome == result_code::ok);
  }
}

TEST_CASE("J18 a failed task fails the job but later assessments still run",
          "[rules][J18][A3]") {
  auto b = make_books({2, 2, 1});
  begin(b);
  run_to_end(b, {2});
  CHECK(b.job.status == job_status::failed);
  CHECK(b.job.end_code == result_code::job_failed);
  CHECK(assessment(b, 0).outcome == result_code::assessment_failed);
  CHECK(assessment(b, 1).outcome == result_code::ok);
  CHECK(assessment(b, 2).outcome == result_code::ok);
  CHECK(task(b, 5).status == task_status::finished);
  CHECK(task(b, 2).end_code == result_code::task_failed);
}

TEST_CASE("J19 with stop_on_assessment_error a failed assessment ends the "
          "job at once",
          "[rules][J19]") {
  job_policy p;
  p.stop_on_assessment_error = true;
  auto b = make_books({2, 2, 1}, p);
  begin(b);
  dispatch_all(b);
  end_attempt(b, 1, attempt_outcome::failed, result_code::task_failed);
  // Task 2 still runs: nothing ends yet.
  CHECK(b.job.status == job_status::running);
  end_attempt(b, 2, attempt_outcome::succeeded);
  CHECK(b.job.status == job_status::failed);
  CHECK(b.job.end_code == result_code::job_failed);
  CHECK(b.job.error_message == "assessment 0 ended assessment_failed");
  for (task_id id : {3, 4, 5}) {
    CHECK(task(b, id).status == task_status::cancelled);
    CHECK(task(b, id).error_message
          == "not run: assessment 0 ended assessment_failed");
  }
  CHECK(assessment(b, 1).status == assessment_status::not_yet_run);
}

// -- A: assessments
// -------------------------------------------------------------

TEST_CASE("A2 an assessment waits for every task to be terminal and every "
          "attempt to end",
          "[rules][A2]") {
  auto b = make_books({2, 1});
  begin(b);
  dispatch_all(b);
  end_attempt(b, 1, attempt_outcome::succeeded);
  CHECK(b.job.current == 0);
  // Task 2 reported finished, but its attempt is still live.
  apply_all(b, decide(b, report_for(b, 2, attempt_outcome::succeeded)));
  REQUIRE(task(b, 2).status == task_status::finished);
  CHECK(advance(b).changes.empty());
  b.live.erase(2);
  settle(b);
  CHECK(assessment(b, 0).status == assessment_status::completed);
  CHECK(b.job.current == 1);
}

TEST_CASE("A3 the outcome of an assessment", "[rules][A3]") {
  SECTION("ok when every task finished, even while the job is cancelling") {
    auto b = books_in(job_status::cancelling);
    b.find(4)->status = task_status::finished;
    end_attempt(b, 3, attempt_outcome::succeeded);
    CHECK(assessment(b, 1).outcome == result_code::ok);
    CHECK(b.job.status == job_status::cancelled);
    CHECK(b.job.end_code == result_code::job_cancelled);
  }
  SECTION("failed when a task failed and none was cancelled") {
    auto b = books_in(job_status::cancelling);
    b.find(4)->status = task_status::finished;
    end_attempt(b, 3, attempt_outcome::timed_out, result_code::timeout);
    CHECK(assessment(b, 1).outcome == result_code::assessment_failed);
    CHECK(b.job.status == job_status::cancelled);
  }
  SECTION("failed when a task was cancelled by cancel_task") {
    auto b = books_in(job_status::running);
    apply_all(b, decide(b, cancel_task{the_job, 4, "", "t"}));
    end_attempt(b, 3, attempt_outcome::succeeded);
    CHECK(assessment(b, 1).outcome == result_code::assessment_failed);
    CHECK(b.job.current == 2);
  }
  SECTION("cancelled after cancel_assessment, even if its work finished") {
    auto b = books_in(job_status::running);
    apply_all(b, decide(b, cancel_assessment{the_job, 1, "t"}));
    end_attempt(b, 3, attempt_outcome::succeeded);
    CHECK(assessment(b, 1).outcome == result_code::assessment_cancelled);
  }
  SECTION("terminated after terminate_job") {
    auto b = books_in(job_status::running);
    apply_all(b, decide(b, terminate_job{the_job, "t"}));
    CHECK(assessment(b, 1).outcome == result_code::assessment_terminated);
  }
}

TEST_CASE("A4 A5 cancel_assessment answers each of the 7 job statuses, with "
          "the current and a stale index",
          "[rules][A4][A5]") {
  for (auto s : all_job_statuses) {
    INFO("job status " << to_name(s));
    auto b = books_in(s);
    bool running = active(b);
    auto current = running ? static_cast<assessment_index>(b.job.current) : 0u;
    auto d = decide(b, cancel_assessment{the_job, current, "t"});
    if (running)
      CHECK(d);
    else
      check_refused(d, result_code::no_job_running);
    for (assessment_index stale : {0u, 2u, 3u}) {
      if (running && stale == current)
        continue;
      INFO("index " << stale);
      check_refused(decide(b, cancel_assessment{the_job, stale, "t"}),
                    running ? result_code::invalid_index
                            : result_code::no_job_running);
    }
  }
}

TEST_CASE("A5 a cancel_assessment racing with its assessment's end is "
          "refused invalid_index",
          "[rules][A5][R2]") {
  auto b = make_books({1, 1});
  begin(b);
  dispatch_all(b);
  end_attempt(b, 1, attempt_outcome::succeeded);
  REQUIRE(b.job.current == 1);
  auto d = decide(b, cancel_assessment{the_job, 0, "t"});
  check_refused(d, result_code::invalid_index);
  CHECK(d.detail.find("(1 is)") != std::string::npos);
}

TEST_CASE("A6 A7 E3 cancel_assessment fixes the outcome, cancels its tasks "
          "and stops running ones gracefully",
          "[rules][A6][A7][E3]") {
  auto b = books_in(job_status::running);
  auto d = decide(b, cancel_assessment{the_job, 1, "t"});
  REQUIRE(d);
  REQUIRE_FALSE(d.changes.empty());
  const auto& first = d.changes.front();
  CHECK(first.kind == event_kind::assessment);
  CHECK(first.subject == 1);
  CHECK(first.from == status(assessment_status::running));
  CHECK(first.to == status(assessment_status::running));
  CHECK(first.code == result_code::assessment_cancelled);
  CHECK(d.stop == std::vector<task_id>{3});
  CHECK(d.mode == stop_mode::graceful);
  CHECK(change_of(d, event_kind::task, 3) != nullptr);
  CHECK(change_of(d, event_kind::task, 4) != nullptr);
  // Tasks of other assessments are not touched.
  CHECK(change_of(d, event_kind::task, 5) == nullptr);
  CHECK(change_of(d, event_kind::task, 1) == nullptr);
  apply_all(b, d);
  CHECK(assessment(b, 1).status == assessment_status::running);
  CHECK(assessment(b, 1).outcome == result_code::assessment_cancelled);
  CHECK(task(b, 3).status == task_status::cancelled);
  CHECK(task(b, 3).error_message == "assessment 1 cancelled");
  CHECK(task(b, 4).end_code == result_code::task_cancelled);
  // A7: a second request while it drains is refused.
  auto again = decide(b, cancel_assessment{the_job, 1, "t"});
  check_refused(again, result_code::invalid_state);
  // It does not complete while task 3's work runs.
  CHECK(advance(b).changes.empty());
}

TEST_CASE("A8 after a cancelled assessment the job goes on with the next one",
          "[rules][A8]") {
  auto b = books_in(job_status::running);
  apply_all(b, decide(b, cancel_assessment{the_job, 1, "t"}));
  end_attempt(b, 3, attempt_outcome::stopped);
  CHECK(assessment(b, 1).status == assessment_status::completed);
  CHECK(assessment(b, 1).outcome == result_code::assessment_cancelled);
  CHECK(b.job.current == 2);
  CHECK(task(b, 5).status == task_status::queued);
  run_to_end(b);
  CHECK(task(b, 5).status == task_status::finished);
  CHECK(b.job.status == job_status::failed);
  CHECK(b.job.end_code == result_code::job_failed);
}

TEST_CASE("A8 J19 with stop_on_assessment_error a cancelled assessment ends "
          "the job",
          "[rules][A8][J19]") {
  job_policy p;
  p.stop_on_assessment_error = true;
  auto b = make_books({1, 2, 1}, p);
  begin(b);
  dispatch_all(b);
  end_attempt(b, 1, attempt_outcome::succeeded);
  dispatch_all(b);
  apply_all(b, decide(b, cancel_assessment{the_job, 1, "t"}));
  end_attempt(b, 2, attempt_outcome::stopped);
  CHECK(b.job.status == job_status::running); // task 3 still live
  end_attempt(b, 3, attempt_outcome::failed, result_code::task_failed);
  CHECK(b.job.status == job_status::failed);
  CHECK(task(b, 4).status == task_status::cancelled);
  CHECK(task(b, 4).error_message
        == "not run: assessment 1 ended assessment_cancelled");
}

TEST_CASE("A5 cancel_assessment on a cancelling job is accepted for the "
          "current index",
          "[rules][A4][A5]") {
  auto b = books_in(job_status::cancelling);
  auto d = decide(b, cancel_assessment{the_job, 1, "t"});
  REQUIRE(d);
  // The running task, only asked to stop so far, is now stopped gracefully.
  CHECK(d.stop == std::vector<task_id>{3});
  CHECK(d.mode == stop_mode::graceful);
}

// -- T: task operations
// ---------------------------------------------------------

TEST_CASE("T1 T3 cancel_task answers each of the 6 task statuses",
          "[rules][T1][T2][T3]") {
  for (auto s : all_task_statuses) {
    INFO("task status " << to_name(s));
    auto b = books_with_task1(s);
    auto d = decide(b, cancel_task{the_job, 1, "", "t"});
    if (is_terminal(s)) {
      check_refused(d, result_code::invalid_state);
      CHECK(d.detail == "task 1 is " + std::string{to_name(s)});
      continue;
    }
    REQUIRE(d);
    REQUIRE(d.changes.size() == 1);
    CHECK(d.changes[0].from == status(s));
    CHECK(d.changes[0].to == status(task_status::cancelled));
    CHECK(d.changes[0].code == result_code::task_cancelled);
    CHECK(d.changes[0].message == "cancelled");
    if (s == task_status::running)
      CHECK(d.stop == std::vector<task_id>{1});
    else
      CHECK(d.stop.empty());
    CHECK(d.mode == stop_mode::graceful);
    apply_all(b, d);
    CHECK(task(b, 1).status == task_status::cancelled);
    CHECK(task(b, 1).error_message == "cancelled");
  }
}

TEST_CASE("T2 a cancelled running task frees nothing until its work ends",
          "[rules][T2][T16]") {
  auto b = books_in(job_status::running);
  apply_all(b, decide(b, cancel_task{the_job, 3, "enough", "t"}));
  CHECK(task(b, 3).status == task_status::cancelled);
  CHECK(task(b, 3).error_message == "enough");
  CHECK(b.live.count(3) == 1);
  // Requeued at once, it still waits for the old attempt's end.
  apply_all(b, decide(b, requeue_task{the_job, 3, "t"}));
  REQUIRE(task(b, 3).status == task_status::queued);
  CHECK_FALSE(dispatchable(b, task(b, 3)));
  b.live.erase(3);
  CHECK(dispatchable(b, task(b, 3)));
}

TEST_CASE("T4 unknown task ids are refused task_not_found", "[rules][T4]") {
  auto b = books_in(job_status::running);
  for (task_id id : {task_id{0}, task_id{6}, task_id{99}}) {
    INFO("task " << id);
    check_refused(decide(b, cancel_task{the_job, id, "", "t"}),
                  result_code::task_not_found);
    check_refused(decide(b, requeue_task{the_job, id, "t"}),
                  result_code::task_not_found);
    auto d = decide(b, cancel_tasks{the_job, {id}, "", "t"});
    CHECK(d.code == result_code::task_not_found);
    CHECK(d.codes == std::vector<result_code>{result_code::task_not_found});
    CHECK(d.changes.empty());
    CHECK(decide(b, report_for(b, 1, attempt_outcome::succeeded))
              .changes.empty());
  }
}

TEST_CASE("T5 cancel_tasks with an empty list is refused invalid_argument",
          "[rules][T5]") {
  auto b = books_in(job_status::running);
  auto d = decide(b, cancel_tasks{the_job, {}, "", "t"});
  check_refused(d, result_code::invalid_argument);
  CHECK(d.codes.empty());
}

TEST_CASE("T6 T7 cancel_tasks answers each of the 6 task statuses",
          "[rules][T6][T7]") {
  for (auto s : all_task_statuses) {
    INFO("task status " << to_name(s));
    auto b = books_with_task1(s);
    // Task 1 in status s, then task 2 (queued).
    auto d = decide(b, cancel_tasks{the_job, {1, 2}, "", "t"});
    if (is_terminal(s)) {
      CHECK(d.code == result_code::invalid_state);
      CHECK(d.codes
            == std::vector<result_code>{result_code::invalid_state,
                                        result_code::not_attempted});
      CHECK(d.changes.empty());
      CHECK(d.stop.empty());
      continue;
    }
    REQUIRE(d);
    CHECK(d.codes
          == std::vector<result_code>{result_code::ok, result_code::ok});
    CHECK(d.changes.size() == 2);
    CHECK(d.stop.size() == (s == task_status::running ? 1u : 0u));
    apply_all(b, d);
    CHECK(task(b, 1).status == task_status::cancelled);
    CHECK(task(b, 2).status == task_status::cancelled);
  }
}

TEST_CASE("T7 cancel_tasks stops at the first refusal and keeps earlier "
          "cancels",
          "[rules][T7]") {
  auto b = books_in(job_status::running);
  // 3 running, 4 queued, 1 finished, 5 queued.
  auto d = decide(b, cancel_tasks{the_job, {3, 4, 1, 5}, "batch", "t"});
  CHECK(d.code == result_code::invalid_state);
  CHECK(d.detail == "task 1 is finished");
  CHECK(d.codes
        == std::vector<result_code>{result_code::ok, result_code::ok,
                                    result_code::invalid_state,
                                    result_code::not_attempted});
  CHECK(d.changes.size() == 2);
  CHECK(d.stop == std::vector<task_id>{3});
  apply_all(b, d);
  CHECK(task(b, 3).status == task_status::cancelled);
  CHECK(task(b, 4).status == task_status::cancelled);
  CHECK(task(b, 4).error_message == "batch");
  CHECK(task(b, 5).status == task_status::queued);
  // An unknown id in the middle.
  auto b2 = books_in(job_status::running);
  auto d2 = decide(b2, cancel_tasks{the_job, {4, 42, 5}, "", "t"});
  CHECK(d2.codes
        == std::vector<result_code>{result_code::ok,
                                    result_code::task_not_found,
                                    result_code::not_attempted});
  CHECK(d2.changes.size() == 1);
}

TEST_CASE("T8 cancel_tasks refuses a duplicate id at the duplicate",
          "[rules][T8]") {
  auto b = books_in(job_status::running);
  auto d = decide(b, cancel_tasks{the_job, {4, 5, 4, 3}, "", "t"});
  CHECK(d.code == result_code::invalid_state);
  CHECK(d.codes
        == std::vector<result_code>{result_code::ok, result_code::ok,
                                    result_code::invalid_state,
                                    result_code::not_attempted});
  CHECK(d.changes.size() == 2);
  CHECK(d.stop.empty());
}

TEST_CASE("T9 cancel_tasks with a bad message refuses the first entry",
          "[rules][T9]") {
  auto b = books_in(job_status::running);
  auto d = decide(b, cancel_tasks{the_job, {4, 5}, msg_321, "t"});
  CHECK(d.code == result_code::message_too_long);
  CHECK(d.codes
        == std::vector<result_code>{result_code::message_too_long,
                                    result_code::not_attempted});
  CHECK(d.changes.empty());
  d = decide(b, cancel_tasks{the_job, {4, 5}, bad_utf8, "t"});
  CHECK(d.codes
        == std::vector<result_code>{result_code::invalid_utf8,
                                    result_code::not_attempted});
  // An unknown first id is named before the message (G3).
  d = decide(b, cancel_tasks{the_job, {42, 5}, msg_321, "t"});
  CHECK(d.codes.front() == result_code::task_not_found);
}

TEST_CASE("T10 T11 T12 T13 requeue_task answers each of the 6 task statuses, "
          "rerunnable or not",
          "[rules][T10][T11][T12][T13]") {
  for (auto rerunnable : {true, false}) {
    for (auto s : all_task_statuses) {
      INFO("task status " << to_name(s) << ", rerunnable " << rerunnable);
      auto b = books_with_task1(s, rerunnable);
      auto d = decide(b, requeue_task{the_job, 1, "t"});
      bool requeueable = s == task_status::failed || s == task_status::cancelled
                         || s == task_status::running;
      if (!requeueable) {
        check_refused(d, result_code::invalid_state);
        CHECK(d.detail == "task 1 is " + std::string{to_name(s)});
        continue;
      }
      if (!rerunnable) {
        check_refused(d, result_code::not_rerunnable);
        continue;
      }
      REQUIRE(d);
      CHECK(d.changes.size() == (s == task_status::running ? 2u : 1u));
      CHECK(d.changes.back().to == status(task_status::queued));
      apply_all(b, d);
      CHECK(task(b, 1).status == task_status::queued);
      CHECK(task(b, 1).requeue_count == 1);
    }
  }
}

TEST_CASE("T11 requeue of a running task cancels it, queues it again and "
          "stops the old attempt",
          "[rules][T11][T16][R1]") {
  auto b = books_in(job_status::running);
  auto d = decide(b, requeue_task{the_job, 3, "t"});
  REQUIRE(d);
  REQUIRE(d.changes.size() == 2);
  CHECK(d.changes[0].from == status(task_status::running));
  CHECK(d.changes[0].to == status(task_status::cancelled));
  CHECK(d.changes[0].code == result_code::task_cancelled);
  CHECK(d.changes[1].from == status(task_status::cancelled));
  CHECK(d.changes[1].to == status(task_status::queued));
  CHECK(d.stop == std::vector<task_id>{3});
  CHECK(d.mode == stop_mode::graceful);
  apply_all(b, d);
  CHECK(task(b, 3).status == task_status::queued);
  CHECK(task(b, 3).requeue_count == 1);
  CHECK(task(b, 3).error_message == "cancelled for requeue");
  // The new attempt waits for the old one's work to end.
  CHECK_FALSE(dispatchable(b, task(b, 3)));
  auto old_report = report_for(b, 3, attempt_outcome::stopped);
  CHECK(decide(b, old_report).changes.empty());
  b.live.erase(3);
  dispatch(b, 3);
  CHECK(task(b, 3).attempts == 2);
  // The first attempt's report is stale now; the second one's counts.
  CHECK(decide(b, old_report).changes.empty());
  auto d2 = end_attempt(b, 3, attempt_outcome::succeeded);
  CHECK(d2.changes.size() == 1);
  CHECK(task(b, 3).status == task_status::finished);
}

TEST_CASE("T14 requeue_task needs a queued or running job", "[rules][T14]") {
  for (auto s : all_job_statuses) {
    INFO("job status " << to_name(s));
    auto b = books_in(s);
    // Make task 5 (assessment 2, never completed unless the job finished)
    // requeueable by its own status.
    auto& t = *b.find(5);
    t.status = task_status::failed;
    b.live.erase(5);
    auto d = decide(b, requeue_task{the_job, 5, "t"});
    bool job_ok = s == job_status::queued || s == job_status::running;
    if (job_ok) {
      CHECK(d);
      continue;
    }
    // A finished or failed job has completed assessment 2, but the job's
    // status is named first.
    check_refused(d, result_code::invalid_state);
    CHECK(d.detail.find("job 7 is " + std::string{to_name(s)})
          != std::string::npos);
    if (is_terminal(s))
      CHECK(d.detail.find("requeue the job") != std::string::npos);
  }
}

TEST_CASE("T15 requeue_task of a task whose assessment completed is refused",
          "[rules][T15]") {
  auto b = books_in(job_status::running);
  b.find(1)->status = task_status::failed;
  auto d = decide(b, requeue_task{the_job, 1, "t"});
  check_refused(d, result_code::invalid_state);
  CHECK(d.detail.find("has completed") != std::string::npos);
  // A task of the current assessment and one still to come are accepted.
  b.find(4)->status = task_status::cancelled;
  CHECK(decide(b, requeue_task{the_job, 4, "t"}));
  b.find(5)->status = task_status::cancelled;
  CHECK(decide(b, requeue_task{the_job, 5, "t"}));
}

TEST_CASE("T16 only queued tasks of the current assessment of a running job "
          "without a live attempt are dispatchable",
          "[rules][T16]") {
  auto b = books_in(job_status::running);
  CHECK(dispatchable(b, task(b, 4)));
  CHECK_FALSE(dispatchable(b, task(b, 3))); // running
  CHECK_FALSE(dispatchable(b, task(b, 5))); // later assessment
  CHECK_FALSE(dispatchable(b, task(b, 1))); // finished
  b.live[4] = 7;
  CHECK_FALSE(dispatchable(b, task(b, 4))); // an old attempt still runs
  auto q = books_in(job_status::queued);
  CHECK_FALSE(dispatchable(q, task(q, 1)));
}

// -- R: reports and races
// -------------------------------------------------------

TEST_CASE("R1 a stale attempt_ended changes no status, for every outcome",
          "[rules][R1]") {
  const std::array<attempt_outcome, 6> outcomes{
      attempt_outcome::succeeded, attempt_outcome::failed,
      attempt_outcome::stopped,   attempt_outcome::not_started,
      attempt_outcome::timed_out, attempt_outcome::lost};
  for (auto out : outcomes) {
    INFO("outcome " << to_string(out));
    auto b = books_in(job_status::running);
    // Another attempt number.
    auto r = report_for(b, 3, out, result_code::task_failed);
    r.key.attempt = 0;
    CHECK(decide(b, r).changes.empty());
    r.key.attempt = 2;
    CHECK(decide(b, r).changes.empty());
    // An unknown task.
    r = report_for(b, 3, out);
    r.key.task = 42;
    CHECK(decide(b, r).changes.empty());
    // A task that is no longer running: queued, finished, cancelled.
    for (task_id id : {task_id{4}, task_id{1}}) {
      auto other = report_for(b, id, out);
      CHECK(decide(b, other).changes.empty());
    }
    apply_all(b, decide(b, cancel_task{the_job, 3, "", "t"}));
    CHECK(decide(b, report_for(b, 3, out)).changes.empty());
    CHECK(task(b, 3).status == task_status::cancelled);
  }
}

TEST_CASE("R2 the request processed first wins, never both, never neither",
          "[rules][R2]") {
  SECTION("completion first: the cancel is refused and says finished") {
    auto b = books_in(job_status::running);
    apply_all(b, decide(b, report_for(b, 3, attempt_outcome::succeeded)));
    auto d = decide(b, cancel_task{the_job, 3, "", "t"});
    check_refused(d, result_code::invalid_state);
    CHECK(d.detail == "task 3 is finished");
    CHECK(task(b, 3).status == task_status::finished);
  }
  SECTION("cancel first: the completion is stale") {
    auto b = books_in(job_status::running);
    auto report = report_for(b, 3, attempt_outcome::succeeded);
    apply_all(b, decide(b, cancel_task{the_job, 3, "", "t"}));
    CHECK(decide(b, report).changes.empty());
    CHECK(task(b, 3).status == task_status::cancelled);
  }
  SECTION("requeue first: the completion is stale") {
    auto b = books_in(job_status::running);
    auto report = report_for(b, 3, attempt_outcome::failed);
    apply_all(b, decide(b, requeue_task{the_job, 3, "t"}));
    CHECK(decide(b, report).changes.empty());
    CHECK(task(b, 3).status == task_status::queued);
  }
}

TEST_CASE("R3 R4 R5 R6 R7 a matching attempt_ended sets the task's end",
          "[rules][R3][R4][R5][R6][R7][R9]") {
  struct expectation {
    attempt_outcome outcome;
    result_code node_code;
    bool stop_requested;
    task_status status;
    result_code end_code;
  };
  const std::vector<expectation> table{
      {attempt_outcome::succeeded, result_code::ok, false,
       task_status::finished, result_code::ok},
      {attempt_outcome::failed, result_code::task_failed, false,
       task_status::failed, result_code::task_failed},
      {attempt_outcome::failed, result_code::ok, false, task_status::failed,
       result_code::task_failed},
      {attempt_outcome::failed, result_code::task_failed, true,
       task_status::cancelled, result_code::task_cancelled},
      {attempt_outcome::failed, result_code::memory_limit_exceeded, false,
       task_status::failed, result_code::memory_limit_exceeded},
      {attempt_outcome::failed, result_code::memory_limit_exceeded, true,
       task_status::cancelled, result_code::task_cancelled},
      {attempt_outcome::stopped, result_code::ok, true, task_status::cancelled,
       result_code::task_cancelled},
      {attempt_outcome::stopped, result_code::ok, false, task_status::cancelled,
       result_code::task_cancelled},
      {attempt_outcome::timed_out, result_code::timeout, false,
       task_status::failed, result_code::timeout},
      {attempt_outcome::not_started, result_code::spawn_failed, false,
       task_status::failed, result_code::spawn_failed},
      {attempt_outcome::not_started, result_code::work_not_found, false,
       task_status::failed, result_code::work_not_found},
  };
  for (const auto& e : table) {
    INFO("outcome " << to_string(e.outcome) << ", code " << to_name(e.node_code)
                    << ", stop requested " << e.stop_requested);
    auto b = books_in(job_status::running);
    auto r = report_for(b, 3, e.outcome, e.node_code);
    r.stop_requested = e.stop_requested;
    r.message = repeat("x", 400); // R9: clamped to 320 code points
    auto d = decide(b, r);
    REQUIRE(d.changes.size() == 1);
    CHECK(d.changes[0].from == status(task_status::running));
    CHECK(d.changes[0].to == status(e.status));
    CHECK(d.changes[0].code == e.end_code);
    apply_all(b, d);
    CHECK(task(b, 3).status == e.status);
    CHECK(task(b, 3).end_code == e.end_code);
    CHECK(task(b, 3).ended == t0);
    // A success stores no message; every other end stores the node's,
    // clamped.
    if (e.status == task_status::finished)
      CHECK(task(b, 3).error_message.empty());
    else
      CHECK(task(b, 3).error_message == repeat("x", 320));
  }
}

TEST_CASE("R8 a lost attempt is requeued while retries are left, then fails",
          "[rules][R8]") {
  SECTION("default policy: 3 requeues, then node_lost failure") {
    auto b = books_in(job_status::running);
    for (uint32_t i = 1; i <= 3; ++i) {
      INFO("loss " << i);
      auto d = end_attempt(b, 3, attempt_outcome::lost, result_code::node_lost);
      REQUIRE(d.changes.size() == 1);
      CHECK(d.changes[0].to == status(task_status::queued));
      CHECK(d.changes[0].code == result_code::node_lost);
      CHECK(task(b, 3).status == task_status::queued);
      CHECK(task(b, 3).node_losses == i);
      CHECK(task(b, 3).requeue_count == i);
      dispatch(b, 3);
      CHECK(task(b, 3).attempts == i + 1);
    }
    auto d = end_attempt(b, 3, attempt_outcome::lost, result_code::node_lost);
    REQUIRE(d.changes.size() == 1);
    CHECK(d.changes[0].to == status(task_status::failed));
    CHECK(task(b, 3).status == task_status::failed);
    CHECK(task(b, 3).end_code == result_code::node_lost);
    CHECK(task(b, 3).node_losses == 3);
  }
  SECTION("no retries: fails at once") {
    job_policy p;
    p.retries = 0;
    auto b = make_books({1}, p);
    begin(b);
    dispatch_all(b);
    end_attempt(b, 1, attempt_outcome::lost, result_code::node_lost);
    CHECK(task(b, 1).status == task_status::failed);
    CHECK(b.job.status == job_status::failed);
  }
  SECTION("a cancelling job does not requeue lost work") {
    auto b = books_in(job_status::cancelling);
    end_attempt(b, 3, attempt_outcome::lost, result_code::node_lost);
    CHECK(task(b, 3).status == task_status::failed);
    CHECK(task(b, 3).end_code == result_code::node_lost);
    CHECK(b.job.status == job_status::cancelled);
  }
}

// -- apply
// ----------------------------------------------------------------------

TEST_CASE("T17 apply counts attempts and stamps times", "[rules][T17]") {
  auto b = books_in(job_status::running);
  CHECK(task(b, 1).attempts == 1);
  CHECK(task(b, 3).attempts == 1);
  CHECK(task(b, 4).attempts == 0);
  CHECK(task(b, 3).started == t0);
  CHECK(b.live.at(3) == 1);
  CHECK(assessment(b, 0).ended == t0);
  CHECK(assessment(b, 0).outcome == result_code::ok);
}
