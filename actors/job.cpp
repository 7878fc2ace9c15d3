#include "actors/job.hpp"

#include "actors/assessment.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace quiesce {

namespace {

/// The state of a job actor.
struct job_state {
  job_id job = invalid_id;
  supervisor_actor supervisor;
  /// The actor of the current assessment (or of the last one, until the
  /// next begins: it may still hold attempts being killed).
  assessment_actor current;

  static inline const char* name = "quiesce.job";
};

using job_pointer = job_actor::stateful_pointer<job_state>;

job_actor::behavior_type job_impl(job_pointer self, job_id job,
                                  supervisor_actor supervisor) {
  self->state.job = job;
  self->state.supervisor = std::move(supervisor);
  return {
      [=](const begin_assessment& msg) {
        auto& st = self->state;
        if (st.current)
          self->send_exit(st.current, caf::exit_reason::user_shutdown);
        st.current = spawn_assessment(self->system(), st.job, msg.index,
                                      st.supervisor);
        // Linked: a job actor that goes down abnormally takes its assessment
        // (and, through it, the task actors) along.
        self->link_to(st.current);
      },
      [=](run_task& msg) {
        if (self->state.current) {
          self->send(self->state.current, std::move(msg));
          return;
        }
        // Never expected: the supervisor begins an assessment before it
        // dispatches into it. Report rather than lose the attempt.
        attempt_ended end;
        end.key = msg.key;
        end.outcome = attempt_outcome::not_started;
        end.code = result_code::internal_error;
        end.message = "no assessment actor for the attempt";
        end.node = msg.node_name;
        self->send(self->state.supervisor, std::move(end));
      },
      [=](stop_tasks& msg) {
        if (self->state.current)
          self->send(self->state.current, std::move(msg));
      },
      [=](const end_job&) {
        // The supervisor ends a job only when none of its work is live, so the
        // assessment actor holds no attempt here.
        if (self->state.current)
          self->send_exit(self->state.current, caf::exit_reason::user_shutdown);
        self->quit();
      },
  };
}

} // namespace

job_actor spawn_job(caf::actor_system& sys, job_id job,
                    supervisor_actor supervisor) {
  return sys.spawn(job_impl, job, std::move(supervisor));
}

} // namespace quiesce
