#pragma once

// The head's gate (internal; docs/security.md, "Hostile peers"): the
// doorman and scribes through which a head accepts connections, in place
// of CAF's own, with the bounds CAF 0.17 lacks. A total and a per-address
// cap on open connections (a new connection over a cap pushes out the
// oldest one that has not authenticated yet, or is closed at once); a
// deadline by which a connection must have authenticated (TLS, CAF's
// handshake and Quiesce's `authenticate`), or it is shut down; and a bound
// on the BASP payload a connection may announce, checked before CAF
// allocates it: small (and shared by all of them) until the peer has
// authenticated, `max_message_size` after. A connection over a bound is
// closed; the others do not notice. CAF's extension points only: a
// `middleman_actor_impl` whose `open` returns the gate's doorman, whose
// scribes override `configure_read` (the read BASP asks for next).

#include <caf/fwd.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

namespace quiesce {

/// What a gate allows (settings of the same names, config/settings.hpp).
struct gate_limits {
  uint32_t max_connections = 1024;
  uint32_t max_connections_per_address = 256;
  std::chrono::milliseconds handshake_timeout{5000};
  uint64_t max_message_size = uint64_t{64} << 20;
};

/// The largest BASP payload a connection may announce before its peer has
/// authenticated (a certificate of up to 64 KiB, its signature and CAF's
/// handshake fit with room to spare).
constexpr size_t unauthenticated_message_size = size_t{256} << 10;

/// What all unauthenticated connections of a gate together may hold in
/// payload buffers; past it, a connection asking for more is closed.
constexpr size_t unauthenticated_buffer_budget = size_t{8} << 20;

/// What a gate did so far.
struct gate_counts {
  uint64_t accepted = 0;
  /// Closed at once: over a cap with no unauthenticated connection to push
  /// out.
  uint64_t refused = 0;
  /// Pushed out by a newer connection over a cap.
  uint64_t evicted = 0;
  /// Shut down at the handshake deadline.
  uint64_t timed_out = 0;
  /// Closed for announcing a payload over their bound.
  uint64_t oversized = 0;
  /// Closed for a BASP frame that lies about its source: one naming a node
  /// other than the connection's own, asking the head to forward it to
  /// another node, or coming before the connection's handshake.
  uint64_t forged = 0;
  /// The peer and the frame of the last `forged` closing.
  std::string last_forged;
  size_t open = 0;
  size_t unauthenticated = 0;
};

/// Publishes `whom` (with its interface `sigs`) at `host`:`port` through the
/// gate of `sys` (made on first use, with TLS when `sys` has CAF's OpenSSL
/// module). Returns the port, or 0 with `error` set.
uint16_t gated_publish(caf::actor_system& sys,
                       const caf::strong_actor_ptr& whom,
                       std::set<std::string> sigs, const std::string& host,
                       uint16_t port, const gate_limits& limits,
                       std::string& error);

/// Marks the connection of `sys`'s gate whose remote end is `addr`:`port`
/// as authenticated: no deadline, messages up to `max_message_size`.
void gate_authenticated(caf::actor_system& sys, const std::string& addr,
                        uint16_t port);

/// Returns what the gate of `sys` counted (all zero without one).
gate_counts gate_statistics(caf::actor_system& sys);

/// Returns what the gates of this process counted, summed (a head has one).
gate_counts gate_statistics();

/// Stops the gate's middleman actor and deadline thread; the connections
/// stay with CAF's broker until the system stops. Idempotent.
void close_gate(caf::actor_system& sys);

} // namespace quiesce
