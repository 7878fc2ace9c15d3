#pragma once

// cgroup v2 containment for the launcher: finding the v2 hierarchy (pure v2
// at /sys/fs/cgroup, or the hybrid layout's /sys/fs/cgroup/unified), one
// parent group per launcher, one leaf group per launched command, and killing
// a group with everything in it, including processes that left the command's
// process group (setsid, double fork). Plain C++ and POSIX, no CAF.

#include "execution/command.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <sys/types.h>
#include <unordered_map>
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

/// Where this process can enforce each kind of resource limit: through the
/// controller in its cgroup v2 tree (pure v2, or v2 with the controller in
/// its group's `cgroup.subtree_control`), or through the controller's cgroup
/// v1 hierarchy (the hybrid layout), or not at all.
struct limit_support {
  /// The controllers, in the order of the arrays below.
  enum controller : uint8_t { memory = 0, pids = 1, cpu = 2 };
  /// The number of controllers.
  static constexpr size_t count = 3;

  /// Per controller: whether the v2 tree has it.
  std::array<bool, count> v2{};
  /// Per controller: the calling process's group in the controller's v1
  /// hierarchy (e.g. /sys/fs/cgroup/memory/user.slice), when v1 is used.
  std::array<std::string, count> v1_dir;
  /// Per controller: why neither, when the controller is not available.
  std::array<std::string, count> why_not;

  /// Returns whether limits of controller `c` are enforced.
  bool enforced(controller c) const {
    return v2[c] || !v1_dir[c].empty();
  }

  /// Returns one phrase saying how limits are enforced and which are not,
  /// e.g. "memory_max, pids_max and cpus enforced by cgroup v1".
  std::string describe() const;
};

/// Returns the name of controller `c` ("memory", "pids", "cpu").
const char* controller_name(limit_support::controller c);

/// Returns the job-file key of the limits of controller `c` ("memory_max",
/// "pids_max", "cpus").
const char* limit_key(limit_support::controller c);

/// Looks at this process's cgroups and says where each kind of limit can be
/// enforced (without creating anything). `why_no_cgroups`, when not empty,
/// says that commands are not contained in cgroups at all, so no limit is.
limit_support probe_limits(const std::string& why_no_cgroups = {});

/// Returns an empty string when every limit `limits` sets can be enforced
/// with `support`, else a sentence naming each limit that cannot and why.
std::string unenforced(const resource_limits& limits,
                       const limit_support& support);

/// Returns `bytes` as a short text: "512 MiB", "1.5 GiB", "800 KiB", "12 B".
std::string format_bytes(uint64_t bytes);

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
  /// Descriptors of cgroup v1 `tasks` files the child writes itself
  /// into before it executes (so its limits hold from its first
  /// instruction); -1 entries are skipped.
  std::array<int, limit_support::count> join_fds{-1, -1, -1};
  /// Whether each of `join_fds` is closed here (false: the tree's own).
  std::array<bool, limit_support::count> owned{true, true, true};
  /// Whether the child changes its credentials to `uid`, `gid` and `groups`
  /// (setgroups, setresgid, setresuid, in that order) before it changes
  /// directory and executes.
  bool set_ids = false;
  uid_t uid = 0;
  gid_t gid = 0;
  /// `ngroups` supplementary groups.
  const gid_t* groups = nullptr;
  size_t ngroups = 0;
};

/// The step of the child that failed in `spawn_in_cgroup`.
enum class spawn_step : int {
  /// Anything but the three below (joining groups, redirecting, exec, ...).
  other = 0,
  setgroups,
  setresgid,
  setresuid,
};

/// Returns "setgroups", "setresgid", "setresuid" or "".
const char* to_string(spawn_step step) noexcept;

