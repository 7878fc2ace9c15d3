// Resource limits of the launcher's cgroups: where each controller is
// (the v2 tree, or a v1 hierarchy on the hybrid layout), setting a command's
// limits before it starts and reading what it used after its end.

#include "execution/cgroup.hpp"
#include "execution/cgroup_files.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

namespace quiesce::process {

namespace {

using controller = limit_support::controller;
using detail::has_word;

constexpr std::array<controller, limit_support::count> all_controllers{
    limit_support::memory, limit_support::pids, limit_support::cpu};

/// The CFS period the quota of `cpus` is expressed in.
constexpr uint64_t cpu_period_usec = 100'000;

/// Returns the first line of the file `path`, or empty.
std::string first_line(const std::string& path) {
  std::ifstream in{path};
  std::string line;
  std::getline(in, line);
  return line;
}

/// Returns the number after `key` + ' ' in the file `path`, or 0.
uint64_t keyed_value(const std::string& path, const std::string& key) {
  std::ifstream in{path};
  std::string name;
  uint64_t value = 0;
  while (in >> name >> value)
    if (name == key)
      return value;
  return 0;
}

/// Returns the number the file `path` holds, or 0.
uint64_t file_value(const std::string& path) {
  std::ifstream in{path};
  uint64_t value = 0;
  in >> value;
  return in ? value : 0;
}

/// Returns the number the open cgroup file `fd` holds (read from its
/// start), or 0.
uint64_t read_counter(int fd) {
  char buf[32];
  auto n = ::pread(fd, buf, sizeof(buf) - 1, 0);
  uint64_t value = 0;
  for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; ++i)
    value = value * 10 + static_cast<uint64_t>(buf[i] - '0');
  return value;
}

/// A reused cgroup v1 memory group holding more than this when a command
/// would start is replaced by a fresh one (see usage()).
constexpr uint64_t max_memory_held = uint64_t{8} << 20;

/// What a memory group may hold that its next command uses without the
/// counter moving: the kernel charges a group in batches of 64 pages per
/// CPU (MEMCG_CHARGE_BATCH) and keeps the rest of a batch for its next
/// charges on that CPU.
uint64_t charge_reserve() {
  static const uint64_t bytes = [] {
    auto cpus = ::sysconf(_SC_NPROCESSORS_CONF);
    auto page = ::sysconf(_SC_PAGESIZE);
    return uint64_t{64} * static_cast<uint64_t>(cpus > 0 ? cpus : 1)
           * static_cast<uint64_t>(page > 0 ? page : 4096);
  }();
  return bytes;
}

/// Writes `text` to the file `path`; returns 0 or the errno. Lowering a
/// memory limit fails with EINTR when a signal is pending for the thread
/// (under strace, every time): it is tried again.
int write_text(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return errno;
  ssize_t n = 0;
  do {
    n = ::write(fd, text.data(), text.size());
  } while (n < 0 && errno == EINTR);
  int err = n == static_cast<ssize_t>(text.size()) ? 0 : (n < 0 ? errno : EIO);
  ::close(fd);
  return err;
}

/// Returns this process's path in the v1 hierarchy of `name` (from
/// /proc/self/cgroup, "4:memory:/user.slice"), or empty.
std::string own_v1_path(const std::string& name) {
  std::ifstream in{"/proc/self/cgroup"};
  std::string line;
  while (std::getline(in, line)) {
    auto first = line.find(':');
    auto second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos)
      continue;
    if (has_word(line.substr(first + 1, second - first - 1), name))
      return line.substr(second + 1);
  }
  return {};
}

std::string errno_text(int err) {
  return std::strerror(err);
}

} // namespace

const char* controller_name(limit_support::controller c) {
  switch (c) {
    case limit_support::memory:
      return "memory";
    case limit_support::pids:
      return "pids";
    default:
      return "cpu";
  }
}

const char* limit_key(limit_support::controller c) {
  switch (c) {
    case limit_support::memory:
      return "memory_max";
    case limit_support::pids:
      return "pids_max";
    default:
      return "cpus";
  }
}

