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
  /// Registers `fn` under `name`, replacing an earlier one; returns false if
  /// `name` is empty or `fn` is empty.
  bool add(std::string name, work_function fn);

  /// Returns the function registered under `name`, or an empty function.
  work_function find(const std::string& name) const;

  /// Returns the registered names, sorted.
  std::vector<std::string> names() const;

private:
  mutable std::shared_mutex mtx_;
  std::map<std::string, work_function> fns_;
};

} // namespace quiesce
