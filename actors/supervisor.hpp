#pragma once

#include "actors/interfaces.hpp"

#include <chrono>
#include <cstdint>
#include <memory>

namespace quiesce {

class journal;

/// How the supervisor schedules and bounds work.
struct supervisor_options {
  /// Jobs running at once; further submitted jobs stay `queued`. 0 means
  /// no limit.
  uint32_t max_running_jobs = 0;
  /// How long terminate_job waits for work to be confirmed dead before it
  /// replies `terminate_failed`.
  std::chrono::milliseconds terminate_bound{10000};
  /// Where the books are written, or nullptr to keep them in memory only.
  /// The supervisor takes over the jobs the journal holds when it starts.
  std::shared_ptr<journal> log;
  /// After a restart on a journal: how long nodes have to report the
  /// attempts they still run before those attempts count as lost.
  std::chrono::milliseconds reconcile_timeout{5000};
};

/// Spawns the supervisor: the only writer of the books. Nodes join it with
/// `node_hello`.
supervisor_actor spawn_supervisor(caf::actor_system& sys,
                                  supervisor_options opts = {});

} // namespace quiesce