std::string limit_support::describe() const {
  std::string v2_keys;
  std::string v1_keys;
  std::string missing;
  for (auto c : all_controllers) {
    auto& into = v2[c] ? v2_keys : !v1_dir[c].empty() ? v1_keys : missing;
    if (!into.empty())
      into += ", ";
    into += limit_key(c);
  }
  std::string out;
  if (!v2_keys.empty())
    out = v2_keys + " by cgroup v2";
  if (!v1_keys.empty())
    out += (out.empty() ? "" : "; ") + v1_keys + " by cgroup v1";
  if (out.empty())
    out = "no limits enforced";
  else
    out += " enforced";
  for (auto c : all_controllers)
    if (!enforced(c))
      out += std::string{"; "} + limit_key(c) + " not enforced (" + why_not[c]
             + ")";
  return out;
}

limit_support probe_limits(const std::string& why_no_cgroups) {
  limit_support out;
  std::string why = why_no_cgroups;
  std::string own;
  if (why.empty()) {
    own = own_cgroup_dir(why);
    if (!own.empty() && ::access(own.c_str(), W_OK) != 0)
      why = "cannot write " + own + ": " + errno_text(errno);
  }
  if (!why.empty()) {
    for (auto c : all_controllers)
      out.why_not[c] = "tasks are not contained by cgroups: " + why;
    return out;
  }
  auto enabled = first_line(own + "/cgroup.subtree_control");
  auto available = first_line(own + "/cgroup.controllers");
  for (auto c : all_controllers) {
    std::string name = controller_name(c);
    if (has_word(enabled, name)) {
      out.v2[c] = true;
      continue;
    }
    auto mount = detail::find_mount("cgroup", name);
    if (mount.point.empty()) {
      out.why_not[c]
          = has_word(available, name)
                ? "the cgroup v2 " + name + " controller is not enabled in "
                      + own + "/cgroup.subtree_control"
                : "no " + name
                      + " controller: not in the cgroup v2 tree, not "
                        "mounted as cgroup v1";
      continue;
    }
    auto path = own_v1_path(name);
    if (mount.root != "/"
        && path.compare(0, mount.root.size(), mount.root) == 0)
      path.erase(0, mount.root.size());
    if (path == "/")
      path.clear();
    auto dir = mount.point + path;
    if (::access(dir.c_str(), W_OK) != 0) {
      out.why_not[c] = "cannot write the cgroup v1 group " + dir + ": "
                       + errno_text(errno);
      continue;
    }
    out.v1_dir[c] = dir;
  }
  return out;
}

std::string unenforced(const resource_limits& limits,
                       const limit_support& support) {
  std::string out;
  auto check = [&](bool set, limit_support::controller c) {
    if (!set || support.enforced(c))
      return;
    out += out.empty() ? "" : "; ";
    out += std::string{limit_key(c)} + " cannot be enforced ("
           + support.why_not[c] + ")";
  };
  check(limits.memory_max != 0, limit_support::memory);
  check(limits.pids_max != 0, limit_support::pids);
  check(limits.cpu_millis != 0, limit_support::cpu);
  return out;
}

std::string format_bytes(uint64_t bytes) {
  static constexpr const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024)
    return std::to_string(bytes) + " B";
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(units)) {
    value /= 1024;
    ++unit;
  }
  char buf[32];
  if (value < 10 && value != static_cast<double>(static_cast<uint64_t>(value)))
    std::snprintf(buf, sizeof(buf), "%.1f %s", value, units[unit]);
  else
    std::snprintf(buf, sizeof(buf), "%.0f %s", value, units[unit]);
  return buf;
}

leaf_setup::~leaf_setup() {
  for (size_t c = 0; c < join_fds.size(); ++c)
    if (join_fds[c] >= 0 && owned[c])
      ::close(join_fds[c]);
}

