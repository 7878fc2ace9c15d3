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
  /// The assessment actor: spawned for the first assessment, then kept for
  /// every later one of this job and of later jobs (the supervisor keeps
  /// idle job actors), with its idle task actors.
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
        // A job of this (idle, reused) actor begins with its first
        // assessment.
        st.job = msg.job;
        // The next assessment begins only once the last one's attempts all
        // ended (finish-current-assessment), so the assessment actor holds
        // none: it takes the new one's attempts as they come.
        if (st.current)
          return;
        st.current = spawn_assessment(self->system(), st.job, msg.index,
                                      st.supervisor);
        // Linked: a job actor that goes down takes its assessment (and,
        // through it, the task actors) along.
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
        // assessment actor holds no attempt here. This actor waits, idle,
        // for the supervisor's next job (or its exit).
        self->state.job = invalid_id;
      },
  };
}

} // namespace

job_actor spawn_job(caf::actor_system& sys, job_id job,
                    supervisor_actor supervisor) {
  return sys.spawn(job_impl, job, std::move(supervisor));
}

} // namespace quiesce
