#pragma once

// A command line with its environment, working directory and output files:
// what a command task says to run (`quiesce::command_spec`, which travels to
// nodes) and what the launcher starts. Plain data, no CAF.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace quiesce::process {

/// Resource limits of one run of a command, enforced by cgroups
/// (docs/containment.md); zero means no limit.
struct resource_limits {
  /// Smallest `memory_max` other than none: 1 MiB (less kills any program as
  /// it starts).
  static constexpr uint64_t min_memory_max = uint64_t{1} << 20;
  /// Smallest and largest `cpu_millis` other than none: the smallest CFS
  /// quota is 1 ms per 100 ms period.
  static constexpr uint32_t min_cpu_millis = 10;
  static constexpr uint32_t max_cpu_millis = 1024000;
  /// Largest `pids_max` (the kernel's largest pid_max).
  static constexpr uint32_t max_pids_max = 4194304;

  /// Most memory in bytes (cgroup v2 `memory.max`, v1
  /// `memory.limit_in_bytes`); a command that needs more is killed.
  uint64_t memory_max = 0;
  /// CPU share in thousandths of a CPU (`cpus = 0.5` is 500), as a CFS quota
  /// per 100 ms period (`cpu.max`, v1 `cpu.cfs_quota_us`).
  uint32_t cpu_millis = 0;
  /// Most processes and threads at once (`pids.max`); a fork beyond fails.
  uint32_t pids_max = 0;

  /// Returns whether any limit is set.
  bool any() const noexcept {
    return memory_max != 0 || cpu_millis != 0 || pids_max != 0;
  }
};

/// One command line to run.
struct command_line {
  /// Program and arguments. `argv[0]` is searched on PATH (the PATH of `env`
  /// when it sets one, else the inherited one) unless it contains a '/'; a
  /// relative path is relative to `workdir`.
  std::vector<std::string> argv;
  /// Variables added to, or replacing those of, the inherited environment.
  std::map<std::string, std::string> env;
  /// Working directory; empty inherits the caller's.
  std::string workdir;
  /// File receiving standard output, created or truncated with mode 0644 (a
  /// relative path is relative to `workdir`). In a task spec, empty means a
  /// file per attempt under the node's run directory; to the launcher,
  /// empty means /dev/null.
  std::string stdout_path;
  /// File receiving standard error, as `stdout_path`. When both name the
  /// same path, they share one descriptor (as `2>&1` does).
  std::string stderr_path;
  /// Memory, CPU and process-count limits.
  resource_limits limits;
};

} // namespace quiesce::process
