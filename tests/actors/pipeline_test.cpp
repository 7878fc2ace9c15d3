// Deterministic tests of held attempts (docs/semantics.md, "Held
// attempts"): a node that announces a pipeline takes attempts beyond its
// slots; their tasks stay `queued` until the node reports the start, and a
// request that meets such a task decides as for any queued task, the
// attempt being withdrawn. Each window the pipelining opens is played in
// both orders: the request first, or the node's report first.

#include "actors/journal.hpp"
#include "support/deterministic.hpp"
#include "support/events.hpp"
#include "support/printers.hpp"
#include "support/processes.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

using namespace quiesce;
using namespace quiesce::test;
using namespace std::chrono_literals;

namespace {

/// A job of `n` function tasks in one assessment.
job_spec flat_job(size_t n) {
  return uniform_job({n}, fn_task("work"));
}

/// Returns the end a node reports for held attempt `a` it withdrew before
/// starting it.
attempt_ended withdrawn_end(const started_attempt& a) {
  auto end = deterministic_fixture::make_end(a, attempt_outcome::stopped);
  end.message = "withdrawn before it started";
  end.stop_requested = true;
  return end;
}

/// A fixture with one fake node of one slot that holds one more attempt.
struct pipelined : deterministic_fixture {
  node_actor node;

  explicit pipelined(supervisor_options opts = {})
      : deterministic_fixture(std::move(opts)) {
    node = add_node("n1", 1, {}, 1);
  }
};

} // namespace

TEST_CASE("R14 a node's pipeline takes attempts beyond its slots; their tasks "
          "stay queued until the node reports the start",
          "[pipeline][R14]") {
  pipelined f;
  auto id = f.submit(flat_job(3));
  // One attempt for the slot, one held; the third task waits at the head.
  REQUIRE(f.started().size() == 2);
  CHECK_FALSE(f.started()[0].held);
  CHECK(f.started()[1].held);
  CHECK(f.task(id, 1).status == task_status::running);
  auto held = f.task(id, 2);
  CHECK(held.status == task_status::queued);
  // Its attempt number is taken at placement, and its node is known.
  CHECK(held.attempts == 1);
  CHECK(held.node == "n1");
  CHECK(f.task(id, 3).status == task_status::queued);
  CHECK(f.task(id, 3).attempts == 0);
  // The node lists one slot in use, not two.
  auto nodes = f.ask<node_list>(list_nodes{});
  REQUIRE(nodes.nodes.size() == 1);
  CHECK(nodes.nodes[0].running == 1);
  // The first ends: the third is placed, held again (the second takes the
  // slot at the node), and the second starts there.
  f.end_attempt(f.attempt_of(id, 1));
  REQUIRE(f.started().size() == 3);
  CHECK(f.started()[2].held);
  CHECK(f.task(id, 2).status == task_status::queued);
  f.report_running(f.attempt_of(id, 2));
  auto running = f.task(id, 2);
  CHECK(running.status == task_status::running);
  // The start is not a new attempt.
  CHECK(running.attempts == 1);
  f.end_attempt(f.attempt_of(id, 2));
  f.report_running(f.attempt_of(id, 3));
  f.end_attempt(f.attempt_of(id, 3));
  CHECK(f.job(id).status == job_status::finished);
  for (task_id t = 1; t <= 3; ++t) {
    CAPTURE(t);
    CHECK(task_changes(f.events_of(id), t)
          == std::vector<std::string>{"not_submitted>queued", "queued>running",
                                      "running>finished"});
    CHECK(f.task(id, t).attempts == 1);
  }
  CHECK(f.signals().empty());
}

TEST_CASE("R14 a held attempt that ends without a start report (a function run "
          "inline) started all the same",
          "[pipeline][R14]") {
  pipelined f;
  auto id = f.submit(flat_job(2));
  REQUIRE(f.started().size() == 2);
  auto failed = GENERATE(false, true);
  CAPTURE(failed);
  f.end_attempt(f.attempt_of(id, 2),
                failed ? attempt_outcome::failed : attempt_outcome::succeeded);
  auto t = f.task(id, 2);
  CHECK(t.status == (failed ? task_status::failed : task_status::finished));
  CHECK(t.attempts == 1);
  CHECK(task_changes(f.events_of(id), 2)
        == std::vector<std::string>{"not_submitted>queued", "queued>running",
                                    failed ? "running>failed"
                                           : "running>finished"});
}

