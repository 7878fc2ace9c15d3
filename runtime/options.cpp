#include "runtime/options.hpp"

#include "runtime/system_config.hpp"

#include <random>
#include <thread>

namespace quiesce {

settings resolve(settings s) {
  if (s.threads == 0)
    s.threads = default_threads();
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
  out.labels = s.labels;
  out.run_dir = s.run_dir;
  out.kill_bound = s.kill_bound;
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
  return out;
}

} // namespace quiesce
