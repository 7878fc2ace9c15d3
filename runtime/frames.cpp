#include "runtime/frames.hpp"

#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/execution_unit.hpp>
#include <caf/forwarding_actor_proxy.hpp>
#include <caf/io/basp/message_type.hpp>
#include <caf/make_actor.hpp>
#include <caf/message.hpp>
#include <caf/none.hpp>
#include <caf/proxy_registry.hpp>
#include <caf/type_id.hpp>

#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace quiesce {

namespace {

/// The message types CAF treats as system messages when one arrives alone
/// (`scheduled_actor::categorize`), by their names on the wire: an
/// `exit_msg` with `exit_reason::kill` ends any actor, a `down_msg` or an
/// `exit_msg` looks like the end of a monitored or linked actor. CAF makes
/// them locally from BASP's own `down_message` frames; a peer never needs to
/// send one as a message's content.
constexpr std::string_view system_messages[] = {
    "@<>+@exit",
    "@<>+@down",
    "@<>+@group_down",
    "@<>+@timeout",
    "@<>+@open_stream_msg",
    "@<>+@upstream_msg",
    "@<>+@downstream_msg",
};

/// Returns why the content of a message frame (what follows its nodes, for
/// a routed one) may not reach the head's actors, or an empty string.
std::string check_content(caf::binary_deserializer& bd) {
  // The forwarding stack: strong actor pointers, each its actor id and node
  // (as CAF's `inspect` of `strong_actor_ptr` writes them), read without
  // making proxies.
  std::vector<std::pair<caf::actor_id, caf::node_id>> stages;
  uint16_t type_nr = 0;
  std::string types;
  if (bd(stages) || bd.begin_object(type_nr, types))
    return {};
  for (auto name : system_messages)
    if (types == name)
      return "a system message (" + types.substr(4)
             + ") as a message's content";
  // A group handle makes CAF look the group up while deserializing (a
  // remote group: connecting to its node), and the gate deserializes on the
  // multiplexer's thread; a nested message could hold one. Quiesce's
  // protocol has neither.
  for (std::string_view name : {"+@group", "+@message"}) {
    auto at = types.find(name);
    if (at != std::string::npos
        && (at + name.size() == types.size() || types[at + name.size()] == '+'))
      return "a message holding a " + std::string{name.substr(2)}
             + " (Quiesce sends none)";
  }
  // CAF's BASP links an actor of the head to a proxy when a message is
  // (link_atom, strong_actor_ptr), before any actor of ours sees it; the
  // peer's actor ending would then end the head's.
  if (types == "@<>+@atom+@strong_actor_ptr") {
    caf::atom_value what{};
    if (bd(what))
      return {};
    if (what == caf::link_atom::value || what == caf::unlink_atom::value)
      return "a link request from a peer";
  }
  return {};
}

/// Makes stand-ins for the remote actors a message names, so that it can be
/// deserialized without CAF's proxies: proxies that forward nowhere.
class stand_ins : public caf::proxy_registry::backend {
public:
  explicit stand_ins(caf::actor_system& sys) : sys_(sys) {
    // nop
  }

  caf::strong_actor_ptr make_proxy(caf::node_id nid,
                                   caf::actor_id aid) override {
    caf::actor_config cfg;
    return caf::make_actor<caf::forwarding_actor_proxy, caf::strong_actor_ptr>(
        aid, std::move(nid), &sys_, cfg, caf::actor{});
  }

  void set_last_hop(caf::node_id*) override {
    // nop
  }

private:
  caf::actor_system& sys_;
};

/// The context of a trial deserialization: the system's types and actor
/// registry, and stand-ins for remote actors, dropped after each message.
class trial_unit : public caf::execution_unit {
public:
  explicit trial_unit(caf::actor_system& sys)
      : caf::execution_unit(&sys), backend_(sys), proxies_(sys, backend_) {
    proxy_registry_ptr(&proxies_);
  }

  ~trial_unit() override {
    proxies_.clear();
  }

  void exec_later(caf::resumable*) override {
    // Never called: deserializing runs nothing.
  }

private:
  stand_ins backend_;
  caf::proxy_registry proxies_;
};

/// Returns why the content of a message frame does not deserialize as CAF
/// will deserialize it, or an empty string. `routed` frames start with
/// their two nodes.
std::string deserialize_content(caf::actor_system& sys, const char* bytes,
                                size_t n, bool routed) {
  trial_unit unit{sys};
  caf::binary_deserializer bd{&unit, bytes, n};
  caf::node_id source;
  caf::node_id dest;
  if (routed)
    if (auto err = bd(source, dest))
      return "a message that does not deserialize: " + sys.render(err);
  std::vector<caf::strong_actor_ptr> stages;
  caf::message content;
  if (auto err = bd(stages, content))
    return "a message that does not deserialize: " + sys.render(err);
  // CAF 0.17.6 reads a value cut short, or one of a type it does not know,
  // as an empty message without an error (and BASP delivers that); the
  // bytes it did not read give it away. CAF's own peers never leave any.
  if (auto left = bd.remaining(); left > 0)
    return "a message that does not deserialize: " + std::to_string(left)
           + " of its " + std::to_string(n) + " bytes are left over";
  return {};
}

} // namespace

std::string basp_frames::check(const caf::node_id& head, const void* buf,
                               size_t n, caf::actor_system* sys) {
  namespace basp = caf::io::basp;
  using op = basp::message_type;
  const auto* bytes = static_cast<const char*>(buf);
  caf::binary_deserializer bd{static_cast<caf::execution_unit*>(nullptr), bytes,
                              n};
  if (!in_payload_) {
    // Anything but a header (a refused connection's one-byte reads) and
    // headers CAF cannot read are CAF's to refuse.
    if (n != basp::header_size || bd(hdr_))
      return {};
    if (hdr_.operation == op::server_handshake)
      return "a server handshake from a peer that connected to the head";
    if (hdr_.operation != op::client_handshake && peer_ == caf::none)
      return "a frame before the peer's handshake";
    in_payload_ = hdr_.payload_len > 0;
    return {};
  }
  in_payload_ = false;
  switch (hdr_.operation) {
    case op::client_handshake: {
      caf::node_id source;
      if (bd(source))
        return {};
      if (peer_ != caf::none && source != peer_)
        return "a second handshake naming node " + to_string(source)
               + " on the connection of node " + to_string(peer_);
      peer_ = std::move(source);
      return {};
    }
    case op::routed_message:
    case op::monitor_message:
    case op::down_message: {
      caf::node_id source;
      caf::node_id dest;
      if (bd(source, dest))
        return {};
      if (source != peer_)
        return "a frame naming node " + to_string(source)
               + " as its source on the connection of node " + to_string(peer_);
      if (dest != head)
        return "a frame to forward to node " + to_string(dest)
               + " (the head forwards nothing)";
      if (hdr_.operation != op::routed_message)
        return {};
      [[fallthrough]];
    }
    case op::direct_message: {
      auto routed = hdr_.operation == op::routed_message;
      if (auto why = check_content(bd); !why.empty())
        return why;
      if (sys != nullptr)
        return deserialize_content(*sys, bytes, n, routed);
      return {};
    }
    default:
      return {};
  }
}

} // namespace quiesce
