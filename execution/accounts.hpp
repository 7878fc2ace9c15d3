#pragma once

// Local accounts that commands run as (docs/security.md, "Tasks run as their
// owner"). Plain data, no CAF.

#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace quiesce::process {

/// The user, group and supplementary groups a command runs as.
struct credentials {
  uid_t uid = 0;
  gid_t gid = 0;
  /// Supplementary groups, set as they are (setgroups); may be empty.
  std::vector<gid_t> groups;
};

/// Returns the account of local user `user` (getpwnam_r, getgrouplist), or
/// nothing with `error` saying why.
std::optional<credentials> account_of(const std::string& user,
                                      std::string& error);

/// Returns the name of local user `uid`, or "uid:N" when it has none.
std::string account_name(uid_t uid);

/// Returns "uid U gid G groups A,B" for messages.
std::string describe(const credentials& who);

} // namespace quiesce::process
