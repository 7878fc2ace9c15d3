#include "actors/assessment.hpp"

#include "actors/task.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <unordered_map>

namespace quiesce {

namespace {

/// The state of an assessment actor.
struct assessment_state {
  job_id job = invalid_id;
  assessment_index index = 0;
  supervisor_actor supervisor;
  /// The live attempts, by task id.
  std::unordered_map<task_id, std::pair<uint32_t, task_actor>> tasks;

  static inline const char* name = "quiesce.assessment";
};

using assessment_pointer = assessment_actor::stateful_pointer<assessment_state>;

assessment_actor::behavior_type assessment_impl(assessment_pointer self,
                                                job_id job,
                                                assessment_index index,
                                                supervisor_actor supervisor) {
  self->state.job = job;
  self->state.index = index;
  self->state.supervisor = std::move(supervisor);
  return {
      [=](run_task& msg) {
        auto id = msg.key.task;
        auto attempt = msg.key.attempt;
        auto hdl = spawn_task(self->system(), std::move(msg), self);
        self->link_to(hdl);
        self->state.tasks[id] = {attempt, std::move(hdl)};
      },
      [=](const stop_tasks& req) {
        for (auto id : req.tasks) {
          auto i = self->state.tasks.find(id);
          if (i != self->state.tasks.end())
            self->send(i->second.second, stop_tasks{req.job, {id}, req.mode});
        }
      },
      [=](attempt_ended& end) {
        auto i = self->state.tasks.find(end.key.task);
        if (i != self->state.tasks.end() && i->second.first == end.key.attempt)
          self->state.tasks.erase(i);
        self->send(self->state.supervisor, std::move(end));
      },
      [=](attempt_progress& p) {
        self->send(self->state.supervisor, std::move(p));
      },
  };
}

} // namespace

assessment_actor spawn_assessment(caf::actor_system& sys, job_id job,
                                  assessment_index index,
                                  supervisor_actor supervisor) {
  return sys.spawn(assessment_impl, job, index, std::move(supervisor));
}

} // namespace quiesce
