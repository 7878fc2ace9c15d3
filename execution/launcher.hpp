#pragma once

#include "execution/accounts.hpp"
#include "execution/command.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace quiesce::process {

struct limit_support;

/// A command to start, and how: the command itself (argv, environment,
/// working directory, output files; see execution/command.hpp) plus the
/// launcher's own options.
struct launch_spec : command_line {
  /// Creates the missing parent directories of `stdout_path` and
  /// `stderr_path`. They are created only when opening a file finds its
  /// directory missing, so a directory that exists costs nothing.
  bool create_output_dirs = false;

  /// Whom the command runs as; nothing keeps this process's user. Set, the
  /// output files and their missing directories are opened and created with
  /// that user's file-system identity (so they belong to it and it may only
  /// name files it may write), and the child sets its groups, group and user
  /// (setgroups, setresgid, setresuid) before it enters `workdir` and
  /// executes. Needs root (CAP_SETUID, CAP_SETGID).
  std::optional<credentials> run_as;
};

/// How a launcher contains what it starts.
struct containment_options {
  /// Names the launcher's cgroup (`quiesce/NAME.PID.N`); a node passes its
  /// node name. Empty means "launcher".
  std::string name;

  /// Whether to use cgroup v2 where it is available and writable. False,
  /// or no usable cgroup v2 hierarchy, means process groups alone.
  bool cgroups = true;

  /// Whether to fork a keeper process that kills everything the launcher
  /// started when the launcher's process dies (even by SIGKILL).
  bool keeper = true;

  /// Whether a command with a resource limit this launcher cannot enforce
  /// fails to start (else it runs without that limit).
  bool strict_limits = false;

  /// Whether every command joins a cgroup v1 memory group on the hybrid
  /// layout (one per cgroup of the launcher, reused), so that its peak
  /// memory is known. False: only a command that sets `memory_max` does,
  /// and the peak of the others is unknown (for comparison in
  /// bench/containment).
  bool measure_peaks = true;
};

/// How a launched process ended.
struct exit_status {
  /// Distinguishes a normal exit from a death by signal.
  enum class kind : uint8_t {
    /// The process called exit(); `code` is its exit code.
    exited,
    /// The process was killed by a signal; `code` is the signal number.
    signaled,
  };

  /// Whether the process exited or was killed.
  kind how = kind::exited;

  /// The exit code or the signal number, depending on `how`.
  int code = 0;

  /// False when the process or a member of its group could not be reaped
  /// within the launcher's bound, or its status was taken by someone else.
  bool confirmed = true;

  /// When the launcher observed the end of the process.
  std::chrono::steady_clock::time_point ended;

  /// CPU time (user + system) of everything the command ran, from its
  /// cgroup's `cpu.stat`; without cgroups, of the leader and the children
  /// it waited for (its rusage).
  std::chrono::microseconds cpu_time{0};

  /// Peak memory of the command's memory cgroup in bytes: `memory.peak` of
  /// its v2 group when the v2 tree has the memory controller (Linux 5.19),
  /// else `memory.max_usage_in_bytes` of its v1 group less what that group
  /// held at the start (see cgroup_tree::usage); 0 when unknown (no memory
  /// group: the leader's ru_maxrss is no measure, see apply_rusage in
  /// launcher.cpp).
  uint64_t peak_memory = 0;

  /// Processes of the command the kernel killed for its memory limit.
  uint64_t oom_kills = 0;
};

/// Returns a human-readable text such as "exit code 3" or
/// "killed by signal 9 (SIGKILL)".
std::string describe(const exit_status& status);

/// Receives the end of a process, exactly once, on the launcher's thread.
using exit_callback = std::function<void(const exit_status&)>;

/// The outcome of `launcher::launch`: an id, or an error text.
struct launch_result {
  /// Identifies the process for `signal` and `kill`; 0 when the launch failed.
  uint64_t id = 0;

  /// The leader's pid, which is also the id of its process group.
  pid_t pid = 0;

  /// Says why the launch failed, naming the command, directory or file.
  std::string error;

  /// Returns whether the process was started.
  explicit operator bool() const noexcept {
    return id != 0;
  }
};

/// Starts commands in process groups of their own and reports their ends.
///
/// One reaper thread watches every leader through a pidfd. When a leader
/// exits, the launcher kills the rest of its process group, reaps the leader
/// and every member of the group that became its child, and only then calls
/// the exit callback: when the callback runs, nothing of the group remains.
/// The process becomes a child subreaper (`PR_SET_CHILD_SUBREAPER`), so
/// orphaned grandchildren come back to it and can be reaped; it never calls
/// `waitpid(-1)`, so children of an embedding host are left alone.
///
/// Containment: where cgroup v2 is mounted and writable, each command starts
/// inside a cgroup of its own under the launcher's parent group (see
/// execution/cgroup.hpp); a kill then ends everything in that cgroup at once,
/// including descendants that called `setsid` or double-forked, and the end
/// is reported once the cgroup is empty and its orphans are reaped. Without
/// cgroups, a descendant that calls `setsid` (or moves to another group)
/// escapes the group kill, and the launcher never reaps it. A keeper process
/// (execution/keeper.hpp) kills what is left when this process dies.
///
/// Limitations: a host that sets
/// SIGCHLD to SIG_IGN or reaps with `waitpid(-1)` takes exit statuses away;
/// such ends are reported with `confirmed == false`.
class launcher {
public:
  /// Starts the reaper thread and makes this process a child subreaper.
  /// `bound` limits how long the reaper waits for a group to empty after its
  /// leader ended, and how long the destructor waits for all groups.
  /// `containment` says whether to use cgroups and a keeper. Leftovers of
  /// dead processes under this process's `quiesce/` cgroup are removed first.
  explicit launcher(std::chrono::milliseconds bound = std::chrono::seconds{5},
                    containment_options containment = {});

  /// Kills every live process group, reaps everything within the bound,
  /// reports every process not yet reported and joins the reaper thread.
  /// Must not be called from an exit callback.
  ~launcher();

  launcher(const launcher&) = delete;
  launcher& operator=(const launcher&) = delete;

  /// Starts `spec` in a new process group. On success, `on_exit` is called
  /// exactly once, from the reaper thread and outside any lock; it may call
  /// `launch`, `signal` and `kill`. On failure it is never called.
  launch_result launch(const launch_spec& spec, exit_callback on_exit);

  /// Sends `sig` to the whole process group of `id`. Returns false when `id`
  /// is unknown or its end has already been observed (then nothing is sent).
  bool signal(uint64_t id, int sig);

  /// Sends SIGKILL to the whole process group of `id`; as `signal`.
  bool kill(uint64_t id);

  /// Returns one line saying how commands are contained and limited:
  /// "cgroup v2 at DIR; memory_max, pids_max, cpus enforced by cgroup v1" or
  /// "process groups (cgroups unavailable: WHY); no limits enforced; …".
  std::string containment() const;

  /// Returns whether commands run in cgroups of their own.
  bool uses_cgroups() const;

  /// Returns where this launcher enforces each kind of resource limit.
  const limit_support& limits() const;

  /// Returns how many leftover cgroups of dead processes the constructor
  /// removed.
  size_t leftovers_removed() const;

  /// Returns the cgroup directory of command `id` (empty without cgroups or
  /// once reported).
  std::string cgroup_dir(uint64_t id) const;

  /// Returns the number of processes launched and not yet reported.
  size_t live() const;

private:
  class impl;
  std::unique_ptr<impl> impl_;
};

} // namespace quiesce::process
