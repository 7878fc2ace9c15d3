#include "actors/owners.hpp"

namespace quiesce {

namespace {

enum class verdict { runs, no_entry, function_other_uid, not_root };

// Decides without building a text: placement asks for every task.
verdict decide(const owner_policy& policy, const owner_account* entry,
               const std::string& owner, bool function) {
  if (entry == nullptr)
    return owner == policy.self_user || !policy.strict ? verdict::runs
                                                       : verdict::no_entry;
  if (entry->uid == policy.self_uid)
    return verdict::runs;
  if (function)
    return verdict::function_other_uid;
  return policy.self_uid != 0 ? verdict::not_root : verdict::runs;
}

} // namespace

const owner_account* account_entry(const owner_policy& policy,
                                   const std::string& owner) {
  for (const auto& entry : policy.accounts)
    if (entry.owner == owner)
      return &entry;
  return nullptr;
}

bool runs_owner(const owner_policy& policy, const std::string& owner,
                bool function) {
  if (!policy.strict && policy.accounts.empty())
    return true; // the common case: a development or embedded node
  return decide(policy, account_entry(policy, owner), owner, function)
         == verdict::runs;
}

std::string owner_refusal(const owner_policy& policy, const std::string& node,
                          const std::string& owner, bool function) {
  const auto* entry = account_entry(policy, owner);
  auto where = "node " + node;
  auto self = std::to_string(policy.self_uid);
  switch (decide(policy, entry, owner, function)) {
    case verdict::runs:
      return {};
    case verdict::no_entry:
      return "owner " + (owner.empty() ? std::string{"(none)"} : owner)
             + " has no account on " + where
             + " (no entry in its [runtime.users])";
    case verdict::function_other_uid:
      return "work functions run inside " + where + "'s process as uid " + self
             + " and cannot change user; owner " + owner + " maps to uid "
             + std::to_string(entry->uid);
    case verdict::not_root:
      return "owner " + owner + " maps to uid " + std::to_string(entry->uid)
             + ", but " + where + " runs as uid " + self
             + " (not root) and cannot change user";
  }
  return {};
}

} // namespace quiesce
