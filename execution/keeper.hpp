#pragma once

// The keeper: a small process forked by each launcher that outlives the
// launcher's process to kill what it started. It holds the read end of a
// pipe whose write end only the launcher's process has; when that process
// dies, by any signal including SIGKILL, the kernel closes the write end, the
// keeper reads end of file and kills the launcher's cgroup tree (everything
// in it at once) and the process groups the launcher told it about, then
// removes the tree and exits. Plain C++ and POSIX, no CAF.

#include <string>
#include <sys/types.h>
#include <vector>

namespace quiesce::process {

/// A keeper process and the pipe to it.
class keeper {
public:
  /// Forks the keeper. `cgroup_dir` is the launcher's parent group (empty
  /// without cgroups); `v1_dirs` are the launcher's groups in cgroup v1
  /// hierarchies (resource limits), removed after the kill. When the fork
  /// fails, `running()` is false and the launcher works as before,
  /// unprotected.
  explicit keeper(const std::string& cgroup_dir,
                  const std::vector<std::string>& v1_dirs = {});

  /// Closes the pipe (the keeper then kills whatever is left, which after a
  /// launcher's orderly shutdown is nothing) and reaps the keeper.
  ~keeper();

  keeper(const keeper&) = delete;
  keeper& operator=(const keeper&) = delete;

  /// Tells the keeper about a new process group to kill if we die.
  void watch_group(pid_t pgid);

  /// Tells the keeper that group `pgid` is gone (its id may be reused).
  void forget_group(pid_t pgid);

  /// Returns whether the keeper process runs.
  bool running() const noexcept {
    return pid_ > 0;
  }

  /// Returns the keeper's pid, or 0.
  pid_t pid() const noexcept {
    return pid_;
  }

private:
  void send(int value) const;

  pid_t pid_ = 0;
  int pipe_ = -1;
};

} // namespace quiesce::process
