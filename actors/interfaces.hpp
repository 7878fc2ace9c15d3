#pragma once

// Every typed actor interface of Quiesce: the interfaces mention each other's
// messages, and one header avoids include cycles. The three whose handles
// travel inside messages (event_sink_actor, task_actor, node_actor) are
// declared in messages/handles.hpp, which this header re-exports.
//
//  clients ──► supervisor ──► job ──► assessment ──► task ──► node
//              (rules, books)  per job  per running   per live local or
//                                       assessment    attempt  remote

#include "messages/handles.hpp"
#include "messages/type_ids.hpp"

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

namespace quiesce {

/// The supervisor: receives every request, checks it against the rules table,
/// is the only writer of the books, and orders every race.
using supervisor_actor = caf::typed_actor<
    // -- client requests: each gets a reply carrying a result code ------------
    /// Adds a job; replies with its id.
    caf::replies_to<add_job>::with<add_job_reply>,
    /// Adds (and submits) several jobs in order; replies with their ids.
    caf::replies_to<add_job_batch>::with<add_job_batch_reply>,
    /// Adds a task to a not-submitted job.
    caf::replies_to<add_task>::with<add_task_reply>,
    /// Queues a job.
    caf::replies_to<submit_job>::with<op_reply>,
    /// Cancels a job (finish-current-assessment).
    caf::replies_to<cancel_job>::with<op_reply>,
    /// Cancels the running assessment.
    caf::replies_to<cancel_assessment>::with<op_reply>,
    /// Kills a job's work; replies once it is confirmed dead.
    caf::replies_to<terminate_job>::with<op_reply>,
    /// Cancels one task.
    caf::replies_to<cancel_task>::with<task_op_reply>,
    /// Cancels several tasks, stopping at the first refusal.
    caf::replies_to<cancel_tasks>::with<cancel_tasks_reply>,
    /// Queues a failed or cancelled task again.
    caf::replies_to<requeue_task>::with<task_op_reply>,
    /// Queues a failed or cancelled job again.
    caf::replies_to<requeue_job>::with<op_reply>,
    /// Lists jobs.
    caf::replies_to<list_jobs>::with<job_list>,
    /// Lists a job's tasks.
    caf::replies_to<list_tasks>::with<task_list>,
    /// Returns a job's record.
    caf::replies_to<get_job_status>::with<job_status_reply>,
    /// Returns a task's record.
    caf::replies_to<get_task_status>::with<task_status_reply>,
    /// Replies when the job is terminal.
    caf::replies_to<wait_job>::with<job_status_reply>,
    /// Sends every later event to the given actor.
    caf::replies_to<subscribe>::with<op_reply>,
    /// Lists the nodes.
    caf::replies_to<list_nodes>::with<node_list>,
    /// Registers a node (checks its protocol version).
    caf::replies_to<node_hello>::with<node_list>,
    /// Binds the identity of the sending process (docs/security.md).
    caf::replies_to<authenticate>::with<authenticate_reply>,
    /// Returns a nonce for the sending process to sign (with TLS).
    caf::replies_to<auth_challenge>::with<authenticate_reply>,
    // -- reports from the execution tree
    // ---------------------------------------
    /// An attempt ended (from an assessment actor).
    caf::reacts_to<attempt_ended>,
    /// An attempt reported progress (from an assessment actor).
    caf::reacts_to<attempt_progress>,
    /// A node reported a job's output directory (from an assessment actor).
    caf::reacts_to<attempt_output>,
    /// A node started a held attempt (from an assessment actor).
    caf::reacts_to<attempt_running>,
    /// A terminate_job's bound expired (from itself).
    caf::reacts_to<terminate_deadline>,
    /// Attempts from before a head restart that no node reported are lost
    /// (from itself).
    caf::reacts_to<reconcile_deadline>>;

/// The head's authenticator: finds who is behind a peer's connection (the
/// mechanism lives in runtime/, the policy in the supervisor).
using authenticator_actor = caf::typed_actor<
    /// Returns the identity of the process behind `peer`'s connection.
    caf::replies_to<verify_peer>::with<authenticate_reply>,
    /// Returns a fresh nonce for `peer` to sign (empty without TLS).
    caf::replies_to<auth_challenge>::with<authenticate_reply>>;

/// A job actor: one per started job; owns the actor of its current
/// assessment and routes work and stop requests to it.
using job_actor = caf::typed_actor<
    /// Spawns the actor of the given assessment (retiring the previous one).
    caf::reacts_to<begin_assessment>,
    /// Starts an attempt in the current assessment.
    caf::reacts_to<run_task>,
    /// Stops attempts of the current assessment.
    caf::reacts_to<stop_tasks>,
    /// Quits: the job is over and none of its work is live.
    caf::reacts_to<end_job>>;

/// An assessment actor: one per running assessment; one task actor per live
/// attempt (kept for the next one), forwards their ends to the supervisor.
using assessment_actor = caf::typed_actor<
    /// Gives the attempt to an idle task actor, or spawns one.
    caf::reacts_to<run_task>,
    /// Forwards stop requests to the task actors concerned.
    caf::reacts_to<stop_tasks>,
    /// A task actor's attempt ended.
    caf::reacts_to<attempt_ended>,
    /// A task actor's attempt reported progress.
    caf::reacts_to<attempt_progress>,
    /// A task actor's node reported the job's output directory.
    caf::reacts_to<attempt_output>,
    /// A task actor's node started its held attempt.
    caf::reacts_to<attempt_running>>;

} // namespace quiesce
