#pragma once

// From the settings of a process (config/settings.hpp) to the small option
// structs of the actors, which must not depend on config/. The embedded
// runtime and the worker node both build their actors' options here, and
// nowhere else.

#include "actors/node.hpp"
#include "actors/supervisor.hpp"
#include "config/settings.hpp"

namespace quiesce {

/// Returns `s` with the choices it leaves open made: 0 threads become the
/// default thread count, 0 slots the number of cores (at least 1).
settings resolve(settings s);

/// Returns the options of this process's node. Throws std::invalid_argument
/// when `s.users` names an unknown local user, or uid 0 without
/// `run_as_root` (docs/security.md, "Tasks run as their owner").
node_options node_options_from(const settings& s);

/// Resolves `[runtime.users]` into accounts (a user name with getpwnam and
/// getgrouplist); throws as `node_options_from`.
std::map<std::string, process::credentials>
resolve_accounts(const std::map<std::string, account_setting>& users,
                 bool run_as_root);

/// Returns the options of the supervisor.
supervisor_options supervisor_options_from(const settings& s);

} // namespace quiesce
