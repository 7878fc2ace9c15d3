#include "execution/work_registry.hpp"

#include <mutex>

namespace quiesce {

bool work_registry::add(std::string name, work_function fn) {
  if (name.empty() || !fn)
    return false;
  std::unique_lock<std::shared_mutex> guard{mtx_};
  fns_[std::move(name)] = std::move(fn);
  return true;
}

work_function work_registry::find(const std::string& name) const {
  std::shared_lock<std::shared_mutex> guard{mtx_};
  auto i = fns_.find(name);
  return i != fns_.end() ? i->second : work_function{};
}

std::vector<std::string> work_registry::names() const {
  std::shared_lock<std::shared_mutex> guard{mtx_};
  std::vector<std::string> out;
  for (const auto& [name, fn] : fns_)
    out.push_back(name);
  return out;
}

} // namespace quiesce
