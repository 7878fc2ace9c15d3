#include "runtime/frames.hpp"

#include <caf/atom.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/io/basp/message_type.hpp>
#include <caf/none.hpp>
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

} // namespace

std::string basp_frames::check(const caf::node_id& head, const void* buf,
                               size_t n) {
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
      if (hdr_.operation == op::routed_message)
        return check_content(bd);
      return {};
    }
    case op::direct_message:
      return check_content(bd);
    default:
      return {};
  }
}

} // namespace quiesce
