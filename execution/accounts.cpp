#include "execution/accounts.hpp"

#include <cerrno>
#include <cstring>
#include <grp.h>
#include <pwd.h>

namespace quiesce::process {

std::optional<credentials> account_of(const std::string& user,
                                      std::string& error) {
  passwd pw{};
  passwd* found = nullptr;
  std::vector<char> buf(16384);
  int rc = 0;
  while ((rc = ::getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found))
         == ERANGE)
    buf.resize(buf.size() * 2);
  if (rc != 0) {
    error = "cannot look up local user '" + user + "': " + std::strerror(rc);
    return std::nullopt;
  }
  if (found == nullptr) {
    error = "no local user '" + user + "' on this machine";
    return std::nullopt;
  }
  credentials out;
  out.uid = pw.pw_uid;
  out.gid = pw.pw_gid;
  out.name = pw.pw_name;
  out.home = pw.pw_dir != nullptr ? pw.pw_dir : "";
  out.shell = pw.pw_shell != nullptr ? pw.pw_shell : "";
  int n = 32;
  std::vector<gid_t> groups(static_cast<size_t>(n));
  while (::getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &n) < 0)
    groups.resize(static_cast<size_t>(
        n > static_cast<int>(groups.size()) ? n : 2 * groups.size()));
  groups.resize(static_cast<size_t>(n));
  out.groups = std::move(groups);
  return out;
}

void fill_login(credentials& who) {
  passwd pw{};
  passwd* found = nullptr;
  std::vector<char> buf(16384);
  int rc = 0;
  while ((rc = ::getpwuid_r(who.uid, &pw, buf.data(), buf.size(), &found))
         == ERANGE)
    buf.resize(buf.size() * 2);
  if (rc == 0 && found != nullptr) {
    who.name = pw.pw_name;
    who.home = pw.pw_dir != nullptr ? pw.pw_dir : "";
    who.shell = pw.pw_shell != nullptr ? pw.pw_shell : "";
  } else {
    who.name = std::to_string(who.uid);
  }
  if (who.home.empty())
    who.home = "/";
  if (who.shell.empty())
    who.shell = "/bin/sh";
}

std::map<std::string, std::string> login_environment(credentials who) {
  if (who.name.empty())
    fill_login(who);
  return {{"HOME", who.home.empty() ? "/" : who.home},
          {"LOGNAME", who.name},
          {"SHELL", who.shell.empty() ? "/bin/sh" : who.shell},
          {"USER", who.name}};
}

std::string account_name(uid_t uid) {
  passwd pw{};
  passwd* found = nullptr;
  std::vector<char> buf(16384);
  if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) == 0
      && found != nullptr)
    return pw.pw_name;
  return "uid:" + std::to_string(uid);
}

std::string describe(const credentials& who) {
  auto out = "uid " + std::to_string(who.uid) + " gid "
             + std::to_string(who.gid) + " groups ";
  if (who.groups.empty())
    out += "(none)";
  for (size_t i = 0; i < who.groups.size(); ++i)
    out += (i == 0 ? "" : ",") + std::to_string(who.groups[i]);
  return out;
}

} // namespace quiesce::process
