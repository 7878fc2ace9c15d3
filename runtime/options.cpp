#include "runtime/options.hpp"

#include "runtime/system_config.hpp"

#include <random>
#include <stdexcept>
#include <thread>

namespace quiesce {

std::map<std::string, process::credentials>
resolve_accounts(const std::map<std::string, account_setting>& users,
                 bool run_as_root) {
  std::map<std::string, process::credentials> out;
  for (const auto& [name, entry] : users) {
    auto where = "quiesce: [runtime.users] " + name + ": ";
    process::credentials acc;
    if (!entry.user.empty()) {
      std::string error;
      auto found = process::account_of(entry.user, error);
      if (!found)
        throw std::invalid_argument(where + error);
      acc = std::move(*found);
    } else {
      acc.uid = static_cast<uid_t>(entry.uid);
      acc.gid = static_cast<gid_t>(entry.gid);
      for (auto g : entry.groups)
        acc.groups.push_back(static_cast<gid_t>(g));
      process::fill_login(acc);
    }
    if (acc.uid == 0 && !run_as_root)
      throw std::invalid_argument(
          where
          + "maps to uid 0 (root); tasks run as root only with "
            "run_as_root = true");
    out.emplace(name, std::move(acc));
  }
  return out;
}

settings resolve(settings s) {
  if (s.threads == 0)
    s.threads = default_threads(s.local_node);
  if (s.slots == 0) {
    auto n = std::thread::hardware_concurrency();
    s.slots = n == 0 ? 1 : n;
  }
  return s;
}

node_options node_options_from(const settings& s) {
  node_options out;
  out.name = s.node_name;
  out.slots = s.slots;
  out.pipeline = s.pipeline;
  out.labels = s.labels;
  out.run_dir = s.run_dir;
  out.kill_bound = s.kill_bound;
  out.accounts = resolve_accounts(s.users, s.run_as_root);
  out.strict_owners = !s.users.empty() || s.run_as_root || !s.tls_ca.empty()
                      || !s.tls_cert.empty() || !s.tls_key.empty();
  // One draw per node process: a node started again under the same name is
  // told apart from the one before it (docs/containment.md, "Fencing").
  std::random_device rd;
  std::uniform_int_distribution<uint64_t> dist{1, UINT64_MAX};
  out.incarnation = dist(rd);
  return out;
}

supervisor_options supervisor_options_from(const settings& s) {
  supervisor_options out;
  out.max_running_jobs = s.max_running_jobs;
  out.terminate_bound = s.terminate_bound;
  out.reconcile_timeout = s.connection_timeout;
  out.node_lease = s.head_lease;
  out.job_retention = s.job_retention;
  return out;
}

} // namespace quiesce
