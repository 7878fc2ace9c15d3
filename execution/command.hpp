#pragma once

// A command line with its environment, working directory and output files:
// what a command task says to run (`quiesce::command_spec`, which travels to
// nodes) and what the launcher starts. Plain data, no CAF.

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace quiesce::process {

/// Environment variables a command adds or replaces: names to values,
/// sorted by name, each name once. A sorted vector rather than a
/// `std::map`: every queued task holds one, nearly always empty, and an
/// empty vector takes 24 bytes where an empty map takes 48
/// (docs/performance.md, memory per queued task). Lookups are binary
/// searches; commands have a handful of variables.
class environment {
public:
  using value_type = std::pair<std::string, std::string>;
  using container_type = std::vector<value_type>;
  using iterator = container_type::iterator;
  using const_iterator = container_type::const_iterator;

  environment() = default;

  /// Takes `xs` in any order; of equal names, the last wins.
  environment(std::initializer_list<value_type> xs) : items_(xs) {
    normalize();
  }

  /// Takes the variables of `xs` (sorted and unique already).
  environment(const std::map<std::string, std::string>& xs)
      : items_(xs.begin(), xs.end()) {
    // nop
  }

  /// Returns the value of `name`, adding it empty first if it is missing.
  std::string& operator[](std::string_view name) {
    auto i = lower(items_, name);
    if (i == items_.end() || i->first != name)
      i = items_.emplace(i, std::string{name}, std::string{});
    return i->second;
  }

  /// Returns the value of `name`; throws `std::out_of_range` if missing.
  const std::string& at(std::string_view name) const {
    auto i = find(name);
    if (i == items_.end())
      throw std::out_of_range{"no environment variable " + std::string{name}};
    return i->second;
  }

  /// Returns the entry of `name`, or `end()`.
  iterator find(std::string_view name) {
    auto i = lower(items_, name);
    return i != items_.end() && i->first == name ? i : items_.end();
  }
  const_iterator find(std::string_view name) const {
    auto i = lower(items_, name);
    return i != items_.end() && i->first == name ? i : items_.end();
  }

  /// Returns 1 if `name` is set, else 0.
  size_t count(std::string_view name) const {
    return find(name) == items_.end() ? 0 : 1;
  }

  iterator begin() noexcept {
    return items_.begin();
  }
  iterator end() noexcept {
    return items_.end();
  }
  const_iterator begin() const noexcept {
    return items_.begin();
  }
  const_iterator end() const noexcept {
    return items_.end();
  }
  bool empty() const noexcept {
    return items_.empty();
  }
  size_t size() const noexcept {
    return items_.size();
  }

  /// The entries, for serialization: after changing them, `normalize`.
  container_type& items() noexcept {
    return items_;
  }

  /// Sorts the entries by name and keeps the last of equal names.
  void normalize() {
    // Stable: of equal names, the one given last stays last.
    std::stable_sort(items_.begin(), items_.end(),
                     [](const value_type& x, const value_type& y) {
                       return x.first < y.first;
                     });
    auto out = items_.begin();
    for (auto i = items_.begin(); i != items_.end(); ++i) {
      auto next = std::next(i);
      if (next != items_.end() && next->first == i->first)
        continue; // a later one of the same name wins
      if (out != i)
        *out = std::move(*i);
      ++out;
    }
    items_.erase(out, items_.end());
    items_.shrink_to_fit();
  }

  friend bool operator==(const environment& x, const environment& y) {
    return x.items_ == y.items_;
  }
  friend bool operator!=(const environment& x, const environment& y) {
    return !(x == y);
  }

private:
  // The first entry of `items` whose name is not less than `name`.
  static bool name_less(const value_type& item, std::string_view key) {
    return std::string_view{item.first} < key;
  }
  static iterator lower(container_type& items, std::string_view name) {
    return std::lower_bound(items.begin(), items.end(), name, name_less);
  }
  static const_iterator lower(const container_type& items,
                              std::string_view name) {
    return std::lower_bound(items.begin(), items.end(), name, name_less);
  }

  container_type items_;
};

// Every queued task holds one, nearly always empty (docs/performance.md).
static_assert(sizeof(environment) < sizeof(std::map<std::string, std::string>),
              "an environment must stay smaller than the map it replaced");

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
  environment env;
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
