#pragma once

// Helpers of the distributed benchmarks: a head runtime published on
// 127.0.0.1 and worker node processes (bench_node) joined to it.

#include "bench/common.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <sys/types.h>
#include <vector>

namespace quiesce::bench {

/// Worker node processes, stopped (SIGTERM, then SIGKILL after a bound) when
/// destroyed.
class node_processes {
public:
  /// Starts `count` bench_node processes from `dir` joining `port`, each
  /// holding `pipeline` attempts per slot beyond its slots.
  node_processes(const std::string& dir, uint16_t port, uint32_t count,
                 uint32_t slots, uint32_t threads, uint32_t pipeline = 1);

  /// Stops and reaps every process (bounded).
  ~node_processes();

  node_processes(const node_processes&) = delete;
  node_processes& operator=(const node_processes&) = delete;

  /// The CPU time (user + system) the processes have used so far, from
  /// /proc/PID/stat.
  double cpu_seconds() const;

  /// The context switches (voluntary and not) of every thread of the
  /// processes so far, from /proc/PID/task/*/status.
  uint64_t switches() const;

private:
  std::vector<pid_t> pids_;
};

/// The context switches of every live thread of process `pid` so far
/// (0: this process).
uint64_t context_switches(pid_t pid = 0);

/// Returns a head's runtime options: network on, no local node, and the
/// runtime's default threads for a head unless `--threads` was given.
runtime_options head_opts(const options& opts);

/// Publishes `rt` on 127.0.0.1 (any port); returns the port.
uint16_t publish(runtime& rt);

/// Waits (bounded) until `rt` has `count` reachable nodes.
void await_nodes(runtime& rt, size_t count);

} // namespace quiesce::bench
