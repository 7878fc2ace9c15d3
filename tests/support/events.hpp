#pragma once

// Helpers for tests that read the event stream.

#include "messages/events.hpp"

#include <string>
#include <vector>

namespace quiesce::test {

/// Returns the status changes of task `task` in `evs`, in stream order, as
/// "from>to" (e.g. "queued>running").
inline std::vector<std::string> task_changes(const std::vector<event>& evs,
                                             task_id task) {
  std::vector<std::string> out;
  for (const auto& ev : evs)
    if (ev.kind == event_kind::task && ev.subject == task)
      out.push_back(std::string{to_name(ev.previous)} + ">"
                    + std::string{to_name(ev.current)});
  return out;
}

} // namespace quiesce::test
