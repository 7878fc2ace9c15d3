#include "actors/nodes.hpp"

#include <algorithm>

namespace quiesce {

node_record make_node_record(const node_entry& n) {
  // Slots in use: attempts placed beyond them wait there, held.
  return node_record{n.name,   n.slots,  std::min(n.running, n.slots),
                     n.labels, n.status, n.stale_reports};
}

node_list node_table::join(node_hello& hello) {
  node_list out;
  if (hello.version != protocol_version) {
    out.code = result_code::protocol_mismatch;
    out.detail = "node " + hello.name + " speaks protocol version "
                 + std::to_string(hello.version) + ", this head speaks "
                 + std::to_string(protocol_version);
    return out;
  }
  if (!hello.node || hello.name.empty() || hello.slots == 0) {
    out.code = result_code::invalid_argument;
    out.detail = "a node needs a handle, a name and at least one slot";
    return out;
  }
  auto* n = find(hello.name);
  if (n != nullptr && n->status == node_status::ready) {
    out.code = result_code::invalid_argument;
    out.detail = "a node named " + hello.name + " is already registered";
    return out;
  }
  if (n == nullptr)
    n = &nodes_.emplace_back();
  n->name = std::move(hello.name);
  n->hdl = hello.node;
  // The supervisor gives a remote node a port of this process's own.
  n->port = port_actor{};
  n->slots = hello.slots;
  n->pipeline = hello.pipeline;
  n->running = 0;
  n->labels = std::move(hello.labels);
  n->status = node_status::ready;
  n->incarnation = hello.incarnation;
  n->owners = std::move(hello.owners);
  return out;
}

void node_table::lost(const caf::actor_addr& addr) {
  for (auto& n : nodes_)
    if (n.hdl.address() == addr)
      n.status = node_status::unreachable;
}

node_entry* node_table::find(const std::string& name) noexcept {
  for (auto& n : nodes_)
    if (n.name == name)
      return &n;
  return nullptr;
}

bool node_table::has_free_slot() const noexcept {
  for (const auto& n : nodes_)
    if (n.has_free_slot())
      return true;
  return false;
}

void node_table::occupy(node_entry& n, const attempt_key& key) {
  ++n.running;
  placed_[{key.job, key.task}] = placed_on{n.hdl.address(), n.incarnation};
}

bool node_table::from_placed(const attempt_key& key,
                             uint64_t incarnation) const {
  auto i = placed_.find({key.job, key.task});
  return i == placed_.end() || i->second.incarnation == incarnation;
}

void node_table::release(const attempt_ended& end) {
  auto i = placed_.find({end.key.job, end.key.task});
  if (i == placed_.end())
    return; // never placed here, or released already
  auto placed = i->second.addr;
  placed_.erase(i);
  auto* n = find(end.node);
  // A node of that name that joined since is another process: its slots
  // are its own attempts'.
  if (n == nullptr || n->hdl.address() != placed)
    return;
  if (n->running > 0)
    --n->running;
  if (end.outcome == attempt_outcome::lost)
    n->status = node_status::unreachable;
}

std::vector<node_record> node_table::records() const {
  std::vector<node_record> out;
  out.reserve(nodes_.size());
  for (const auto& n : nodes_)
    out.push_back(make_node_record(n));
  return out;
}

} // namespace quiesce
