#pragma once

#include "actors/interfaces.hpp"

namespace quiesce {

/// Spawns the actor of assessment `index` of job `job`: it spawns a task
/// actor per attempt, routes stop requests to them and forwards their ends
/// and progress to `supervisor`.
assessment_actor spawn_assessment(caf::actor_system& sys, job_id job,
                                  assessment_index index,
                                  supervisor_actor supervisor);

} // namespace quiesce
