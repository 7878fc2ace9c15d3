#include "runtime/system_config.hpp"

#include "messages/type_ids.hpp"

#include <caf/atom.hpp>
#include <caf/io/middleman.hpp>
#include <caf/timespan.hpp>

#include <thread>

namespace quiesce {

uint32_t default_threads(bool local_node) {
  if (!local_node)
    return 1;
  auto n = std::thread::hardware_concurrency();
  return n < 2 ? 2u : n;
}

void configure(caf::actor_system_config& cfg, uint32_t threads,
               const std::string& scheduler) {
  add_message_types(cfg);
  // The sharing policy is the default: on small machines CAF 0.17's
  // work-stealing walks whole queues (see docs/performance.md).
  cfg.set("scheduler.policy", scheduler == "stealing" ? caf::atom("stealing")
                                                      : caf::atom("sharing"));
  cfg.set("scheduler.max-threads",
          static_cast<size_t>(threads == 0 ? default_threads() : threads));
  cfg.set("logger.file-verbosity", caf::atom("quiet"));
  cfg.set("logger.console-verbosity", caf::atom("quiet"));
}

} // namespace quiesce

namespace quiesce {

void configure_network(caf::actor_system_config& cfg,
                       std::chrono::milliseconds heartbeat_interval,
                       std::chrono::milliseconds connection_timeout) {
  cfg.load<caf::io::middleman>();
  cfg.set("middleman.heartbeat-interval", caf::timespan{heartbeat_interval});
  cfg.set("middleman.connection-timeout", caf::timespan{connection_timeout});
  // Peers that are not Quiesce programs are refused during the handshake.
  cfg.set("middleman.app-identifiers", std::vector<std::string>{"quiesce"});
}

} // namespace quiesce