void cgroup_tree::setup_limits(const std::string& leaf_name,
                               const std::string& base) {
  support_ = probe_limits();
  auto enable = [&](const std::string& dir, const std::string& name) {
    return write_text(dir + "/cgroup.subtree_control", "+" + name);
  };
  for (auto c : all_controllers) {
    std::string name = controller_name(c);
    if (support_.v2[c]) {
      // The controller must be on in every group between ours and the
      // leaves: quiesce/ and the launcher's parent.
      int err = enable(base, name);
      if (err == 0)
        err = enable(dir_, name);
      if (err != 0) {
        support_.v2[c] = false;
        support_.why_not[c] = "cannot enable the cgroup v2 " + name
                              + " controller below " + base + ": "
                              + errno_text(err);
      }
      continue;
    }
    if (support_.v1_dir[c].empty())
      continue;
    // Controllers mounted together (e.g. "cpu,cpuacct" with another) share
    // one hierarchy, and so one tree.
    bool shared = false;
    for (auto other : all_controllers)
      if (other < c && support_.v1_dir[other] == support_.v1_dir[c]
          && !v1_tree_[other].empty()) {
        v1_tree_[c] = v1_tree_[other];
        shared = true;
      }
    if (shared)
      continue;
    auto v1_base = support_.v1_dir[c] + "/quiesce";
    auto tree = v1_base + '/' + leaf_name;
    if ((::mkdir(v1_base.c_str(), 0755) != 0 && errno != EEXIST)
        || ::mkdir(tree.c_str(), 0755) != 0) {
      support_.why_not[c] = "cannot create the cgroup v1 group " + tree + ": "
                            + errno_text(errno);
      support_.v1_dir[c].clear();
      continue;
    }
    v1_tree_[c] = tree;
  }
}

std::vector<std::string> cgroup_tree::v1_trees() const {
  std::vector<std::string> out;
  for (const auto& dir : v1_tree_)
    if (!dir.empty() && std::find(out.begin(), out.end(), dir) == out.end())
      out.push_back(dir);
  return out;
}

