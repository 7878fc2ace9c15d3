#pragma once

#include "actors/interfaces.hpp"

namespace quiesce {

/// Spawns a task actor for attempt `msg`: it asks `msg.node` to start the
/// work, enforces the time limit and the grace period, and reports the end
/// (and progress) to `parent`. A node that goes down makes the attempt
/// `lost`. After the end it stays, idle, until `parent` sends it the next
/// `run_task` or exits (the actor is linked to it by the caller).
task_actor spawn_task(caf::actor_system& sys, run_task msg,
                      assessment_actor parent);

} // namespace quiesce
