#pragma once

#include <caf/timespan.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace quiesce::config {

/// Settings of a Quiesce process: the `[runtime]` table of a runtime file or
/// of a job file.
struct runtime_settings {
  /// CAF scheduler threads; 0 picks a number from the hardware.
  uint32_t threads = 0;
  /// Task slots of the local node; 0 means the hardware concurrency.
  uint32_t slots = 0;
  /// Grace period of jobs that do not set their own.
  caf::timespan grace = std::chrono::seconds{5};
  /// Directory for per-attempt stdout/stderr files; a relative path set in a
  /// file is resolved against that file's directory.
  std::string run_dir = ".quiesce/runs";
  /// Listen address of the head, as "HOST:PORT" (port 0 picks a free one).
  std::string listen = "127.0.0.1:0";
  /// Node addresses ("HOST:PORT") the head connects to.
  std::vector<std::string> nodes;
  /// Automatic requeues of a task whose node was lost, for jobs that do not
  /// set their own.
  uint32_t retries = 3;
  /// Jobs running at once; 0 means unlimited.
  uint32_t max_running_jobs = 0;
  /// CAF scheduler policy: "sharing" or "stealing".
  std::string scheduler = "sharing";
  /// Interval of heartbeats between head and nodes.
  caf::timespan heartbeat = std::chrono::seconds{1};
  /// Silence after which a node counts as lost; longer than `heartbeat`.
  caf::timespan node_timeout = std::chrono::seconds{5};
};

} // namespace quiesce::config
