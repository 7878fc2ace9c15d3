#pragma once

// Whose tasks a node runs (docs/security.md, "Tasks run as their owner"):
// one decision, taken by the node when an attempt starts and by the head
// when it places a task, from the node's owner_policy. Plain functions.

#include "messages/internal.hpp"

#include <string>

namespace quiesce {

/// Returns why node `node`, with `policy`, refuses to run a task of `owner`
/// (a work function when `function`), or an empty string if it runs it: as
/// its own user, or (a command on a root node) as the owner's account.
std::string owner_refusal(const owner_policy& policy, const std::string& node,
                          const std::string& owner, bool function);

/// Returns whether a node with `policy` runs a task of `owner` (a work
/// function when `function`): owner_refusal() is empty. Allocates nothing.
bool runs_owner(const owner_policy& policy, const std::string& owner,
                bool function);

/// Returns the entry of `owner` in `policy`, or nullptr.
const owner_account* account_entry(const owner_policy& policy,
                                   const std::string& owner);

} // namespace quiesce