/// Starts `req` as the leader of a new process group, born inside the
/// cgroup `req.cgroup_fd` (clone3 with `CLONE_INTO_CGROUP`: it never runs a
/// moment elsewhere, so nothing it forks can escape the group), with an
/// empty signal mask, default dispositions and no descriptor above 2. Returns
/// 0 and sets `pid` and `pidfd`, or returns the errno of the failure (of
/// clone3, or of the child's exec) and sets `failed` to the child's step that
/// failed. A `req.cgroup_fd` of -1 starts the child in this process's cgroup.
int spawn_in_cgroup(const cgroup_spawn& req, pid_t& pid, int& pidfd,
                    spawn_step& failed);

/// Reaps each ended child of this process (orphans of a killed group come
/// back to it, a subreaper) whose cgroup path is `prefix` or below it, unless
/// `keep(pid)` says it belongs to someone waiting for it. Returns how many.
/// Costs one system call when this process has no zombie child.
size_t reap_orphans(const std::string& prefix, bool (*keep)(pid_t));

/// The counters of a command's groups before it started, to subtract at its
/// end.
struct leaf_bases {
  /// The leaf's CPU time in microseconds.
  uint64_t cpu_usec = 0;
  /// What a reused cgroup v1 memory group held when the command started
  /// (`memory.usage_in_bytes`: what earlier commands left, such as page
  /// cache, and charges the kernel reserved ahead); 0 in a fresh group.
  uint64_t memory_held = 0;
  /// Whether the command runs in a memory group (so its peak is known).
  bool in_memory_group = false;
  /// Whether the command set a memory limit in a cgroup v1 memory group
  /// (such a group is never used by another command).
  bool v1_memory_limit = false;
};

/// What `cgroup_tree::prepare` set up for one command: the descriptors
/// `spawn_in_cgroup` needs and the counters to subtract at its end. Closes
/// its descriptors when destroyed.
struct leaf_setup {
  /// The v2 leaf's directory (for `CLONE_INTO_CGROUP`), or -1. The tree's
  /// own descriptor, kept with the leaf: not closed here.
  int dir_fd = -1;
  /// The v1 `tasks` files to join, or -1 each.
  std::array<int, limit_support::count> join_fds{-1, -1, -1};
  /// Whether each of `join_fds` is closed here (false: the tree's own).
  std::array<bool, limit_support::count> owned{true, true, true};
  /// The counters before the command started.
  leaf_bases bases;

  leaf_setup() = default;
  ~leaf_setup();
  leaf_setup(const leaf_setup&) = delete;
  leaf_setup& operator=(const leaf_setup&) = delete;
};

