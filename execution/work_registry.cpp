#include "execution/work_registry.hpp"

#include <mutex>

namespace quiesce {

bool work_registry::add(std::string name, work_function fn, work_mode mode) {
  if (name.empty() || !fn)
    return false;
  std::unique_lock<std::shared_mutex> guard{mtx_};
  fns_[std::move(name)] = entry{std::move(fn), mode};
  return true;
}

work_registry::entry work_registry::find(const std::string& name) const {
  std::shared_lock<std::shared_mutex> guard{mtx_};
  auto i = fns_.find(name);
  return i != fns_.end() ? i->second : entry{};
}

std::vector<std::string> work_registry::names() const {
  std::shared_lock<std::shared_mutex> guard{mtx_};
  std::vector<std::string> out;
  for (const auto& [name, e] : fns_)
    out.push_back(name);
  return out;
}

} // namespace quiesce
