#pragma once

#include "execution/work.hpp"

#include <map>
#include <shared_mutex>
#include <string>

namespace quiesce {

/// The named work functions of one program. Thread-safe: functions may be
/// registered while tasks run.
class work_registry {
public:
  /// A registered function and how it runs.
  struct entry {
    work_function fn;
    work_mode mode = work_mode::blocking;
  };

  /// Registers `fn` under `name` to run as `mode`, replacing an earlier one;
  /// returns false if `name` is empty or `fn` is empty.
  bool add(std::string name, work_function fn,
           work_mode mode = work_mode::blocking);

  /// Returns the function registered under `name` (an empty `fn` if none).
  entry find(const std::string& name) const;

  /// Returns the registered names, sorted.
  std::vector<std::string> names() const;

private:
  mutable std::shared_mutex mtx_;
  std::map<std::string, entry> fns_;
};

} // namespace quiesce