bool cgroup_tree::prepare(uint64_t id, const resource_limits& limits,
                          bool measure_peak, leaf_setup& out,
                          std::string& error) const {
  auto leaf_fds = open_leaf(id, error);
  out.dir_fd = leaf_fds.dir;
  if (out.dir_fd < 0)
    return false;
  auto leaf = leaf_dir(id);
  // A reused leaf's counter has not moved since its last command ended: the
  // leaf was empty since, and only clone3 puts a process into it.
  out.bases.cpu_usec
      = leaf_fds.cpu_end_known ? leaf_fds.cpu_end : cpu_usage_usec(id);
  auto set = [&](const std::string& path, const std::string& value) {
    if (int err = write_text(path, value); err != 0) {
      error = "cannot set " + path + " to " + value + ": " + errno_text(err);
      return false;
    }
    return true;
  };
  auto v2_value = [](uint64_t x) {
    return x == 0 ? std::string{"max"} : std::to_string(x);
  };
  // v2 controllers: the leaf is new (never reused with a controller on).
  if (support_.v2[limit_support::memory]) {
    out.bases.in_memory_group = true;
    if (limits.memory_max != 0
        && (!set(leaf + "/memory.max", v2_value(limits.memory_max))
            || (::access((leaf + "/memory.swap.max").c_str(), W_OK) == 0
                && !set(leaf + "/memory.swap.max", "0"))))
      return false;
  }
  if (support_.v2[limit_support::pids] && limits.pids_max != 0
      && !set(leaf + "/pids.max", v2_value(limits.pids_max)))
    return false;
  if (support_.v2[limit_support::cpu] && limits.cpu_millis != 0
      && !set(leaf + "/cpu.max",
              std::to_string(limits.cpu_millis * cpu_period_usec / 1000) + ' '
                  + std::to_string(cpu_period_usec)))
    return false;
  // v1 hierarchies: a group per leaf, reused like the leaf; the pids and cpu
  // groups are joined only by a command that sets their limit.
  // The group and its open `tasks` stay with the leaf (no failing mkdir
  // and no open per command); its limit is written afresh by each command.
  auto join = [&](limit_support::controller c) {
    if (v1_tree_[c].empty())
      return std::string{};
    auto dir = v1_tree_[c] + "/a" + std::to_string(id);
    int tasks = -1;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (auto i = limited_v1_.find(id); i != limited_v1_.end())
        tasks = i->second[c];
    }
    if (tasks < 0) {
      if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
        error = "cannot create cgroup " + dir + ": " + errno_text(errno);
        return std::string{};
      }
      // `tasks`, not `cgroup.procs`: the child is a single thread, and
      // moving the calling thread alone skips the kernel's global
      // threadgroup lock, whose writer waits for an RCU grace period (80 µs
      // per command here, against 6 µs).
      tasks = ::open((dir + "/tasks").c_str(), O_WRONLY | O_CLOEXEC);
      int open_error = errno;
      std::lock_guard<std::mutex> guard{mtx_};
      auto& fds = limited_v1_
                      .try_emplace(
                          id, std::array<int, limit_support::count>{-1, -1, -1})
                      .first->second;
      fds[c] = tasks;
      if (tasks < 0) {
        error = "cannot open " + dir + "/tasks: " + errno_text(open_error);
        return std::string{};
      }
    }
    out.join_fds[c] = tasks;
    out.owned[c] = false;
    return dir;
  };
  // The memory group: joined by every command where `measure_peak` says
  // so (a join costs the child about 6 µs; creating and removing a group
  // 70-200 µs), so that its peak is known.
  bool limit_memory = limits.memory_max != 0;
  if (!v1_tree_[limit_support::memory].empty()
      && !support_.v2[limit_support::memory]
      && (limit_memory || measure_peak)) {
    auto dir = v1_tree_[limit_support::memory] + "/a" + std::to_string(id);
    // A limit starts in a fresh group: nothing an earlier command left
    // counts against it. Without a limit the leaf's group is reused; what it
    // holds is read to be subtracted, and a group that holds much is
    // replaced (see usage()).
    if (limit_memory)
      drop_memory_group(id);
    memory_files files;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (auto i = memory_files_.find(id); i != memory_files_.end())
        files = i->second;
    }
    uint64_t held = 0;
    if (files.tasks >= 0) {
      held = read_counter(files.usage);
      if (held > max_memory_held) {
        drop_memory_group(id);
        files = {};
        held = 0;
      }
    }
    if (files.tasks < 0) {
      // A new group (or the group of a leaf whose files could not be
      // opened before).
      if (::mkdir(dir.c_str(), 0755) != 0
          && (limit_memory || errno != EEXIST)) {
        error = "cannot create cgroup " + dir + ": " + errno_text(errno);
        return false;
      }
      auto open_file = [&](const char* name, int flags) {
        int fd = ::open((dir + '/' + name).c_str(), flags | O_CLOEXEC);
        if (fd < 0 && error.empty())
          error = "cannot open " + dir + '/' + name + ": " + errno_text(errno);
        return fd;
      };
      // `tasks`, not `cgroup.procs`: the child is a single thread, and
      // moving the calling thread alone skips the kernel's global
      // threadgroup lock, whose writer waits for an RCU grace period (80 µs
      // per command here, against 6 µs).
      files.tasks = open_file("tasks", O_WRONLY);
      files.usage = open_file("memory.usage_in_bytes", O_RDONLY);
      files.peak = open_file("memory.max_usage_in_bytes", O_RDWR);
      files.procs = open_file("cgroup.procs", O_RDONLY);
      {
        std::lock_guard<std::mutex> guard{mtx_};
        memory_files_[id] = files;
      }
      if (!error.empty())
        return false;
      held = read_counter(files.usage);
    }
    // The high-water mark becomes what the group holds now.
    if (::pwrite(files.peak, "0", 1, 0) != 1) {
      error = "cannot reset " + dir
              + "/memory.max_usage_in_bytes: " + errno_text(errno);
      return false;
    }
    // Borrowed, not duplicated: the group stays with the leaf, which no
    // other command uses until this one has ended.
    out.join_fds[limit_support::memory] = files.tasks;
    out.owned[limit_support::memory] = false;
    if (limit_memory) {
      // memsw (memory + swap) must stay at least the memory limit: the
      // memory limit first, then memsw alike, so that swap does not extend
      // the limit.
      auto memsw = dir + "/memory.memsw.limit_in_bytes";
      auto value = std::to_string(limits.memory_max);
      if (!set(dir + "/memory.limit_in_bytes", value)
          || (::access(memsw.c_str(), W_OK) == 0 && !set(memsw, value)))
        return false;
    }
    out.bases.in_memory_group = true;
    out.bases.v1_memory_limit = limit_memory;
    out.bases.memory_held = held;
  }
  if (limits.pids_max != 0 && !v1_tree_[limit_support::pids].empty()) {
    auto dir = join(limit_support::pids);
    if (dir.empty() || !set(dir + "/pids.max", std::to_string(limits.pids_max)))
      return false;
  }
  if (limits.cpu_millis != 0 && !v1_tree_[limit_support::cpu].empty()) {
    auto dir = join(limit_support::cpu);
    if (dir.empty()
        || !set(dir + "/cpu.cfs_period_us", std::to_string(cpu_period_usec))
        || !set(dir + "/cpu.cfs_quota_us",
                std::to_string(limits.cpu_millis * cpu_period_usec / 1000)))
      return false;
  }
  return true;
}

