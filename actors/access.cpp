#include "actors/access.hpp"

#include <algorithm>

namespace quiesce {

bool may_manage(const job_record& job, const identity& who) noexcept {
  return who.role == peer_role::admin
         || (who.role == peer_role::user && !who.name.empty()
             && who.name == job.owner);
}

result_code check_manage(const job_record& job, const identity& who,
                         std::string& detail) {
  if (may_manage(job, who))
    return result_code::ok;
  detail = who.name + " (" + to_string(who.role) + ") may not manage job "
           + std::to_string(job.id) + ": it belongs to "
           + (job.owner.empty() ? std::string{"nobody"} : job.owner)
           + "; only its owner and admins may";
  return result_code::permission_denied;
}

bool may_join_as_node(const identity& who) noexcept {
  return who.role == peer_role::node || who.role == peer_role::admin;
}

void redact(task_record& task) {
  for (auto& [key, value] : task.spec.command.env)
    value = redacted_value;
}

void redact_for(task_list& list, const job_record& job, const identity& who) {
  if (may_manage(job, who))
    return;
  for (auto& t : list.tasks)
    redact(t);
}

peer_role local_role(const std::string& who, bool local_admin,
                     const std::vector<std::string>& admins) {
  if (local_admin
      || std::find(admins.begin(), admins.end(), who) != admins.end())
    return peer_role::admin;
  return peer_role::user;
}

} // namespace quiesce
