#include "runtime/options.hpp"

#include "runtime/system_config.hpp"

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
  return out;
}

supervisor_options supervisor_options_from(const settings& s) {
  supervisor_options out;
  out.max_running_jobs = s.max_running_jobs;
  out.terminate_bound = s.terminate_bound;
  out.reconcile_timeout = s.connection_timeout;
  return out;
}

} // namespace quiesce
