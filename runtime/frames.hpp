#pragma once

// The gate's check of the BASP frames a peer sends to the head: every frame
// must come from the node of the connection it arrives over and be meant
// for the head. Internal to the runtime (used by gate.cpp, and tests).

#include <caf/fwd.hpp>
#include <caf/io/basp/header.hpp>
#include <caf/node_id.hpp>

#include <cstddef>
#include <string>

namespace quiesce {

/// Follows the BASP frames a peer sends over one connection the head
/// accepted, and refuses a frame that lies about where it comes from.
///
/// CAF 0.17.6's BASP takes the source node of a `routed_message`,
/// `monitor_message` or `down_message` from the frame's payload unchecked
/// (`basp::instance::handle`, `remote_message_handler`): a peer could send a
/// request as another connected peer, or as the head itself, and get its
/// identity, or make the head drop its proxies of another peer's actors. It
/// also forwards a frame naming another destination, so a peer could reach
/// a worker's node actor through the head. Quiesce's topology is a star:
/// each client and node talks to the head over its own connection, and the
/// head forwards nothing. So on a connection the head accepted, every frame
/// after the peer's `client_handshake` must name that handshake's node as
/// its source and the head as its destination. A `direct_message` and a
/// `heartbeat` name neither: CAF takes the connection's node.
///
/// BASP reads exactly one header, then exactly the payload the header
/// announced: each chunk `check` sees is one or the other.
class basp_frames {
public:
  /// Returns an empty string when the chunk `buf`, `n` bytes, may go on to
  /// the BASP broker of the head whose node is `head`, else why not. Chunks
  /// CAF itself cannot read pass: CAF refuses them.
  ///
  /// With `sys`, the content of every message frame is also deserialized
  /// as CAF will (its types known to `sys`, each value whole), without
  /// touching CAF's proxies: a message that does not deserialize is refused
  /// (CAF's BASP would drop it silently and keep the connection).
  std::string check(const caf::node_id& head, const void* buf, size_t n,
                    caf::actor_system* sys = nullptr);

  /// The node the peer's handshake named (none before it).
  const caf::node_id& peer() const {
    return peer_;
  }

private:
  bool in_payload_ = false;
  caf::io::basp::header hdr_;
  caf::node_id peer_;
};

} // namespace quiesce
