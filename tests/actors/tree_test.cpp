// Deterministic tests of the task actor on its own: a fake node records what
// the task actor asks of it and a fake assessment (its parent) records what it
// reports up. These check the stop modes (J21), the time limit (R6) and a
// lost node (R8) at the actor that enforces them; the supervisor tests check
// the same rules through the whole tree.

#include "actors/task.hpp"
#include "support/deterministic.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>
#include <vector>

using namespace quiesce;
using namespace quiesce::test;
using namespace std::chrono_literals;

namespace {

/// What the fake parent received.
struct parent_log {
  std::vector<attempt_ended> ends;
  std::vector<attempt_progress> progress;
  std::vector<attempt_output> outputs;
  std::vector<attempt_running> started;
};

assessment_actor::behavior_type
fake_parent_impl(assessment_actor::pointer, std::shared_ptr<parent_log> log) {
  return {
      [=](const run_task&) {},
      [=](const stop_tasks&) {},
      [=](const attempt_ended& x) { log->ends.push_back(x); },
      [=](const attempt_progress& x) { log->progress.push_back(x); },
      [=](const attempt_output& x) { log->outputs.push_back(x); },
      [=](const attempt_running& x) { log->started.push_back(x); },
  };
}

/// A task actor between a fake node and a fake parent.
struct task_fixture : deterministic_fixture {
  std::shared_ptr<parent_log> up = std::make_shared<parent_log>();
  assessment_actor parent;
  node_actor node;
  task_actor task;

  task_fixture() {
    parent = sys.spawn(fake_parent_impl, up);
    node = sys.spawn(fake_node_impl, std::string{"fake"}, nodes);
    node_handles.push_back(node);
  }

  ~task_fixture() {
    caf::anon_send_exit(parent, caf::exit_reason::kill);
    if (task)
      caf::anon_send_exit(task, caf::exit_reason::kill);
    sched.clock().cancel_all();
    sched.run(max_events);
  }

  /// Returns attempt 1 of task `id` of job 1 on the fake node.
  run_task attempt(task_id id, task_spec spec, caf::timespan grace = 1s,
                   bool stop_commands_on_cancel = false) const {
    run_task msg;
    msg.key = attempt_key{1, id, 1};
    msg.spec = std::move(spec);
    msg.grace = grace;
    msg.stop_commands_on_cancel = stop_commands_on_cancel;
    msg.node = node;
    msg.node_name = "fake";
    return msg;
  }

  /// Spawns the task actor for attempt 1 of task 1 of job 1.
  void spawn(task_spec spec, caf::timespan grace = 1s,
             bool stop_commands_on_cancel = false) {
    task = spawn_task(
        sys, attempt(1, std::move(spec), grace, stop_commands_on_cancel),
        parent);
    run();
  }

  /// Gives the task actor, idle after its last end, attempt 1 of task `id`
  /// (as its assessment does).
  void give(task_id id, task_spec spec) {
    caf::anon_send(task, attempt(id, std::move(spec)));
    run();
  }

  void stop(stop_mode mode) {
    caf::anon_send(task, stop_tasks{1, {1}, mode});
    run();
  }

  std::vector<stop_mode> signals() const {
    return signals_of(1, 1);
  }
};

} // namespace

TEST_CASE("T17 a task actor asks its node to start its attempt and reports "
          "the end once, with the node's name",
          "[tree][T17]") {
  task_fixture f;
  f.spawn(fn_task("work"));
  REQUIRE(f.started().size() == 1);
  auto a = f.started()[0];
  CHECK(a.key == attempt_key{1, 1, 1});
  CHECK(a.spec.work == "work");
  CHECK(a.reply_to == f.task);
  f.progress(a, 10, "starting");
  REQUIRE(f.up->progress.size() == 1);
  CHECK(f.up->progress[0].percent == 10);
  auto end = deterministic_fixture::make_end(a);
  end.node.clear();
  deterministic_fixture::send_end(a, end);
  f.run();
  REQUIRE(f.up->ends.size() == 1);
  CHECK(f.up->ends[0].node == "fake");
  CHECK(f.up->ends[0].outcome == attempt_outcome::succeeded);
  // The attempt is over: a duplicate end and late progress go nowhere.
  deterministic_fixture::send_end(a, deterministic_fixture::make_end(a));
  f.progress(a, 90, "late");
  CHECK(f.up->ends.size() == 1);
  CHECK(f.up->progress.size() == 1);
}

