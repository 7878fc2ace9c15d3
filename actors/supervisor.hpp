#pragma once

#include "actors/interfaces.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace quiesce {

class journal;
class supervisor_observer;

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
  /// How long a terminal job stays in memory after its end before it is
  /// retired (once nothing waits on it): with a journal, queries read it
  /// from there; without one, it is gone. 0 retires at once; a negative
  /// value (the default, for tests of the rules) never
  /// (docs/durability.md, "History and retention").
  std::chrono::milliseconds job_retention{-1};
  /// After a restart on a journal: how long nodes have to report the
  /// attempts they still run before those attempts count as lost.
  std::chrono::milliseconds reconcile_timeout{5000};
  /// How long a lost node keeps its attempts (its `head_lease`): its
  /// attempts count as running for this plus their grace period, unless the
  /// node comes back first (docs/containment.md, "Fencing"). A negative
  /// value (the default, for tests of the rules) ends them `lost` at once.
  std::chrono::milliseconds node_lease{-1};
  /// Whether in-process requests (the embedding program's own clients) act
  /// as admin. When false, an in-process request acts as the user named by
  /// its `who`, admin only if listed in `admins` (a host serving several
  /// users).
  bool local_admin = true;
  /// Names that have the admin role when they ask in-process.
  std::vector<std::string> admins;
  /// Finds who is behind a remote peer's connection; without one, remote
  /// peers cannot authenticate and every request of theirs is refused.
  authenticator_actor authenticator;
  /// Hooks for a head's request log and metrics (actors/observer.hpp), or
  /// nullptr.
  std::shared_ptr<supervisor_observer> observer;
};

/// Spawns the supervisor: the only writer of the books. Nodes join it with
/// `node_hello`.
supervisor_actor spawn_supervisor(caf::actor_system& sys,
                                  supervisor_options opts = {});

} // namespace quiesce