leaf_usage cgroup_tree::usage(uint64_t id, const leaf_bases& bases) const {
  leaf_usage out;
  auto cpu = cpu_usage_usec(id);
  out.cpu_usec = cpu > bases.cpu_usec ? cpu - bases.cpu_usec : 0;
  {
    // The next command's start, if the leaf is reused (see prepare()).
    std::lock_guard<std::mutex> guard{mtx_};
    if (auto i = leaf_files_.find(id);
        i != leaf_files_.end() && i->second.cpu_stat >= 0) {
      i->second.cpu_end = cpu;
      i->second.cpu_end_known = true;
    }
  }
  if (!bases.in_memory_group)
    return out;
  if (support_.v2[limit_support::memory]) {
    auto leaf = leaf_dir(id);
    out.peak_memory = file_value(leaf + "/memory.peak");
    out.oom_kills = keyed_value(leaf + "/memory.events", "oom_kill");
  } else if (!v1_tree_[limit_support::memory].empty()) {
    auto dir = v1_tree_[limit_support::memory] + "/a" + std::to_string(id);
    // The high-water mark since the start, less what the group held then,
    // except the kernel's charge reserve, which the command may have used
    // without the counter moving (so a small command does not read 0). A
    // command that frees what the group held (deletes an earlier command's
    // file) or whose held pages the kernel reclaims meanwhile reads low, by
    // at most max_memory_held.
    uint64_t peak = 0;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (auto i = memory_files_.find(id); i != memory_files_.end())
        peak = read_counter(i->second.peak);
    }
    auto reserve = charge_reserve();
    auto held = bases.memory_held > reserve ? bases.memory_held - reserve : 0;
    if (peak != 0)
      out.peak_memory = std::max<uint64_t>(peak > held ? peak - held : 0,
                                           static_cast<uint64_t>(4096));
    // Counted only under a limit: a command without one is not killed by
    // its own group.
    if (bases.v1_memory_limit)
      out.oom_kills = keyed_value(dir + "/memory.oom_control", "oom_kill");
  }
  return out;
}

void cgroup_tree::settle(uint64_t id, const leaf_bases* bases) const {
  if (bases == nullptr || bases->v1_memory_limit)
    drop_memory_group(id);
}

void cgroup_tree::drop_memory_group(uint64_t id) const {
  if (v1_tree_[limit_support::memory].empty())
    return;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (auto i = memory_files_.find(id); i != memory_files_.end()) {
      for (int fd :
           {i->second.tasks, i->second.usage, i->second.peak, i->second.procs})
        if (fd >= 0)
          ::close(fd);
      memory_files_.erase(i);
    }
  }
  auto dir = v1_tree_[limit_support::memory] + "/a" + std::to_string(id);
  ::rmdir(dir.c_str());
}

} // namespace quiesce::process
