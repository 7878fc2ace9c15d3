// The real node actor (actors/node.hpp), driven directly: starts sent to it
// as the task actors of a head would, its reports taken by a recording task
// actor. On real threads: blocking work functions run on the node's
// executor.

#include "actors/node.hpp"
#include "execution/work_registry.hpp"
#include "support/processes.hpp"
#include "support/work.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace quiesce;
using namespace quiesce::test;
using namespace std::chrono_literals;

namespace {

/// What a recording task actor received from its node.
struct received {
  std::mutex mtx;
  std::vector<attempt_key> running;
  std::vector<attempt_key> waiting;
  std::vector<attempt_key> ended;

  size_t count_waiting(const attempt_key& key) {
    std::lock_guard<std::mutex> guard{mtx};
    return static_cast<size_t>(std::count(waiting.begin(), waiting.end(), key));
  }

  size_t count_running(const attempt_key& key) {
    std::lock_guard<std::mutex> guard{mtx};
    return static_cast<size_t>(std::count(running.begin(), running.end(), key));
  }

  bool has_ended(const attempt_key& key) {
    std::lock_guard<std::mutex> guard{mtx};
    return std::find(ended.begin(), ended.end(), key) != ended.end();
  }
};

/// A task actor that records the start and end reports it gets.
task_actor::behavior_type recorder(std::shared_ptr<received> into) {
  return {
      [](const run_task&) {},
      [](const stop_tasks&) {},
      [into](const attempt_ended& end) {
        std::lock_guard<std::mutex> guard{into->mtx};
        into->ended.push_back(end.key);
      },
      [](const attempt_progress&) {},
      [](const attempt_output&) {},
      [into](const attempt_running& r) {
        std::lock_guard<std::mutex> guard{into->mtx};
        (r.waiting ? into->waiting : into->running).push_back(r.key);
      },
      [](const attempt_timer&) {},
  };
}

/// Returns a start of blocking function "gate" for task `task`.
start_attempt start_of(task_id task, task_actor reply_to, bool held) {
  start_attempt msg;
  msg.key = attempt_key{1, task, 1};
  msg.spec.kind = work_kind::function;
  msg.spec.work = "gate";
  msg.reply_to = std::move(reply_to);
  msg.held = held;
  return msg;
}

} // namespace

TEST_CASE("R14 a node reports the start of an attempt that was not held but "
          "waited for a slot, so that its time limit runs from there",
          "[pipeline][R14][node]") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  std::atomic<bool> open{false};
  auto node = spawn_gated_node(sys, open);
  auto got = std::make_shared<received>();
  auto task = sys.spawn(recorder, got);
  // A held start took the slot first (starts of different task actors are
  // not ordered); the one placed for the slot, not held, finds it taken.
  caf::anon_send(node, start_of(2, task, true));
  REQUIRE(wait_until([&] { return got->count_running({1, 2, 1}) == 1; }, 10s));
  // Sent, then a hello asked, by one sender: once the hello is answered,
  // the node has taken the start (and, the gate being shut, queued it).
  caf::scoped_actor self{sys};
  self->send(node, start_of(1, task, false));
  self->request(node, caf::infinite, node_hello{})
      .receive([](const node_hello&) {},
               [](const caf::error& err) { FAIL(caf::to_string(err)); });
  CHECK(got->count_running({1, 1, 1}) == 0);
  // It says that it waits, so that its task actor holds its time limit
  // back until it starts.
  CHECK(wait_until([&] { return got->count_waiting({1, 1, 1}) == 1; }, 10s));
  CHECK(got->count_waiting({1, 2, 1}) == 0);
  open = true;
  // The held attempt ends; the waiting one starts, and says so.
  REQUIRE(wait_until([&] { return got->has_ended({1, 2, 1}); }, 10s));
  CHECK(wait_until([&] { return got->count_running({1, 1, 1}) == 1; }, 10s));
  REQUIRE(wait_until([&] { return got->has_ended({1, 1, 1}); }, 10s));
  // A start that found its slot free sends no report.
  caf::anon_send(node, start_of(3, task, false));
  REQUIRE(wait_until([&] { return got->has_ended({1, 3, 1}); }, 10s));
  CHECK(got->count_running({1, 3, 1}) == 0);
  CHECK(got->count_waiting({1, 3, 1}) == 0);
  caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(task, caf::exit_reason::user_shutdown);
}
