#pragma once

// cgroup v2 containment for the launcher: finding the v2 hierarchy (pure v2
// at /sys/fs/cgroup, or the hybrid layout's /sys/fs/cgroup/unified), one
// parent group per launcher, one leaf group per launched command, and killing
// a group with everything in it, including processes that left the command's
// process group (setsid, double fork). Plain C++ and POSIX, no CAF.

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <sys/types.h>
#include <unordered_set>
#include <vector>

namespace quiesce::process {

/// Returns where the calling process's cgroup v2 group is in the file system
/// (for example "/sys/fs/cgroup/unified/user.slice"), or an empty string when
/// no cgroup v2 hierarchy is mounted; `why_not` then says so.
std::string own_cgroup_dir(std::string& why_not);

/// Kills every process of the cgroup at `dir` and of its descendants: by
/// writing `cgroup.kill` when the kernel has it (5.14 and later), else by
/// sending SIGKILL to each pid of `cgroup.procs` until none is left (bounded).
/// Returns whether a kill was sent to the group. Only system calls: safe
/// between fork and exec.
bool kill_cgroup(const char* dir);

/// Removes the group at `dir` and its subgroups, killing what is in them,
/// waiting up to 2 s for them to empty; returns whether it is gone. Only
/// system calls: safe in a forked child of a threaded process.
bool remove_cgroup_tree(const char* dir);

/// Returns whether the group at `dir` still holds a live process (its
/// `cgroup.events` says `populated 1`). False when it cannot be read.
bool cgroup_populated(const std::string& dir);

/// What `spawn_in_cgroup` starts and how; every pointer must stay valid
/// during the call.
struct cgroup_spawn {
  /// The executable's path, as resolved by the launcher.
  const char* exe = nullptr;
  /// Null-terminated arguments.
  char* const* argv = nullptr;
  /// Null-terminated environment.
  char* const* envp = nullptr;
  /// Descriptor for standard output, or -1 for /dev/null.
  int out_fd = -1;
  /// Descriptor for standard error, or -1 for /dev/null.
  int err_fd = -1;
  /// Working directory, or null to inherit.
  const char* workdir = nullptr;
  /// Descriptor of the cgroup directory the process starts in.
  int cgroup_fd = -1;
};

/// Starts `req` as the leader of a new process group, born inside the
/// cgroup `req.cgroup_fd` (clone3 with `CLONE_INTO_CGROUP`: it never runs a
/// moment elsewhere, so nothing it forks can escape the group), with an
/// empty signal mask, default dispositions and no descriptor above 2. Returns
/// 0 and sets `pid` and `pidfd`, or returns the errno of the failure (of
/// clone3, or of the child's exec).
int spawn_in_cgroup(const cgroup_spawn& req, pid_t& pid, int& pidfd);

/// Reaps each ended child of this process (orphans of a killed group come
/// back to it, a subreaper) whose cgroup path is `prefix` or below it, unless
/// `keep(pid)` says it belongs to someone waiting for it. Returns how many.
size_t reap_orphans(const std::string& prefix, bool (*keep)(pid_t));

/// The per-launcher parent group and its leaf groups, one per command.
///
/// The parent is `<own group>/quiesce/<name>.<pid>.<n>`: the pid of the
/// process that owns it, so that a later process can tell a group left by a
/// dead one (see `remove_leftovers`) from a group of a live one.
class cgroup_tree {
public:
  /// Creates the parent group for a launcher of this process called `name`.
  /// Returns nothing, and sets `why_not`, when there is no cgroup v2
  /// hierarchy or it is not writable here.
  static std::unique_ptr<cgroup_tree> create(const std::string& name,
                                             std::string& why_not);

  /// Kills and removes every leaf group, then removes the parent (bounded).
  ~cgroup_tree();

  cgroup_tree(const cgroup_tree&) = delete;
  cgroup_tree& operator=(const cgroup_tree&) = delete;

  /// Returns the parent group's directory.
  const std::string& dir() const noexcept {
    return dir_;
  }

  /// Returns the parent as `/proc/PID/cgroup` shows it.
  const std::string& path() const noexcept {
    return rel_;
  }

  /// Returns the directory of the leaf group of command `id`.
  std::string leaf_dir(uint64_t id) const;

  /// Returns the leaf group's path as `/proc/PID/cgroup` shows it
  /// ("/quiesce/…/a7"), to recognise processes that lived in it.
  std::string leaf_path(uint64_t id) const;

  /// Creates the leaf group of command `id` and returns a descriptor of its
  /// directory (for `CLONE_INTO_CGROUP`), or -1 with `error` set.
  int make_leaf(uint64_t id, std::string& error) const;

  /// Kills everything in the leaf group of `id`; see `kill_cgroup`.
  bool kill(uint64_t id);

  /// Returns whether the leaf group of `id` may start another command: it
  /// was never killed. Linux 6.18 (at least) SIGKILLs every process that
  /// clone3 starts in a group once killed through `cgroup.kill` (the fork
  /// compares the group's kill count with the parent's), so such a group is
  /// removed instead. Forgets the mark.
  bool reusable(uint64_t id);

  /// Returns whether the leaf group of `id` still holds a live process.
  bool populated(uint64_t id) const;

  /// Returns the CPU time in microseconds the leaf group of `id` used
  /// (`usage_usec` of its `cpu.stat`), or 0.
  uint64_t cpu_usage_usec(uint64_t id) const;

  /// Returns the leaf group's `memory.peak` in bytes, or 0 without one.
  uint64_t memory_peak(uint64_t id) const;

  /// Removes the (empty) leaf group of `id`; false while it is not empty.
  bool remove(uint64_t id) const;

  /// Returns whether the kernel has `cgroup.kill` (else kills go pid by pid).
  bool has_kill_file() const noexcept {
    return has_kill_file_;
  }

  /// Kills and removes the groups that dead processes left under `quiesce/`
  /// in this process's cgroup (a process killed together with its keeper, or
  /// a keeper killed before it could clean up). A group whose owner's pid is
  /// alive is left alone. Returns how many parent groups it removed.
  static size_t remove_leftovers();

private:
  cgroup_tree() = default;

  std::mutex mtx_;
  std::unordered_set<uint64_t> killed_; // guarded by mtx_
  std::string dir_;                     // the parent's directory
  std::string rel_;                     // the parent as /proc shows it
  bool has_kill_file_ = false;
};

} // namespace quiesce::process
