#include "actors/port.hpp"

#include "actors/ignored.hpp"

#include <caf/actor_system.hpp>
#include <caf/detail/serialized_size.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace quiesce {

namespace {

/// The state of a port.
struct port_state {
  /// The remote node (a proxy).
  node_actor node;
  /// Starts collected for the next batch, in the order they came.
  std::vector<start_attempt> starts;
  /// The estimated bytes of `starts` (start_bytes).
  size_t bytes = 0;
  /// A batch_flush is on its way to this port.
  bool flush_sent = false;
  /// The task actor of each attempt started through here whose end has not
  /// come back yet.
  std::unordered_map<attempt_key, task_actor, attempt_key_hash> owners;

  static inline const char* name = "quiesce.port";
};

using port_pointer = port_actor::stateful_pointer<port_state>;

// Whether the message at hand comes from an actor of the head's own process
// (a task actor). The port's handle travels to its node, so any peer can
// address it; a start or stop it forwarded for a peer would reach a node
// that no peer may talk to (docs/security.md, "The ports"). CAF takes the
// sender's node of a direct message from its connection, and the gate
// checks that a routed one names the connection's node.
bool from_head(port_pointer self, const char* what) {
  const auto& from = self->current_sender();
  if (from && from->node() == self->node())
    return true;
  log_ignored("the port of a node ignored " + std::string{what} + " from "
              + sender_name(from) + ", which is not an actor of the head");
  return false;
}

void flush(port_pointer self) {
  auto& st = self->state;
  if (st.starts.empty())
    return;
  start_batch batch;
  batch.port = self;
  batch.starts = std::move(st.starts);
  st.starts.clear();
  st.bytes = 0;
  self->send(st.node, std::move(batch));
}

port_actor::behavior_type port_impl(port_pointer self, supervisor_actor owner,
                                    node_actor node) {
  self->state.node = std::move(node);
  self->monitor(self->state.node);
  self->monitor(owner);
  // The node or the supervisor is gone: the task actors learn of a lost
  // node from their own monitors; what the port still holds goes nowhere.
  self->set_down_handler(
      [self](const caf::down_msg&) { self->quit(caf::exit_reason::normal); });
  return {
      [=](start_attempt& msg) {
        if (!from_head(self, "a start"))
          return;
        auto& st = self->state;
        auto bytes = start_bytes(self->system(), msg);
        // Not past the bound with it: the batch so far goes first.
        if (st.bytes + bytes > max_batch_bytes)
          flush(self);
        st.owners[msg.key] = msg.reply_to;
        st.starts.push_back(std::move(msg));
        st.bytes += bytes;
        // Alone in the mailbox: nothing would join the batch, send it now.
        // Else after what waits (starts of other task actors, most likely).
        if (st.starts.size() >= max_batch_items || st.bytes >= max_batch_bytes
            || self->mailbox().empty()) {
          flush(self);
        } else if (!st.flush_sent) {
          st.flush_sent = true;
          self->send(self, batch_flush{});
        }
      },
      [=](const signal_attempt& msg) {
        if (!from_head(self, "a stop"))
          return;
        // Messages from the port to the node arrive in order: the start
        // before it, if collected, goes first.
        flush(self);
        self->send(self->state.node, msg);
      },
      [=](batch_flush) {
        self->state.flush_sent = false;
        flush(self);
      },
      [=](end_batch& batch) {
        auto& st = self->state;
        if (caf::actor_cast<caf::actor_addr>(self->current_sender())
            != st.node.address()) {
          log_ignored("ignored a batch of " + std::to_string(batch.ends.size())
                      + " end reports from "
                      + sender_name(self->current_sender())
                      + ", which is not the port's node");
          return;
        }
        for (auto& end : batch.ends) {
          auto i = st.owners.find(end.key);
          // None is expected: the node sends each end once, to the port
          // of the attempt's last start.
          if (i == st.owners.end()) {
            log_ignored("ignored the end of " + attempt_name(end.key)
                        + " from node " + end.node
                        + ": not started through its port");
            continue;
          }
          // As the node: the task actor takes reports of its attempt only
          // from the node that runs it.
          caf::send_as(st.node, i->second, std::move(end));
          st.owners.erase(i);
        }
      },
  };
}

} // namespace

size_t start_bytes(caf::actor_system& sys, const start_attempt& msg) {
  return caf::detail::serialized_size(sys, msg.spec) + msg.owner.size() + 256;
}

port_actor spawn_port(caf::actor_system& sys, const supervisor_actor& owner,
                      node_actor node) {
  return sys.spawn(port_impl, owner, std::move(node));
}

} // namespace quiesce
