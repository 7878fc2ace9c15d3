#pragma once

// Reaching a head's supervisor over CAF's middleman (internal: the client's
// `connect`, the worker and the network tests use it).

#include "actors/interfaces.hpp"
#include "runtime/remote.hpp"

#include <caf/actor_system.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <chrono>
#include <string>

namespace quiesce {

/// Connects to the supervisor published at `where`, waiting at most
/// `timeout` for CAF's handshake (CAF's own `remote_actor` waits for ever
/// when a peer accepts the connection and then stays silent). Fails with
/// CAF's errors: `cannot_connect_to_node` (nothing listens),
/// `incompatible_application_ids` (not a Quiesce program),
/// `unexpected_actor_messaging_interface` (another protocol),
/// `disconnect_during_handshake`, `request_timeout` (no handshake), ...
caf::expected<supervisor_actor> connect_head(caf::actor_system& sys,
                                             const endpoint& where,
                                             std::chrono::milliseconds timeout);

/// Returns a readable explanation of a connection error to `where`.
std::string explain_connect_error(const caf::error& err, const endpoint& where);

/// Returns the result code a connection error stands for: `unavailable`
/// when nothing answered at `where` (worth retrying), `protocol_mismatch`
/// when something answered that is not a Quiesce head of this protocol.
result_code classify_connect_error(const caf::error& err);

} // namespace quiesce