/// What a command used, read from its groups once it ended.
struct leaf_usage {
  /// CPU time (user + system) in microseconds.
  uint64_t cpu_usec = 0;
  /// Peak memory in bytes; 0 when unknown.
  uint64_t peak_memory = 0;
  /// OOM kills in its memory group while it ran.
  uint64_t oom_kills = 0;
};

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

  /// Creates (or reuses) the groups of command `id`, sets `limits` in them
  /// and fills `out`. Limits this tree cannot enforce are skipped (see
  /// `limits`). On the hybrid layout the command joins the leaf's cgroup v1
  /// memory group when it sets `memory_max` (a fresh group) or when
  /// `measure_peak` is set (the leaf's group, reused from command to
  /// command, so that its peak memory is known). Returns false with `error`
  /// set when a group cannot be created or set.
  bool prepare(uint64_t id, const resource_limits& limits, bool measure_peak,
               leaf_setup& out, std::string& error) const;

  /// Returns what command `id` used since its groups had `bases`.
  leaf_usage usage(uint64_t id, const leaf_bases& bases) const;

  /// Returns where this tree enforces each kind of limit.
  const limit_support& limits() const noexcept {
    return support_;
  }

  /// Returns the directories of this tree in cgroup v1 hierarchies (for the
  /// keeper to remove).
  std::vector<std::string> v1_trees() const;

  /// Kills everything in the leaf group of `id`; see `kill_cgroup`.
  bool kill(uint64_t id);

  /// Returns whether the leaf group of `id` may start another command: it
  /// was never killed, no controller of the v2 tree is enabled (the
  /// peak of `memory.peak` would span commands), and none of its cgroup v1
  /// groups still holds a process (one that left the v2 leaf: the next
  /// command's peak and limits would count it). Linux 6.18 (at least)
  /// SIGKILLs every process that clone3 starts in a group once killed
  /// through `cgroup.kill` (the fork compares the group's kill count with
  /// the parent's), so such a group is removed instead. Forgets the mark.
  bool reusable(uint64_t id);

  /// Readies the reusable leaf `id` for its next command, whose start
  /// `bases` described (null: unknown): removes its cgroup v1 memory group
  /// when that command set a memory limit there, or when unknown, so that
  /// no command inherits a limit; the next command creates it again.
  void settle(uint64_t id, const leaf_bases* bases) const;

  /// Returns whether the leaf group of `id` still holds a live process.
  bool populated(uint64_t id) const;

  /// Returns the CPU time in microseconds the leaf group of `id` used
  /// (`usage_usec` of its `cpu.stat`), or 0.
  uint64_t cpu_usage_usec(uint64_t id) const;

  /// Removes the (empty) leaf group of `id`, closing the files kept open
  /// with it; false while it is not empty.
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

  /// Finds where each controller is and creates this tree's groups in the
  /// v1 hierarchies (or enables the v2 controllers below `base`).
  void setup_limits(const std::string& leaf_name, const std::string& base);

  /// The open files of a leaf's cgroup v1 memory group, kept from command
  /// to command: opening one costs more than reading it.
  struct memory_files {
    int tasks = -1; // `tasks`, which the child writes to join
    int usage = -1; // `memory.usage_in_bytes`
    int peak = -1;  // `memory.max_usage_in_bytes`, read and reset
    int procs = -1; // `cgroup.procs`, to see the group empty
  };

  /// Closes the files of the v1 memory group of `id` and removes the group.
  void drop_memory_group(uint64_t id) const;

  /// The open files of a v2 leaf, kept while the leaf is reused: a command
  /// then costs no `mkdir`, and no open of its directory or its files.
  struct leaf_files {
    int dir = -1;               // the directory, for CLONE_INTO_CGROUP
    int cpu_stat = -1;          // `cpu.stat`
    int events = -1;            // `cgroup.events`
    uint64_t cpu_end = 0;       // `usage_usec` when its last command ended
    bool cpu_end_known = false; // cpu_end read since the leaf was taken
  };

  /// Returns the open files of leaf `id`, creating the leaf and opening
  /// them when it has none; `dir` is -1 with `error` set when it fails.
  leaf_files open_leaf(uint64_t id, std::string& error) const;

  /// Returns the open `cpu.stat` (`cgroup.events` with `events`) of leaf
  /// `id`, or -1.
  int leaf_file(uint64_t id, bool events) const;

  mutable std::mutex mtx_;
  std::unordered_set<uint64_t> killed_; // guarded by mtx_
  // The leaves that have a pids or cpu v1 group (joined by a command that
  // set that limit): the open `tasks` of each group made, or -1. Guarded by
  // mtx_, used like memory_files_.
  mutable std::unordered_map<uint64_t, std::array<int, limit_support::count>>
      limited_v1_;
  // Per leaf with a v1 memory group: its open files. Guarded by mtx_; the
  // descriptors are used outside it by the one thread that holds the leaf.
  mutable std::unordered_map<uint64_t, memory_files> memory_files_;
  // Per leaf: its open files (see leaf_files). Guarded by mtx_, used like
  // memory_files_.
  mutable std::unordered_map<uint64_t, leaf_files> leaf_files_;
  std::string dir_; // the parent's directory
  std::string rel_; // the parent as /proc shows it
  bool has_kill_file_ = false;
  limit_support support_;
  // Per controller: this tree's directory in the v1 hierarchy, or empty.
  std::array<std::string, limit_support::count> v1_tree_;
};

} // namespace quiesce::process
