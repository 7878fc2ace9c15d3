#pragma once

#include "actors/interfaces.hpp"
#include "execution/accounts.hpp"

#include <caf/fwd.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace quiesce {

class work_registry;

namespace process {
class launcher;
} // namespace process

/// How a node runs work.
struct node_options {
  /// The node's name, reported in task records.
  std::string name = "local";
  /// Concurrent attempts (threads for functions; processes count too).
  uint32_t slots = 1;
  /// Attempts per slot held beyond the slots, waiting for one to free
  /// (`settings::pipeline`); the head places no more than that.
  uint32_t pipeline = 0;
  /// Labels that tasks may ask for.
  std::vector<std::string> labels;
  /// Directory for per-attempt stdout/stderr files.
  std::string run_dir = ".quiesce/runs";
  /// How long a killed attempt may take to be confirmed dead before the node
  /// gives up on it (abandons a function, reports a process unconfirmed).
  std::chrono::milliseconds kill_bound{2000};
  /// The node process's incarnation, sent in `node_hello`; 0 draws a random
  /// one.
  uint64_t incarnation = 0;
  /// The local account each owner's command tasks run as (identity name →
  /// account, resolved from `[runtime.users]`); docs/security.md, "Tasks run
  /// as their owner". The owner named as this process's user runs as it
  /// without an entry.
  std::map<std::string, process::credentials> accounts;
  /// Whether an owner with no entry in `accounts` (and not this process's
  /// user) is refused. Set with TLS (owners are certificate names) and
  /// whenever `[runtime.users]` or `run_as_root` is set; off in the
  /// loopback development mode and embedded, where every owner is this
  /// process's user or code running inside it.
  bool strict_owners = false;
};

/// Returns whose tasks a node with `opts` runs, as this process's user
/// (what its hello tells the head: docs/security.md).
owner_policy owner_policy_of(const node_options& opts);

/// Spawns a node actor that runs attempts with `registry`'s functions and
/// `launcher`'s processes. The launcher is shared because a process has one
/// reaper (it is a child subreaper process-wide).
node_actor spawn_node(caf::actor_system& sys, node_options opts,
                      std::shared_ptr<work_registry> registry,
                      std::shared_ptr<process::launcher> launcher);

} // namespace quiesce