TEST_CASE("a task actor that exits with its assessment leaves no monitor on "
          "its node behind",
          "[tree][T17]") {
  // CAF 0.17 keeps a dead observer's monitor on the observed actor, holding
  // a weak reference to the observer (and so its memory) for as long as the
  // node lives: one per task actor, a leak of about 1 KiB each.
  task_fixture f;
  f.spawn(fn_task("work"));
  auto a = f.started().at(0);
  auto* ctrl = caf::actor_cast<caf::actor_control_block*>(f.task);
  caf::weak_actor_ptr weak{ctrl};
  deterministic_fixture::send_end(a, deterministic_fixture::make_end(a));
  f.run();
  REQUIRE(f.up->ends.size() == 1);
  // The assessment exits (its job moved on): the linked task actor goes too.
  caf::anon_send_exit(f.task, caf::exit_reason::user_shutdown);
  f.task = nullptr;
  f.run();
  // Left: `weak`, plus one for all strong references together (the fake
  // node's log still holds the attempt's reply_to).
  auto expected = 1 + (ctrl->strong_refs.load() > 0 ? 1 : 0);
  CHECK(ctrl->weak_refs.load() == static_cast<size_t>(expected));
}

TEST_CASE("T17 a task actor takes its assessment's next attempt after an end, "
          "and nothing of the last attempt reaches the next",
          "[tree][T17]") {
  task_fixture f;
  auto limited = fn_task("work");
  limited.time_limit = 1s;
  f.spawn(limited, 1s);
  auto first = f.started().at(0);
  f.end_attempt(first);
  REQUIRE(f.up->ends.size() == 1);
  // The next attempt (task 2) on the same actor: no time limit of its own.
  f.give(2, fn_task("work"));
  REQUIRE(f.started().size() == 2);
  auto second = f.started().at(1);
  CHECK(second.key == attempt_key{1, 2, 1});
  CHECK(second.reply_to == f.task);
  // The first attempt's time limit expires: nothing happens to the second.
  f.advance(3s);
  CHECK(f.signals_of(1, 2).empty());
  CHECK(f.up->ends.size() == 1);
  // A late stop of the first task, and its late reports, do not touch it.
  caf::anon_send(f.task, stop_tasks{1, {1}, stop_mode::kill});
  f.progress(first, 50, "late");
  f.run();
  CHECK(f.signals().empty());
  CHECK(f.up->progress.empty());
  // A stop of the second task reaches it; its end is reported once.
  caf::anon_send(f.task, stop_tasks{1, {2}, stop_mode::kill});
  f.run();
  CHECK(f.signals_of(1, 2) == std::vector<stop_mode>{stop_mode::kill});
  f.end_attempt(second, attempt_outcome::stopped, -1);
  REQUIRE(f.up->ends.size() == 2);
  CHECK(f.up->ends[1].key == attempt_key{1, 2, 1});
  CHECK(f.up->ends[1].outcome == attempt_outcome::stopped);
}

TEST_CASE("R8 a node lost while its task actor waits for the next attempt "
          "makes that attempt lost",
          "[tree][R8]") {
  task_fixture f;
  f.spawn(fn_task("work"));
  f.end_attempt(f.started().at(0));
  REQUIRE(f.up->ends.size() == 1);
  f.lose_node(f.node);
  // Idle: nothing to report.
  CHECK(f.up->ends.size() == 1);
  f.give(2, fn_task("work"));
  REQUIRE(f.up->ends.size() == 2);
  CHECK(f.up->ends[1].key == attempt_key{1, 2, 1});
  CHECK(f.up->ends[1].outcome == attempt_outcome::lost);
  CHECK(f.up->ends[1].code == result_code::node_lost);
}

TEST_CASE("J21 stop_mode request reaches a function and never kills it",
          "[tree][J21]") {
  task_fixture f;
  f.spawn(fn_task("work"), 1s);
  f.stop(stop_mode::request);
  f.advance(5s);
  CHECK(f.signals() == std::vector<stop_mode>{stop_mode::request});
}

TEST_CASE("J21 stop_mode request leaves a command alone unless "
          "stop_commands_on_cancel",
          "[tree][J21]") {
  task_fixture f;
  SECTION("default") {
    f.spawn(cmd_task({"sleep", "9"}), 1s, false);
    f.stop(stop_mode::request);
    f.advance(5s);
    CHECK(f.signals().empty());
  }
  SECTION("stop_commands_on_cancel") {
    f.spawn(cmd_task({"sleep", "9"}), 1s, true);
    f.stop(stop_mode::request);
    REQUIRE(!f.signals().empty());
    CHECK(f.signals().front() == stop_mode::request);
  }
}

