#pragma once

// Work functions shared by the randomized runtime tests (invariant, chaos).

#include "execution/work.hpp"

#include <chrono>
#include <string>

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

} // namespace quiesce::test
