// Deterministic tests of fencing (docs/containment.md, "Fencing"): a lost
// node's attempts stay live until they are known dead or the node's lease
// and grace period passed (R12), and reports from an old incarnation of a
// node or about an old attempt are ignored and counted (R13). The tests play
// the nodes with fake node actors; a node process that restarts is a new
// fake actor under the same name with another incarnation.

#include "support/deterministic.hpp"
#include "support/printers.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

using namespace quiesce;
using namespace quiesce::test;
using namespace std::chrono_literals;

namespace {

/// A supervisor whose lost nodes keep their attempts for 3 s.
supervisor_options leased() {
  supervisor_options opts;
  opts.node_lease = 3000ms;
  return opts;
}

/// Returns a job of one function task with a grace period of 1 s.
job_spec one_task_job() {
  auto j = uniform_job({1}, fn_task("work"));
  j.policy.grace = 1s;
  j.policy.retries = 10;
  return j;
}

/// Returns how many events of `evs` requeue task 1 with node_lost.
size_t node_lost_requeues(const std::vector<event>& evs) {
  return static_cast<size_t>(
      std::count_if(evs.begin(), evs.end(), [](const event& ev) {
        return ev.kind == event_kind::task && ev.subject == 1
               && ev.previous == entity_status{task_status::running}
               && ev.current == entity_status{task_status::queued}
               && ev.code == result_code::node_lost;
      }));
}

/// Returns the stale reports the supervisor counted for node `name`.
uint64_t stale_reports(deterministic_fixture& f, const std::string& name) {
  auto nodes = f.ask<node_list>(list_nodes{});
  for (const auto& n : nodes.nodes)
    if (n.name == name)
      return n.stale_reports;
  FAIL("no node " << name);
  return 0;
}

/// Joins fake node process `incarnation` as `name`; returns its handle.
node_actor join(deterministic_fixture& f, const std::string& name,
                uint64_t incarnation) {
  auto r = f.join_node(name, 1, incarnation);
  REQUIRE(r.code == result_code::ok);
  return f.node_handles.back();
}

} // namespace

TEST_CASE("R12 a lost node's attempt is placed again only after the node's "
          "lease and its grace period",
          "[fencing][R12]") {
  deterministic_fixture f{leased()};
  auto n1 = join(f, "n1", 11);
  join(f, "n2", 22);
  auto id = f.submit(one_task_job());
  REQUIRE(f.started().size() == 1);
  auto first = f.started()[0];
  auto on_n1 = first.node == "n1";
  // Lose the node that runs it (the other one has a free slot).
  if (!on_n1)
    n1 = f.node_handles.at(1);
  f.lose_node(n1);
  // In doubt: still running there, not placed again, no event yet.
  CHECK(f.task(id, 1).status == task_status::running);
  CHECK(node_lost_requeues(f.events_of(id)) == 0);
  f.advance(3900ms);
  CHECK(f.started().size() == 1);
  CHECK(f.task(id, 1).status == task_status::running);
  // Lease (3 s) plus grace (1 s) passed: lost, requeued, placed on the other.
  f.advance(200ms);
  CHECK(node_lost_requeues(f.events_of(id)) == 1);
  REQUIRE(f.started().size() == 2);
  CHECK(f.started()[1].key == attempt_key{id, 1, 2});
  CHECK(f.started()[1].node != first.node);
  auto t = f.task(id, 1);
  CHECK(t.node_losses == 1);
  CHECK_THAT(t.error_message, Catch::Contains("did not come back"));
}

TEST_CASE("R12 a node restarted under its name is a new incarnation: the old "
          "one's attempts are dead at once and never taken over",
          "[fencing][R12]") {
  deterministic_fixture f{leased()};
  auto n1 = join(f, "n1", 11);
  auto id = f.submit(one_task_job());
  REQUIRE(f.started().size() == 1);
  auto a1 = f.started()[0];
  f.lose_node(n1);
  CHECK(f.task(id, 1).status == task_status::running);
  // The new process (incarnation 12) claims the old attempt: it is told to
  // kill it, and the attempt is known dead.
  auto r = f.join_node("n1", 1, 12, {a1.key});
  REQUIRE(r.code == result_code::ok);
  auto sigs = f.signals_of(id, 1);
  CHECK(sigs == std::vector<stop_mode>{stop_mode::kill});
  CHECK(node_lost_requeues(f.events_of(id)) == 1);
  REQUIRE(f.started().size() == 2);
  CHECK(f.started()[1].key == attempt_key{id, 1, 2});
  CHECK_THAT(f.task(id, 1).error_message,
             Catch::Contains("came back as a new process"));
}

TEST_CASE("R12 a node that comes back as the same incarnation within its "
          "lease keeps its attempt: no second attempt",
          "[fencing][R12]") {
  deterministic_fixture f{leased()};
  auto n1 = join(f, "n1", 11);
  auto id = f.submit(one_task_job());
  REQUIRE(f.started().size() == 1);
  auto a1 = f.started()[0];
  // The connection is lost (the proxy dies), the process lives on.
  f.lose_node(n1);
  f.advance(2s);
  auto r = f.join_node("n1", 1, 11, {a1.key});
  REQUIRE(r.code == result_code::ok);
  // Taken over: a new task actor for attempt 1 on the same node.
  REQUIRE(f.started().size() == 2);
  auto again = f.started()[1];
  CHECK(again.key == a1.key);
  CHECK(f.signals_of(id, 1).empty());
  // The lease's deadline passes harmlessly.
  f.advance(3s);
  CHECK(f.task(id, 1).status == task_status::running);
  auto end = f.make_end(again);
  end.incarnation = 11;
  f.send_end(again, end);
  f.run();
  auto t = f.task(id, 1);
  CHECK(t.status == task_status::finished);
  CHECK(t.attempts == 1);
  CHECK(t.node_losses == 0);
  CHECK(node_lost_requeues(f.events_of(id)) == 0);
  CHECK(f.job(id).status == job_status::finished);
}

