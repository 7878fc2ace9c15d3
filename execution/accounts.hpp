#pragma once

// Local accounts that commands run as (docs/security.md, "Tasks run as their
// owner"). Plain data, no CAF.

#include <map>
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
  /// The login name, home directory and shell the command gets as USER and
  /// LOGNAME, HOME and SHELL (see login_environment); empty: looked up by
  /// uid when the command starts.
  std::string name;
  std::string home;
  std::string shell;
};

/// Fills the login name, home and shell of `who` from the user database
/// entry of its uid; without one, the name is the uid's number, the home
/// "/" and the shell "/bin/sh" (as systemd gives an unnamed User=).
void fill_login(credentials& who);

/// Returns HOME, USER, LOGNAME and SHELL of `who` (fill_login() first if
/// its name is empty), which replace the launcher's own: a command run as
/// another account must not get the node's home (root's, most often).
std::map<std::string, std::string> login_environment(credentials who);

/// Returns the account of local user `user` (getpwnam_r, getgrouplist), or
/// nothing with `error` saying why.
std::optional<credentials> account_of(const std::string& user,
                                      std::string& error);

/// Returns the name of local user `uid`, or "uid:N" when it has none.
std::string account_name(uid_t uid);

/// Returns "uid U gid G groups A,B" for messages.
std::string describe(const credentials& who);

} // namespace quiesce::process
