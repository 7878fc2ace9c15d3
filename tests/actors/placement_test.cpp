// Tests of placement (actors/placement.hpp): start order, the choice of a
// node and the round robin of ready tasks.

#include "actors/owners.hpp"
#include "actors/placement.hpp"
#include "support/handles.hpp"
#include "support/specs.hpp"

#include <catch2/catch.hpp>

#include <tuple>
#include <utility>
#include <vector>

using namespace quiesce;
using namespace quiesce::test;

namespace {

const caf::timestamp t0{caf::timespan{1'000'000'000}};

node_entry node(std::string name, uint32_t slots, uint32_t running,
                std::vector<std::string> labels = {}) {
  node_entry n;
  n.name = std::move(name);
  n.slots = slots;
  n.running = running;
  n.labels = std::move(labels);
  return n;
}

task_record task_with_label(std::string label) {
  task_record t;
  t.spec.label = std::move(label);
  return t;
}

// The books of running jobs and the placement that serves them, driven the
// way the supervisor drives them.
struct fixture {
  dummy_actors dummies;
  books jobs;
  node_table nodes;
  placement plan;

  void add_node(std::string name, uint32_t slots,
                std::vector<std::string> labels = {}) {
    node_hello h{protocol_version,
                 std::move(name),
                 slots,
                 std::move(labels),
                 dummies.make<node_actor>(),
                 {},
                 0,
                 {}};
    REQUIRE(nodes.join(h).code == result_code::ok);
  }

  // Adds a job of `n` tasks with `label`, submits and starts it.
  job_id add_running_job(size_t n, std::string label = {}) {
    auto task = cmd_task({"true"});
    task.label = std::move(label);
    auto id = jobs.add_job(uniform_job({n}, task), "t", t0);
    auto& b = *jobs.find(id);
    for (const auto& c : decide(b, submit_job{id, "t"}).changes)
      jobs.commit(b, c, t0);
    for (const auto& c : start(b).changes)
      jobs.commit(b, c, t0);
    plan.begin_assessment(b, 0);
    return id;
  }

  // Dispatches until placement has no more; returns (job, task, node).
  std::vector<std::tuple<job_id, task_id, std::string>> place_all() {
    std::vector<std::tuple<job_id, task_id, std::string>> out;
    for (int guard = 0; guard < 100; ++guard) {
      auto x = plan.next(jobs, nodes);
      if (!x)
        break;
      auto& b = *x->job;
      auto& t = *x->task;
      jobs.commit(
          b, task_change(t.id, task_status::queued, task_status::running), t0);
      jobs.begin_attempt(b, t, x->node->name);
      nodes.occupy(*x->node, attempt_key{b.job.id, t.id, t.attempts});
      out.emplace_back(b.job.id, t.id, x->node->name);
    }
    return out;
  }
};

using placed = std::tuple<job_id, task_id, std::string>;

} // namespace

TEST_CASE("pick_node takes the fitting node with the most free slots",
          "[actors][placement]") {
  std::vector<node_entry> nodes{node("a", 4, 3), node("b", 4, 1, {"gpu"}),
                                node("c", 8, 8), node("d", 3, 0)};
  CHECK(pick_node(nodes, task_with_label(""), "alice")->name == "b");
  CHECK(pick_node(nodes, task_with_label("gpu"), "alice")->name == "b");
  CHECK(pick_node(nodes, task_with_label("tpu"), "alice") == nullptr);
  nodes[1].status = node_status::unreachable;
  // "d" has 3 free slots, as many as "b" had: the first one wins a tie.
  CHECK(pick_node(nodes, task_with_label(""), "alice")->name == "d");
  CHECK(pick_node(nodes, task_with_label("gpu"), "alice") == nullptr);
}

TEST_CASE("pick_node places a task only where its owner may run, unless no "
          "node runs it",
          "[actors][placement][owner]") {
  // A root node that maps alice, a node of uid 1000 that maps no one and is
  // strict, and a node of uid 1000 that maps bob to another uid.
  std::vector<node_entry> nodes{node("root", 2, 0), node("strict", 8, 0),
                                node("user", 4, 0)};
  nodes[0].owners = owner_policy{"root", 0, true, {{"alice", 1001}}};
  nodes[1].owners = owner_policy{"carol", 1000, true, {}};
  nodes[2].owners = owner_policy{"carol", 1000, true, {{"bob", 1002}}};
  auto command = task_with_label("");
  auto function = task_with_label("");
  function.spec.kind = work_kind::function;
  // alice runs on the root node only (as her account), though the others
  // have more free slots.
  CHECK(pick_node(nodes, command, "alice")->name == "root");
  // carol is the user of the two others: the roomier one.
  CHECK(pick_node(nodes, command, "carol")->name == "strict");
  // A function cannot change user: alice's have no node, so the roomiest
  // node takes it and refuses it with its reason.
  CHECK(pick_node(nodes, function, "alice")->name == "strict");
  CHECK(owner_refusal(nodes[1].owners, "strict", "alice", true)
        == "owner alice has no account on node strict (no entry in its "
           "[runtime.users])");
  // While the one node that runs alice's commands is busy, the task waits
  // rather than go where it would be refused.
  nodes[0].running = 2;
  CHECK(pick_node(nodes, command, "alice") == nullptr);
  // bob maps to another uid on a node that is not root: no node runs him.
  CHECK(owner_refusal(nodes[2].owners, "user", "bob", false)
        == "owner bob maps to uid 1002, but node user runs as uid 1000 (not "
           "root) and cannot change user");
  CHECK(pick_node(nodes, command, "bob")->name == "strict");
  // A node that is not strict and maps no one runs everyone.
  nodes[1].owners = owner_policy{};
  CHECK(pick_node(nodes, command, "bob")->name == "strict");
  CHECK(runs_owner(nodes[1].owners, "anyone", true));
}

TEST_CASE("make_run_task takes the task's grace or else the job's",
          "[actors][placement]") {
  job_books b;
  b.job.id = 5;
  b.job.policy.grace = std::chrono::seconds{7};
  b.job.policy.stop_commands_on_cancel = true;
  task_record t;
  t.id = 2;
  t.attempts = 3;
  t.spec.name = "x";
  t.spec.grace = std::chrono::seconds{-1};
  auto n = node("n1", 1, 0);
  auto msg = make_run_task(b, t, n);
  CHECK(msg.key == attempt_key{5, 2, 3});
  CHECK(msg.spec.name == "x");
  CHECK(msg.grace == std::chrono::seconds{7});
  CHECK(msg.stop_commands_on_cancel);
  CHECK(msg.node_name == "n1");
  t.spec.grace = std::chrono::seconds{1};
  CHECK(make_run_task(b, t, n).grace == std::chrono::seconds{1});
}

TEST_CASE("placement starts queued jobs in order within the limit",
          "[actors][placement]") {
  placement plan{2};
  CHECK(plan.next_start() == invalid_id);
  plan.job_queued(3);
  plan.job_queued(1);
  plan.job_queued(2);
  CHECK(plan.next_start() == 3);
  plan.job_activated();
  CHECK(plan.next_start() == 1);
  plan.job_activated();
  CHECK(plan.running_jobs() == 2);
  CHECK(plan.next_start() == invalid_id);
  plan.job_deactivated();
  CHECK(plan.next_start() == 2);
  placement unlimited;
  for (job_id id = 1; id <= 5; ++id) {
    unlimited.job_queued(id);
    unlimited.job_activated();
  }
  CHECK(unlimited.next_start() == 1);
}

TEST_CASE("placement serves running jobs one task per turn",
          "[actors][placement]") {
  fixture f;
  f.add_node("n1", 3);
  auto j1 = f.add_running_job(2);
  auto j2 = f.add_running_job(2);
  auto out = f.place_all();
  CHECK(out
        == std::vector<placed>{{j1, 1, "n1"}, {j2, 1, "n1"}, {j1, 2, "n1"}});
  // Nothing fits until a slot is free; then the other job's turn comes.
  CHECK(f.place_all().empty());
  attempt_ended end;
  end.key = attempt_key{j1, 1, 1};
  end.node = "n1";
  f.nodes.release(end);
  CHECK(f.place_all() == std::vector<placed>{{j2, 2, "n1"}});
}

TEST_CASE("placement lets a job whose task fits no node wait for the round "
          "to end",
          "[actors][placement]") {
  fixture f;
  f.add_node("cpu", 2);
  auto gpu_job = f.add_running_job(1, "gpu");
  auto other = f.add_running_job(2);
  CHECK(f.place_all()
        == std::vector<placed>{{other, 1, "cpu"}, {other, 2, "cpu"}});
  f.add_node("gpu", 1, {"gpu"});
  CHECK(f.place_all() == std::vector<placed>{{gpu_job, 1, "gpu"}});
}

TEST_CASE("placement skips tasks that stopped being dispatchable",
          "[actors][placement]") {
  fixture f;
  f.add_node("n1", 4);
  auto id = f.add_running_job(3);
  auto& b = *f.jobs.find(id);
  f.jobs.commit(b,
                task_change(2, task_status::queued, task_status::cancelled,
                            result_code::task_cancelled),
                t0);
  CHECK(f.place_all() == std::vector<placed>{{id, 1, "n1"}, {id, 3, "n1"}});
  // A task made ready again goes in its job's next turn.
  f.plan.ready(id, 2);
  f.jobs.commit(b, task_change(2, task_status::cancelled, task_status::queued),
                t0);
  CHECK(f.place_all() == std::vector<placed>{{id, 2, "n1"}});
}
