#pragma once

// Who is asking: the identity the head binds to each peer (a client or a
// node process) once the peer proved it, and the messages of that proof.
// docs/security.md describes the mechanisms.

#include "messages/result_code.hpp"

#include <caf/actor_addr.hpp>
#include <caf/actor_control_block.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/node_id.hpp>

#include <cstdint>
#include <string>

namespace quiesce {

/// What an identity may do.
enum class peer_role : uint8_t {
  /// Submits jobs; manages its own jobs only.
  user,
  /// Joins as a worker node; manages no job.
  node,
  /// Manages every job and may join as a node.
  admin,
};

/// Returns the name of `x`: "user", "node" or "admin".
std::string to_string(peer_role x);

/// Parses a role name; returns false if unknown.
bool from_name(const std::string& name, peer_role& x) noexcept;

/// An authenticated identity: a certificate's subject name, or the local
/// user name in the development mode.
struct identity {
  /// The name stored as a job's owner and in events' `who`.
  std::string name;
  /// What it may do.
  peer_role role = peer_role::user;
};

/// Inspects an identity.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, identity& x) {
  return f(caf::meta::type_name("quiesce.identity"), x.name, x.role);
}

/// Peer → supervisor: bind an identity to the sending process. Without TLS
/// the head finds the identity itself (the peer's uid over loopback); with
/// TLS the peer proves it: `certificate` (PEM, the one it presented in the
/// TLS handshake) and `signature`, made with that certificate's key over the
/// nonce of an `auth_challenge` (docs/security.md). `session` is an actor of
/// the peer that lives as long as its connection: the binding ends with it.
/// Reply: `authenticate_reply`.
struct authenticate {
  caf::strong_actor_ptr session;
  std::string certificate;
  std::string signature;
};

/// Inspects an authenticate.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, authenticate& x) {
  return f(caf::meta::type_name("quiesce.authenticate"), x.session,
           x.certificate, x.signature);
}

/// The reply to authenticate: `ok` and the identity bound, or
/// `permission_denied` and why. The reply to `auth_challenge` carries the
/// nonce to sign (empty when the head takes no proof: development mode).
struct authenticate_reply {
  result_code code = result_code::ok;
  std::string detail;
  identity who;
  std::string nonce;
};

/// Inspects an authenticate_reply.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, authenticate_reply& x) {
  return f(caf::meta::type_name("quiesce.authenticate_reply"), x.code, x.detail,
           x.who, x.nonce);
}

/// Supervisor → authenticator (in the head's process): who is the process
/// behind `peer`'s connection, given the proof it sent (with TLS)? Reply:
/// `authenticate_reply`.
struct verify_peer {
  caf::node_id peer;
  std::string certificate;
  std::string signature;
};

/// Inspects a verify_peer.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, verify_peer& x) {
  return f(caf::meta::type_name("quiesce.verify_peer"), x.peer, x.certificate,
           x.signature);
}

/// Peer → supervisor → authenticator: asks for a fresh nonce that the peer
/// signs to prove it holds its certificate's key. `peer` is set by the
/// supervisor (the sender's node); what a peer puts there is ignored. Reply:
/// `authenticate_reply` with `nonce`.
struct auth_challenge {
  caf::node_id peer;
};

/// Inspects an auth_challenge.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, auth_challenge& x) {
  return f(caf::meta::type_name("quiesce.auth_challenge"), x.peer);
}

} // namespace quiesce
