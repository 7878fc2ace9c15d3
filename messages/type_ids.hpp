#pragma once

// Type IDs of every message type Quiesce sends. The block does nothing until
// `quiesce::add_message_types(cfg)` loads it; the CLI, tests and benchmarks all
// go through that one function.

#include "messages/auth.hpp"
#include "messages/commands.hpp"
#include "messages/events.hpp"
#include "messages/handles.hpp"
#include "messages/internal.hpp"
#include "messages/records.hpp"
#include "messages/spec.hpp"

#include <caf/type_id.hpp>

namespace caf {
class actor_system_config;
} // namespace caf

CAF_BEGIN_TYPE_ID_BLOCK(quiesce, caf::first_custom_type_id + 200)

// specs and records
CAF_ADD_TYPE_ID(quiesce, (quiesce::command_spec))
CAF_ADD_TYPE_ID(quiesce, (quiesce::task_spec))
CAF_ADD_TYPE_ID(quiesce, (quiesce::assessment_spec))
CAF_ADD_TYPE_ID(quiesce, (quiesce::job_policy))
CAF_ADD_TYPE_ID(quiesce, (quiesce::job_spec))
CAF_ADD_TYPE_ID(quiesce, (quiesce::task_record))
CAF_ADD_TYPE_ID(quiesce, (quiesce::assessment_record))
CAF_ADD_TYPE_ID(quiesce, (quiesce::job_record))

// client requests
CAF_ADD_TYPE_ID(quiesce, (quiesce::add_job))
CAF_ADD_TYPE_ID(quiesce, (quiesce::add_job_batch))
CAF_ADD_TYPE_ID(quiesce, (quiesce::add_task))
CAF_ADD_TYPE_ID(quiesce, (quiesce::submit_job))
CAF_ADD_TYPE_ID(quiesce, (quiesce::cancel_job))
CAF_ADD_TYPE_ID(quiesce, (quiesce::cancel_assessment))
CAF_ADD_TYPE_ID(quiesce, (quiesce::terminate_job))
CAF_ADD_TYPE_ID(quiesce, (quiesce::cancel_task))
CAF_ADD_TYPE_ID(quiesce, (quiesce::cancel_tasks))
CAF_ADD_TYPE_ID(quiesce, (quiesce::requeue_task))
CAF_ADD_TYPE_ID(quiesce, (quiesce::requeue_job))
CAF_ADD_TYPE_ID(quiesce, (quiesce::list_jobs))
CAF_ADD_TYPE_ID(quiesce, (quiesce::list_tasks))
CAF_ADD_TYPE_ID(quiesce, (quiesce::get_job_status))
CAF_ADD_TYPE_ID(quiesce, (quiesce::get_task_status))
CAF_ADD_TYPE_ID(quiesce, (quiesce::wait_job))
CAF_ADD_TYPE_ID(quiesce, (quiesce::subscribe))
CAF_ADD_TYPE_ID(quiesce, (quiesce::list_nodes))

// replies
CAF_ADD_TYPE_ID(quiesce, (quiesce::op_reply))
CAF_ADD_TYPE_ID(quiesce, (quiesce::add_job_reply))
CAF_ADD_TYPE_ID(quiesce, (quiesce::add_job_batch_reply))
CAF_ADD_TYPE_ID(quiesce, (quiesce::add_task_reply))
CAF_ADD_TYPE_ID(quiesce, (quiesce::task_op_reply))
CAF_ADD_TYPE_ID(quiesce, (quiesce::cancel_tasks_reply))
CAF_ADD_TYPE_ID(quiesce, (quiesce::job_list))
CAF_ADD_TYPE_ID(quiesce, (quiesce::task_list))
CAF_ADD_TYPE_ID(quiesce, (quiesce::job_status_reply))
CAF_ADD_TYPE_ID(quiesce, (quiesce::task_status_reply))
CAF_ADD_TYPE_ID(quiesce, (quiesce::node_list))

// events
CAF_ADD_TYPE_ID(quiesce, (quiesce::event))

// internal protocol
CAF_ADD_TYPE_ID(quiesce, (quiesce::attempt_key))
CAF_ADD_TYPE_ID(quiesce, (quiesce::run_task))
CAF_ADD_TYPE_ID(quiesce, (quiesce::begin_assessment))
CAF_ADD_TYPE_ID(quiesce, (quiesce::end_job))
CAF_ADD_TYPE_ID(quiesce, (quiesce::stop_tasks))
CAF_ADD_TYPE_ID(quiesce, (quiesce::start_attempt))
CAF_ADD_TYPE_ID(quiesce, (quiesce::signal_attempt))
CAF_ADD_TYPE_ID(quiesce, (quiesce::attempt_progress))
CAF_ADD_TYPE_ID(quiesce, (quiesce::attempt_ended))
CAF_ADD_TYPE_ID(quiesce, (quiesce::node_hello))
CAF_ADD_TYPE_ID(quiesce, (quiesce::node_record))
CAF_ADD_TYPE_ID(quiesce, (quiesce::terminate_deadline))
CAF_ADD_TYPE_ID(quiesce, (quiesce::attempt_timer))
CAF_ADD_TYPE_ID(quiesce, (quiesce::node_reset))
CAF_ADD_TYPE_ID(quiesce, (quiesce::reconcile_deadline))

// typed handles carried inside messages
CAF_ADD_TYPE_ID(quiesce, (quiesce::event_sink_actor))
CAF_ADD_TYPE_ID(quiesce, (quiesce::task_actor))
CAF_ADD_TYPE_ID(quiesce, (quiesce::node_actor))

// identity (appended: earlier ids keep their numbers)
CAF_ADD_TYPE_ID(quiesce, (quiesce::authenticate))
CAF_ADD_TYPE_ID(quiesce, (quiesce::authenticate_reply))
CAF_ADD_TYPE_ID(quiesce, (quiesce::verify_peer))
CAF_ADD_TYPE_ID(quiesce, (quiesce::auth_challenge))

// output paths (appended, as above)
CAF_ADD_TYPE_ID(quiesce, (quiesce::output_dir))
CAF_ADD_TYPE_ID(quiesce, (quiesce::attempt_output))

// pipelining (appended, as above)
CAF_ADD_TYPE_ID(quiesce, (quiesce::attempt_running))
CAF_ADD_TYPE_ID(quiesce, (quiesce::event_batch))

// batches on the wire (appended, as above)
CAF_ADD_TYPE_ID(quiesce, (quiesce::start_batch))
CAF_ADD_TYPE_ID(quiesce, (quiesce::end_batch))
CAF_ADD_TYPE_ID(quiesce, (quiesce::batch_flush))
CAF_ADD_TYPE_ID(quiesce, (quiesce::port_actor))

CAF_END_TYPE_ID_BLOCK(quiesce)

namespace quiesce {

/// Loads Quiesce's type-ID block (and the io module's types) into `cfg`.
/// Call exactly once per configuration, before creating the actor system.
void add_message_types(caf::actor_system_config& cfg);

} // namespace quiesce