TEST_CASE("R15 T1 cancel_task of a held attempt is decided as for a queued "
          "task, and the attempt is withdrawn",
          "[pipeline][race][R15]") {
  pipelined f;
  auto id = f.submit(flat_job(2));
  REQUIRE(f.started().size() == 2);
  auto r = f.ask<task_op_reply>(cancel_task{id, 2, "not needed", "test"});
  CHECK(r.code == result_code::ok);
  // Cancelled at once, as a queued task; its node is told to drop it.
  auto t = f.task(id, 2);
  CHECK(t.status == task_status::cancelled);
  CHECK(t.end_code == result_code::task_cancelled);
  CHECK(t.error_message == "not needed");
  CHECK(f.signals_of(id, 2) == std::vector<stop_mode>{stop_mode::kill});
  CHECK(
      task_changes(f.events_of(id), 2)
      == std::vector<std::string>{"not_submitted>queued", "queued>cancelled"});
  // The first task ends; the job waits for the withdrawn attempt's end.
  f.end_attempt(f.attempt_of(id, 1));
  CHECK(f.job(id).status == job_status::running);
  f.send_end(f.attempt_of(id, 2), withdrawn_end(f.attempt_of(id, 2)));
  f.run();
  // Complete now; failed, as any job with a cancelled task outside a
  // job cancellation.
  CHECK(f.job(id).status == job_status::failed);
  // The withdrawal's end changes no status.
  CHECK(f.task(id, 2).status == task_status::cancelled);
  CHECK(f.task(id, 2).error_message == "not needed");
  CHECK(task_changes(f.events_of(id), 2).size() == 2);
}

TEST_CASE("R15 R2 a held attempt's start report crossing cancel_task: the "
          "request first leaves the task cancelled, the report first makes "
          "it a cancel of a running task",
          "[pipeline][race][R15]") {
  pipelined f;
  auto id = f.submit(flat_job(2));
  REQUIRE(f.started().size() == 2);
  auto held = f.attempt_of(id, 2);
  auto request_first = GENERATE(true, false);
  CAPTURE(request_first);
  if (request_first) {
    // The cancel waits in the supervisor's mailbox before the report.
    f.send(cancel_task{id, 2, {}, "test"});
    f.deliver_running(held);
  } else {
    f.deliver_running(held);
    f.send(cancel_task{id, 2, {}, "test"});
  }
  f.run();
  CHECK(f.take<task_op_reply>().code == result_code::ok);
  if (request_first) {
    // Decided as for a queued task; the report that came after is ignored:
    // the task never shows as running.
    CHECK(f.task(id, 2).status == task_status::cancelled);
    CHECK(f.signals_of(id, 2) == std::vector<stop_mode>{stop_mode::kill});
    CHECK(task_changes(f.events_of(id), 2)
          == std::vector<std::string>{"not_submitted>queued",
                                      "queued>cancelled"});
    // The node had started it: the kill ends it, and that end changes
    // nothing either.
    f.end_attempt(held, attempt_outcome::failed, -1, "killed by SIGKILL");
  } else {
    // Running first: the usual graceful stop, cancelled once it ends.
    CHECK(f.task(id, 2).status == task_status::cancelled);
    CHECK(f.signals_of(id, 2).front() != stop_mode::kill);
    CHECK(task_changes(f.events_of(id), 2)
          == std::vector<std::string>{"not_submitted>queued", "queued>running",
                                      "running>cancelled"});
    f.end_attempt(held, attempt_outcome::stopped);
  }
  CHECK(f.task(id, 2).status == task_status::cancelled);
  CHECK(f.task(id, 2).attempts == 1);
  f.end_attempt(f.attempt_of(id, 1));
  CHECK(f.job(id).status == job_status::failed);
}