TEST_CASE("J21 T2 a graceful stop sends a stop request, then a kill after "
          "the grace period unless the work ended first",
          "[tree][J21][T2]") {
  task_fixture f;
  f.spawn(fn_task("work"), 2s);
  auto a = f.started().at(0);
  f.stop(stop_mode::graceful);
  CHECK(f.signals() == std::vector<stop_mode>{stop_mode::request});
  SECTION("the work outlives the grace period") {
    f.advance(1900ms);
    CHECK(f.signals() == std::vector<stop_mode>{stop_mode::request});
    f.advance(200ms);
    CHECK(f.signals()
          == std::vector<stop_mode>{stop_mode::request, stop_mode::kill});
    // Asking again does not kill twice.
    f.stop(stop_mode::kill);
    f.stop(stop_mode::graceful);
    auto sigs = f.signals();
    CHECK(std::count(sigs.begin(), sigs.end(), stop_mode::kill) == 1);
  }
  SECTION("the work ends within the grace period") {
    f.end_attempt(a, attempt_outcome::stopped, -1);
    f.advance(3s);
    CHECK(f.signals() == std::vector<stop_mode>{stop_mode::request});
    REQUIRE(f.up->ends.size() == 1);
    CHECK(f.up->ends[0].outcome == attempt_outcome::stopped);
  }
}

TEST_CASE("J21 J11 a zero grace period and stop_mode kill kill at once",
          "[tree][J21][J11]") {
  task_fixture f;
  SECTION("graceful with zero grace") {
    f.spawn(fn_task("work"), 0s);
    f.stop(stop_mode::graceful);
  }
  SECTION("kill") {
    f.spawn(fn_task("work"), 5s);
    f.stop(stop_mode::kill);
  }
  CHECK(f.signals() == std::vector<stop_mode>{stop_mode::kill});
}

TEST_CASE("R6 at its time limit a task actor stops the work gracefully and "
          "reports the end as timed_out",
          "[tree][R6]") {
  task_fixture f;
  auto spec = fn_task("work");
  spec.time_limit = 1s;
  f.spawn(spec, 500ms);
  auto a = f.started().at(0);
  f.advance(900ms);
  CHECK(f.signals().empty());
  f.advance(200ms);
  CHECK(f.signals() == std::vector<stop_mode>{stop_mode::request});
  f.advance(500ms);
  CHECK(f.signals()
        == std::vector<stop_mode>{stop_mode::request, stop_mode::kill});
  f.end_attempt(a, attempt_outcome::failed, -1, "killed by SIGKILL");
  REQUIRE(f.up->ends.size() == 1);
  CHECK(f.up->ends[0].outcome == attempt_outcome::timed_out);
  CHECK(f.up->ends[0].code == result_code::timeout);
  CHECK_THAT(f.up->ends[0].message, Catch::Contains("time limit"));
}

TEST_CASE("R6 work that ends before its time limit is not a timeout",
          "[tree][R6]") {
  task_fixture f;
  auto spec = fn_task("work");
  spec.time_limit = 1s;
  f.spawn(spec, 500ms);
  f.end_attempt(f.started().at(0), attempt_outcome::failed, 2, "exit 2");
  f.advance(3s);
  CHECK(f.signals().empty());
  REQUIRE(f.up->ends.size() == 1);
  CHECK(f.up->ends[0].outcome == attempt_outcome::failed);
  CHECK(f.up->ends[0].code == result_code::task_failed);
}

TEST_CASE("R8 a task actor whose node goes down reports its attempt lost and "
          "not confirmed dead",
          "[tree][R8]") {
  task_fixture f;
  f.spawn(fn_task("work"));
  caf::anon_send_exit(f.node, caf::exit_reason::kill);
  f.run();
  REQUIRE(f.up->ends.size() == 1);
  auto& end = f.up->ends[0];
  CHECK(end.key == attempt_key{1, 1, 1});
  CHECK(end.outcome == attempt_outcome::lost);
  CHECK(end.code == result_code::node_lost);
  CHECK_FALSE(end.confirmed_dead);
  CHECK(end.node == "fake");
}