TEST_CASE("R13 late end and progress reports from an old incarnation or "
          "about an old attempt are ignored and counted",
          "[fencing][R13]") {
  deterministic_fixture f{leased()};
  auto n1 = join(f, "n1", 11);
  auto id = f.submit(one_task_job());
  REQUIRE(f.started().size() == 1);
  auto a1 = f.started()[0];
  f.lose_node(n1);
  REQUIRE(f.join_node("n1", 1, 12).code == result_code::ok);
  REQUIRE(f.started().size() == 2);
  auto a2 = f.started()[1];
  REQUIRE(a2.key.attempt == 2);
  // The old process's reports arrive late, at the live attempt's actor.
  auto late = f.make_end(a1);
  late.incarnation = 11;
  f.send_end(a2, late);
  f.run();
  auto wrong_process = f.make_end(a2);
  wrong_process.incarnation = 11;
  f.send_end(a2, wrong_process);
  f.run();
  caf::send_as(a2.by, a2.reply_to, attempt_progress{a2.key, 50, "old", 11});
  f.run();
  auto t = f.task(id, 1);
  CHECK(t.status == task_status::running);
  CHECK(stale_reports(f, "n1") == 3);
  // The live attempt's own end still counts.
  auto good = f.make_end(a2);
  good.incarnation = 12;
  f.send_end(a2, good);
  f.run();
  t = f.task(id, 1);
  CHECK(t.status == task_status::finished);
  CHECK(t.attempts == 2);
  CHECK(f.job(id).status == job_status::finished);
  CHECK(stale_reports(f, "n1") == 3);
}

TEST_CASE("R12 J13 terminate_job of a job whose node was lost waits for the "
          "node's lease rather than failing at its bound",
          "[fencing][R12][J13]") {
  auto opts = leased();
  opts.terminate_bound = 1000ms;
  deterministic_fixture f{opts};
  auto n1 = join(f, "n1", 11);
  auto id = f.submit(one_task_job());
  REQUIRE(f.started().size() == 1);
  SECTION("the node is lost before the terminate") {
    f.lose_node(n1);
    f.send(terminate_job{id, "test"});
    f.run();
  }
  SECTION("the node is lost while the terminate waits") {
    f.send(terminate_job{id, "test"});
    f.run();
    f.advance(500ms);
    f.lose_node(n1);
    // Its lease (3 s) and grace (1 s) now end 4.5 s after the terminate.
  }
  // Past the bound of 1 s: the attempt may still run on the lost node.
  f.advance(1100ms);
  CHECK(!f.try_take<op_reply>());
  CHECK(f.job(id).status == job_status::cancelled);
  // Past the lease and grace: the node killed it itself, so it is dead.
  f.advance(3500ms);
  auto r = f.try_take<op_reply>();
  REQUIRE(r);
  CHECK(r->code == result_code::ok);
  CHECK(f.task(id, 1).status != task_status::running);
}

TEST_CASE("a task actor takes its running attempt's end and progress only "
          "from the attempt's node",
          "[fencing][security]") {
  deterministic_fixture f;
  auto n1 = join(f, "n1", 21);
  auto id = f.submit(one_task_job());
  REQUIRE(f.started().size() == 1);
  auto a = f.started()[0];
  REQUIRE(a.by == n1);
  // Any peer of the head can reach the task actor by its id: an end of the
  // running attempt with its key and incarnation, sent by anyone but n1, is
  // forged (docs/security.md).
  auto forged = f.make_end(a, attempt_outcome::failed, 1, "forged");
  forged.incarnation = 21;
  caf::anon_send(a.reply_to, forged);
  f.run();
  auto stranger = f.sys.spawn(fake_node_impl, std::string{"n1"}, f.nodes);
  caf::send_as(stranger, a.reply_to, forged);
  caf::send_as(stranger, a.reply_to, attempt_progress{a.key, 90, "forged", 21});
  f.run();
  auto progress_events = [&] {
    auto evs = f.events_of(id);
    return std::count_if(evs.begin(), evs.end(), [](const event& ev) {
      return ev.kind == event_kind::progress;
    });
  };
  auto t = f.task(id, 1);
  CHECK(t.status == task_status::running);
  CHECK(progress_events() == 0);
  CHECK(stale_reports(f, "n1") == 0);
  // The node's own reports count.
  caf::send_as(a.by, a.reply_to, attempt_progress{a.key, 40, "real", 21});
  f.run();
  CHECK(progress_events() == 1);
  auto good = f.make_end(a);
  good.incarnation = 21;
  f.send_end(a, good);
  f.run();
  t = f.task(id, 1);
  CHECK(t.status == task_status::finished);
  CHECK(t.exit_code == 0);
  caf::anon_send_exit(stranger, caf::exit_reason::kill);
  f.run();
}