TEST_CASE(
    "R15 J5 J8 cancel_job with held attempts: the running task finishes, the "
    "held ones are cancelled and withdrawn, and none of them starts "
    "even when its start report crosses the cancel",
    "[pipeline][race][R15]") {
  deterministic_fixture f;
  f.add_node("n1", 1, {}, 2);
  auto spec = uniform_job({3, 1}, fn_task("work"));
  auto id = f.submit(spec);
  REQUIRE(f.started().size() == 3);
  CHECK(f.started()[1].held);
  CHECK(f.started()[2].held);
  // Task 1 ended at the node and task 2 took its slot: both reports wait
  // behind the cancel in the supervisor's mailbox.
  f.send(cancel_job{id, "stop", "test"});
  f.deliver_end(f.attempt_of(id, 1));
  f.deliver_running(f.attempt_of(id, 2));
  f.run();
  CHECK(f.take<op_reply>().code == result_code::ok);
  // Finish-current-assessment: the running task finished; the held ones
  // were cancelled like queued ones, and nothing of assessment 1 started.
  CHECK(f.task(id, 1).status == task_status::finished);
  CHECK(f.task(id, 2).status == task_status::cancelled);
  CHECK(f.task(id, 3).status == task_status::cancelled);
  CHECK(f.task(id, 4).status == task_status::cancelled);
  CHECK(f.signals_of(id, 2) == std::vector<stop_mode>{stop_mode::kill});
  CHECK(f.signals_of(id, 3) == std::vector<stop_mode>{stop_mode::kill});
  for (task_id t = 2; t <= 3; ++t) {
    CAPTURE(t);
    CHECK(task_changes(f.events_of(id), t)
          == std::vector<std::string>{"not_submitted>queued",
                                      "queued>cancelled"});
  }
  // The job stays cancelling while a withdrawn attempt is live.
  CHECK(f.job(id).status == job_status::cancelling);
  f.end_attempt(f.attempt_of(id, 2), attempt_outcome::failed, -1, "killed");
  CHECK(f.job(id).status == job_status::cancelling);
  f.send_end(f.attempt_of(id, 3), withdrawn_end(f.attempt_of(id, 3)));
  f.run();
  auto job = f.job(id);
  CHECK(job.status == job_status::cancelled);
  CHECK(job.end_code == result_code::job_cancelled);
  CHECK(f.started().size() == 3);
}

TEST_CASE("R16 a held attempt lost with its node leaves its task queued, "
          "counts no node loss, and is placed again only after the lease",
          "[pipeline][fencing][R16]") {
  supervisor_options opts;
  opts.node_lease = 3000ms;
  deterministic_fixture f{opts};
  auto n1 = f.add_node("n1", 1, {}, 1);
  auto spec = flat_job(2);
  spec.policy.retries = 0;
  spec.policy.grace = 1s;
  auto id = f.submit(spec);
  REQUIRE(f.started().size() == 2);
  f.add_node("n2", 1);
  f.lose_node(n1);
  // In doubt: neither is placed again before the lease and grace passed.
  f.advance(3900ms);
  CHECK(f.started().size() == 2);
  CHECK(f.task(id, 2).status == task_status::queued);
  f.advance(200ms);
  // The running one was lost with no retry left: failed. The held one never
  // showed as running: queued again with no loss counted, and placed on n2.
  CHECK(f.task(id, 1).status == task_status::failed);
  CHECK(f.task(id, 1).end_code == result_code::node_lost);
  auto t = f.task(id, 2);
  CHECK(t.node_losses == 0);
  CHECK(task_changes(f.events_of(id), 2)
        == std::vector<std::string>{"not_submitted>queued", "queued>running"});
  REQUIRE(f.started().size() == 3);
  CHECK(f.started()[2].node == "n2");
  CHECK(f.started()[2].key == attempt_key{id, 2, 2});
  CHECK(t.status == task_status::running);
}

TEST_CASE("R17 a node's hello naming an attempt number the head never gave "
          "(a placement the journal lost) keeps that number from being used "
          "again",
          "[pipeline][fencing][R17]") {
  deterministic_fixture f;
  auto id = f.submit(flat_job(1));
  CHECK(f.started().empty());
  // The node still runs attempt 1 of task 1 from before a head crash.
  auto r = f.join_node("n1", 1, 7, {attempt_key{id, 1, 1}});
  REQUIRE(r.code == result_code::ok);
  CHECK(f.signals_of(id, 1) == std::vector<stop_mode>{stop_mode::kill});
  REQUIRE(f.started().size() == 1);
  CHECK(f.started()[0].key == attempt_key{id, 1, 2});
  CHECK(f.task(id, 1).attempts == 2);
}

