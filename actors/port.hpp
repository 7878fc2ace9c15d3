#pragma once

// A remote node's port on the head: the one actor through which the head's
// task actors reach that node, so that starts and ends cross the wire in
// batches (docs/distributed.md, "Batches") while each attempt keeps its own
// task actor.

#include "actors/interfaces.hpp"

#include <caf/fwd.hpp>

#include <cstddef>

namespace quiesce {

/// Estimates the bytes of `msg` in a start_batch (max_batch_bytes): its
/// task's spec as CAF serializes it, its owner, and a bound on the rest.
size_t start_bytes(caf::actor_system& sys, const start_attempt& msg);

/// Spawns the port of remote node `node` for `owner` (the supervisor): it
/// quits once either is down.
///
/// - `start_attempt` and `signal_attempt`: only from actors of this
///   process (else ignored, and said on stderr).
/// - `start_attempt`: collected; sent on as one `start_batch` once the
///   port's mailbox holds no more, or `max_batch_items` or
///   `max_batch_bytes` are collected (a start that would take the batch
///   past `max_batch_bytes` goes in the next one).
/// - `signal_attempt`: sent on after the starts collected before it, so that
///   a stop never overtakes the start of its attempt.
/// - `end_batch`: only from `node` (else ignored, and said on stderr); each
///   end goes to the task actor whose start came through here, sent as
///   `node`, so that the task actor's check of who reports holds as if the
///   node had sent it.
port_actor spawn_port(caf::actor_system& sys, const supervisor_actor& owner,
                      node_actor node);

} // namespace quiesce
