#pragma once

// Work functions shared by the randomized runtime tests (invariant, chaos)
// and the node tests.

#include "actors/node.hpp"
#include "execution/work.hpp"
#include "execution/work_registry.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

namespace quiesce::test {

/// Sleeps for args[0] milliseconds unless asked to stop; fails when args[1]
/// says so.
inline work_result nap(const work_context& ctx) {
  auto ms = std::stoi(ctx.args().at(0));
  if (ctx.wait_for_stop(std::chrono::milliseconds{ms}))
    return work_result::stopped();
  if (ctx.args().size() > 1 && ctx.args()[1] == "fail")
    return work_result::failure("asked to fail");
  return work_result::success();
}

/// Returns a registry with one blocking work function, "gate", that
/// returns success once `open` is true (checked every millisecond).
inline std::shared_ptr<work_registry> gate_registry(std::atomic<bool>& open) {
  auto registry = std::make_shared<work_registry>();
  registry->add(
      "gate",
      [&open](const work_context&) {
        while (!open.load())
          std::this_thread::sleep_for(std::chrono::milliseconds{1});
        return work_result::success();
      },
      work_mode::blocking);
  return registry;
}

/// Spawns a real node "n1" with one slot and one held attempt per slot,
/// whose "gate" function returns once `open` is true.
inline node_actor spawn_gated_node(caf::actor_system& sys,
                                   std::atomic<bool>& open) {
  node_options opts;
  opts.name = "n1";
  opts.slots = 1;
  opts.pipeline = 1;
  return spawn_node(sys, opts, gate_registry(open), nullptr);
}

} // namespace quiesce::test