TEST_CASE("R16 after a head restart, a task its node held is in doubt: the "
          "node that reports the attempt running keeps it, and no second "
          "attempt starts",
          "[pipeline][fencing][durability][R16]") {
  temp_dir dir;
  auto options = [&] {
    supervisor_options opts;
    opts.node_lease = 3000ms;
    // Written on the deterministic scheduler's thread.
    opts.log = std::make_shared<journal>(dir.path(), false);
    return opts;
  };
  job_id id = invalid_id;
  {
    deterministic_fixture f{options()};
    f.add_node("n1", 1, {}, 1);
    id = f.submit(flat_job(2));
    REQUIRE(f.started().size() == 2);
    REQUIRE(f.started()[1].held);
    // The node started the held attempt, but the head went down before its
    // report arrived: the journal has the task queued, with attempt 1.
    REQUIRE(f.task(id, 2).status == task_status::queued);
  }
  deterministic_fixture f{options()};
  CHECK(f.task(id, 2).status == task_status::queued);
  CHECK(f.task(id, 2).attempts == 1);
  // The node comes back within its lease and lists both attempts.
  auto r
      = f.join_node("n1", 2, 0, {attempt_key{id, 1, 1}, attempt_key{id, 2, 1}});
  REQUIRE(r.code == result_code::ok);
  // Both are taken over; the held one is running now, under its number.
  CHECK(f.signals().empty());
  REQUIRE(f.started().size() == 2);
  for (const auto& a : f.started())
    CHECK(a.key.attempt == 1);
  auto t = f.task(id, 2);
  CHECK(t.status == task_status::running);
  CHECK(t.attempts == 1);
  CHECK(t.node_losses == 0);
  f.end_attempt(f.attempt_of(id, 1));
  f.end_attempt(f.attempt_of(id, 2));
  CHECK(f.job(id).status == job_status::finished);
}

namespace {

/// Records the size of each message an event sink receives.
event_sink_actor::behavior_type
batch_recorder_impl(event_sink_actor::pointer,
                    std::shared_ptr<std::vector<std::vector<event>>> log) {
  return {
      [=](const event& ev) { log->push_back({ev}); },
      [=](const event_batch& batch) { log->push_back(batch.events); },
  };
}

} // namespace

TEST_CASE("E1 the events of one step reach a subscriber as one message, in "
          "stream order",
          "[pipeline][events][E1]") {
  deterministic_fixture f;
  auto log = std::make_shared<std::vector<std::vector<event>>>();
  auto sink = f.sys.spawn(batch_recorder_impl, log);
  REQUIRE(f.ask<op_reply>(subscribe{sink}).code == result_code::ok);
  f.add_node("n1", 1);
  auto id = f.submit(flat_job(1));
  log->clear();
  f.end_attempt(f.attempt_of(id, 1));
  REQUIRE(f.job(id).status == job_status::finished);
  // The end report's step: task, assessment and job end, in one message.
  REQUIRE(log->size() == 1);
  const auto& evs = log->front();
  REQUIRE(evs.size() == 3);
  CHECK(evs[0].kind == event_kind::task);
  CHECK(evs[1].kind == event_kind::assessment);
  CHECK(evs[2].kind == event_kind::job);
  CHECK(evs[0].seq < evs[1].seq);
  CHECK(evs[1].seq < evs[2].seq);
  // The fixture's own subscriber saw the same events one by one.
  auto all = f.events_of(id);
  REQUIRE(all.size() >= 3);
  CHECK(all.back().seq == evs[2].seq);
  caf::anon_send_exit(sink, caf::exit_reason::kill);
}

TEST_CASE("R14 a start that was not held but waited at the node for a slot "
          "has its time limit counted from its start",
          "[pipeline][R14]") {
  // Starts of different task actors reach a node in no fixed order, so a
  // held start can take the slot a start that was not held was placed for;
  // that one waits there, and the node reports when it starts.
  deterministic_fixture f;
  f.add_node("n1", 1);
  auto spec = flat_job(1);
  spec.policy.grace = 1s;
  spec.assessments[0].tasks[0].time_limit = 2s;
  auto id = f.submit(spec);
  auto a = f.started().at(0);
  REQUIRE_FALSE(a.held);
  // It waits for longer than its whole limit: no stop while it waits.
  f.report_waiting(a);
  f.advance(3000ms);
  CHECK(f.signals_of(id, 1).empty());
  f.report_running(a);
  // 4 s after its placement, 1 s after its start: not yet at its limit.
  f.advance(1000ms);
  CHECK(f.signals_of(id, 1).empty());
  CHECK(f.task(id, 1).status == task_status::running);
  // 2 s after its start: the stop request.
  f.advance(1100ms);
  CHECK(f.signals_of(id, 1) == std::vector<stop_mode>{stop_mode::request});
  f.end_attempt(a, attempt_outcome::failed, -1, "stopped");
  CHECK(f.task(id, 1).end_code == result_code::timeout);
  // The running report of a start that was not held changes no status and
  // counts no attempt: the books had it running since its placement.
  CHECK(f.task(id, 1).attempts == 1);
}
