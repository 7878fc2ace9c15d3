#pragma once

#include "actors/interfaces.hpp"

namespace quiesce {

/// Spawns the actor of one attempt: it asks `msg.node` to start the work,
/// enforces the time limit and the grace period, and reports the end (and
/// progress) to `parent`. A node that goes down makes the attempt `lost`.
task_actor spawn_task(caf::actor_system& sys, run_task msg,
                      assessment_actor parent);

} // namespace quiesce
