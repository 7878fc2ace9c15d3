#pragma once

// The typed actor handles that travel inside messages: a run_task names its
// node (and the node's port on the head), a start_attempt its task actor, a
// start_batch that port, a node_hello the node itself and a subscribe its
// event sink. They live here, with forward declarations of the
// messages they receive, so that messages/ can carry them without including
// actors/; actors/interfaces.hpp declares every other interface.

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

namespace quiesce {

struct event;
struct event_batch;
struct run_task;
struct stop_tasks;
struct start_attempt;
struct signal_attempt;
struct attempt_progress;
struct attempt_output;
struct attempt_running;
struct attempt_ended;
struct attempt_timer;
struct node_reset;
struct node_hello;
struct start_batch;
struct end_batch;
struct batch_flush;

/// A subscriber of the event stream.
using event_sink_actor = caf::typed_actor<
    /// One status change.
    caf::reacts_to<event>,
    /// Several status changes of one step, in order.
    caf::reacts_to<event_batch>>;

/// A task actor: owns one attempt of one task at a time; talks to the node
/// that runs it, enforces the grace period and the time limit. Its
/// assessment keeps it after the attempt's end and gives it the next one.
using task_actor = caf::typed_actor<
    /// Starts the next attempt on this actor, once the last one ended.
    caf::reacts_to<run_task>,
    /// Stops this attempt (request, graceful or kill).
    caf::reacts_to<stop_tasks>,
    /// The node reports the attempt's end.
    caf::reacts_to<attempt_ended>,
    /// The node reports progress.
    caf::reacts_to<attempt_progress>,
    /// The node reports where the job's output files go.
    caf::reacts_to<attempt_output>,
    /// The node started a held attempt.
    caf::reacts_to<attempt_running>,
    /// The grace period or the time limit expired.
    caf::reacts_to<attempt_timer>>;

/// A node: owns slots and executors (threads for functions, processes for
/// commands); the local node and remote nodes speak this same interface.
using node_actor = caf::typed_actor<
    /// Starts an attempt; its progress and end go to `reply_to`.
    caf::reacts_to<start_attempt>,
    /// Sends a stop request or a kill to a running attempt.
    caf::reacts_to<signal_attempt>,
    /// One of its own executors reports an end (from an executor thread).
    caf::reacts_to<attempt_ended>,
    /// The bound after a kill expired: abandon what still runs.
    caf::reacts_to<attempt_timer>,
    /// The head went away (keep the attempts for the lease), came back, or
    /// the node stops (kill every attempt).
    caf::reacts_to<node_reset>,
    /// Fills in the hello's `incarnation` and `running` (the attempts kept
    /// from before the head was lost), for the worker to send to the head.
    caf::replies_to<node_hello>::with<node_hello>,
    /// Starts several attempts in order (from the head's port of this node);
    /// their ends go back to that port in batches.
    caf::reacts_to<start_batch>,
    /// Sends the ends collected so far (from itself).
    caf::reacts_to<batch_flush>>;

/// A node's port on the head (actors/port.hpp): one per remote node. Task
/// actors send it their starts and stops for that node; it sends the starts
/// on in batches, and hands each end of the node's batches to its task
/// actor as sent by the node. In process, task actors talk to the node
/// directly.
using port_actor = caf::typed_actor<
    /// Starts an attempt on the port's node.
    caf::reacts_to<start_attempt>,
    /// Signals an attempt on the port's node (after every start before it).
    caf::reacts_to<signal_attempt>,
    /// Ends of attempts started through this port (from its node only).
    caf::reacts_to<end_batch>,
    /// Sends the starts collected so far (from itself).
    caf::reacts_to<batch_flush>>;

} // namespace quiesce
