#pragma once

// Node membership as the supervisor sees it: who joined, who is reachable,
// how many slots each has free and which node each live attempt was placed
// on. Plain data and functions, no CAF scheduling.

#include "messages/commands.hpp"
#include "messages/handles.hpp"
#include "messages/internal.hpp"

#include <caf/actor_addr.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace quiesce {

/// A node as the supervisor sees it.
struct node_entry {
  std::string name;
  node_actor hdl;
  /// Its port on the head (actors/port.hpp) when it is remote; null in
  /// process.
  port_actor port;
  uint32_t slots = 0;
  /// Attempts it holds beyond its slots (`node_hello::pipeline`).
  uint32_t pipeline = 0;
  /// Attempts placed on it and not yet reported ended, held ones included.
  uint32_t running = 0;
  std::vector<std::string> labels;
  node_status status = node_status::ready;
  /// The incarnation of the node process that joined last under this name.
  uint64_t incarnation = 0;
  /// Stale reports (an old attempt or incarnation) ignored from this node.
  uint64_t stale_reports = 0;
  /// Whose tasks it runs (from its hello).
  owner_policy owners;

  /// Returns true if the node is ready and has a free slot, or room to
  /// hold one more attempt.
  bool has_free_slot() const noexcept {
    return status == node_status::ready && running < slots + pipeline;
  }

  /// Returns true if an attempt placed now waits on the node (held): every
  /// slot is taken by an attempt placed before.
  bool holds_next() const noexcept {
    return running >= slots;
  }
};

/// Returns the record of `n` that list_nodes and node_hello reply with.
node_record make_node_record(const node_entry& n);

/// The nodes that joined, in the order they first joined.
class node_table {
public:
  /// Registers the node of `hello`, or refuses it: `protocol_mismatch` for
  /// another protocol version; `invalid_argument` without a handle, a name
  /// or a slot, or when a ready node has that name (a node that was lost may
  /// join again under its name). Returns the code and detail only.
  node_list join(node_hello& hello);

  /// Marks the node with address `addr` unreachable (its down message).
  void lost(const caf::actor_addr& addr);

  /// Returns false if attempt `key` was placed on a node process of another
  /// incarnation than `incarnation` (a stale report); true otherwise,
  /// including when the attempt is not placed (anymore).
  bool from_placed(const attempt_key& key, uint64_t incarnation) const;

  /// Returns the node named `name`, or nullptr.
  node_entry* find(const std::string& name) noexcept;

  /// Returns true if some ready node has a free slot.
  bool has_free_slot() const noexcept;

  /// Takes a slot of `n` for the attempt `key`.
  void occupy(node_entry& n, const attempt_key& key);

  /// Frees the slot of the attempt that `end` reports, on the node process
  /// it was placed on: the end of an attempt of an earlier process of that
  /// name frees no slot of the process that joined since. An attempt lost
  /// with the node it was placed on marks that node unreachable at once: its
  /// own down message may come only after several such reports.
  void release(const attempt_ended& end);

  /// Returns the record of every node.
  std::vector<node_record> records() const;

  /// Returns every node, for placement.
  std::vector<node_entry>& entries() noexcept {
    return nodes_;
  }

private:
  std::vector<node_entry> nodes_;
  /// Where a live attempt was placed: the node actor and its incarnation.
  struct placed_on {
    caf::actor_addr addr;
    uint64_t incarnation = 0;
  };
  /// The node each live attempt was placed on, by job and task.
  std::map<std::pair<job_id, task_id>, placed_on> placed_;
};

} // namespace quiesce
