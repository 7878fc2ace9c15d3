#pragma once

#include "actors/interfaces.hpp"

namespace quiesce {

/// Spawns the actor of job `job`: it owns the actor of the current
/// assessment and routes attempts and stop requests to it.
job_actor spawn_job(caf::actor_system& sys, job_id job,
                    supervisor_actor supervisor);

} // namespace quiesce
