#pragma once

// Reading the kernel's cgroup files: helpers shared by cgroup.cpp and
// cgroup_limits.cpp, internal to execution/.

#include <string>

namespace quiesce::process::detail {

/// Where a file system is mounted, and the root of the mount within it.
struct mount_place {
  std::string point;
  std::string root;
};

/// Returns the first mount in /proc/self/mountinfo of type `fstype` whose
/// super options hold `option` (any, when empty), or an empty one.
mount_place find_mount(const std::string& fstype,
                       const std::string& option = {});

/// Returns whether the comma- or space-separated `list` holds `word`.
bool has_word(const std::string& list, const std::string& word);

} // namespace quiesce::process::detail
