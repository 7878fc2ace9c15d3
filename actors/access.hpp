#pragma once

// Who may do what (pure, tested alone): the owner of a job or an admin
// manages it; anyone authenticated reads records, but a task's environment
// only reaches its job's owner and admins. The supervisor asks these before
// the rules table, so a refused request changes nothing.

#include "messages/auth.hpp"
#include "messages/commands.hpp"
#include "messages/records.hpp"

#include <string>
#include <vector>

namespace quiesce {

/// What replaces every value of a task's environment for readers who are
/// neither the job's owner nor an admin.
inline constexpr const char* redacted_value = "(redacted)";

/// Returns whether `who` may manage (add tasks, submit, cancel, terminate,
/// requeue) the job of `job`, and read its tasks' environments.
bool may_manage(const job_record& job, const identity& who) noexcept;

/// Returns `ok` when `who` may manage `job`, else `permission_denied`; on a
/// refusal `detail` says why.
result_code check_manage(const job_record& job, const identity& who,
                         std::string& detail);

/// Returns whether `who` may join as a worker node.
bool may_join_as_node(const identity& who) noexcept;

/// Replaces every environment value of `task` by `redacted_value`.
void redact(task_record& task);

/// Redacts the tasks of `list` unless `who` may manage `job`.
void redact_for(task_list& list, const job_record& job, const identity& who);

/// Returns the role of an in-process request named `who`: admin if
/// `local_admin`, or if `who` is listed in `admins`; user otherwise.
peer_role local_role(const std::string& who, bool local_admin,
                     const std::vector<std::string>& admins);

} // namespace quiesce
