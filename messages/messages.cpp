#include "messages/text.hpp"
#include "messages/type_ids.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>

namespace quiesce {

void add_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::quiesce>();
}

std::string to_string(peer_role x) {
  switch (x) {
    case peer_role::user:
      return "user";
    case peer_role::node:
      return "node";
    case peer_role::admin:
      return "admin";
  }
  return "user";
}

bool from_name(const std::string& name, peer_role& x) noexcept {
  for (auto r : {peer_role::user, peer_role::node, peer_role::admin})
    if (to_string(r) == name) {
      x = r;
      return true;
    }
  return false;
}

std::string to_string(event_kind x) {
  switch (x) {
    case event_kind::job:
      return "job";
    case event_kind::assessment:
      return "assessment";
    case event_kind::task:
      return "task";
    case event_kind::progress:
      return "progress";
  }
  return "invalid";
}

bool fits(event_kind kind, const entity_status& x) noexcept {
  switch (kind) {
    case event_kind::job:
      return caf::holds_alternative<job_status>(x);
    case event_kind::assessment:
      return caf::holds_alternative<assessment_status>(x);
    case event_kind::task:
    case event_kind::progress:
      return caf::holds_alternative<task_status>(x);
  }
  return false;
}

std::string to_string(stop_mode x) {
  switch (x) {
    case stop_mode::request:
      return "request";
    case stop_mode::graceful:
      return "graceful";
    case stop_mode::kill:
      return "kill";
  }
  return "invalid";
}

std::string to_string(head_change x) {
  switch (x) {
    case head_change::stop:
      return "stop";
    case head_change::lost:
      return "lost";
    case head_change::joined:
      return "joined";
    case head_change::expired:
      return "expired";
  }
  return "invalid";
}

std::string to_string(attempt_outcome x) {
  switch (x) {
    case attempt_outcome::succeeded:
      return "succeeded";
    case attempt_outcome::failed:
      return "failed";
    case attempt_outcome::stopped:
      return "stopped";
    case attempt_outcome::not_started:
      return "not_started";
    case attempt_outcome::timed_out:
      return "timed_out";
    case attempt_outcome::lost:
      return "lost";
  }
  return "invalid";
}

std::string to_string(work_kind x) {
  return x == work_kind::command ? "command" : "function";
}

std::string describe(const event& x) {
  std::string out = "job ";
  out += std::to_string(x.job);
  switch (x.kind) {
    case event_kind::job:
      out += ": ";
      out += to_name(x.previous);
      out += " -> ";
      out += to_name(x.current);
      break;
    case event_kind::assessment:
      out += " assessment ";
      out += std::to_string(x.subject);
      out += ": ";
      out += to_name(x.previous);
      out += " -> ";
      out += to_name(x.current);
      break;
    case event_kind::task:
      out += " task ";
      out += std::to_string(x.subject);
      out += ": ";
      out += to_name(x.previous);
      out += " -> ";
      out += to_name(x.current);
      break;
    case event_kind::progress:
      out += " task ";
      out += std::to_string(x.subject);
      out += ": progress ";
      out += std::to_string(x.percent);
      out += '%';
      break;
  }
  if (x.code != result_code::ok) {
    out += " [";
    out += to_name(x.code);
    out += ']';
  }
  if (!x.message.empty()) {
    out += " \"";
    out += escape_controls(x.message);
    out += '"';
  }
  if (!x.who.empty()) {
    out += " by ";
    out += escape_controls(x.who);
  }
  return out;
}

} // namespace quiesce
