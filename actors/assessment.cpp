#include "actors/assessment.hpp"

#include "actors/task.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <unordered_map>
#include <vector>

namespace quiesce {

namespace {

/// The state of an assessment actor.
struct assessment_state {
  job_id job = invalid_id;
  assessment_index index = 0;
  supervisor_actor supervisor;
  /// One live attempt: its number, the incarnation of its node, its actor.
  struct live_attempt {
    uint32_t attempt = 0;
    uint64_t incarnation = 0;
    task_actor hdl;
  };
  /// The live attempts, by task id.
  std::unordered_map<task_id, live_attempt> tasks;
  /// Task actors whose attempt ended, kept for the next attempts: as many
  /// as ever ran at once here (at most the slots), all linked to this actor.
  std::vector<task_actor> idle;

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
        auto& st = self->state;
        auto id = msg.key.task;
        auto attempt = msg.key.attempt;
        auto incarnation = msg.incarnation;
        task_actor hdl;
        if (!st.idle.empty()) {
          hdl = std::move(st.idle.back());
          st.idle.pop_back();
          self->send(hdl, std::move(msg));
        } else {
          hdl = spawn_task(self->system(), std::move(msg), self);
          self->link_to(hdl);
        }
        st.tasks[id] = {attempt, incarnation, std::move(hdl)};
      },
      [=](const stop_tasks& req) {
        for (auto id : req.tasks) {
          auto i = self->state.tasks.find(id);
          if (i != self->state.tasks.end())
            self->send(i->second.hdl, stop_tasks{req.job, {id}, req.mode});
        }
      },
      [=](attempt_ended& end) {
        auto i = self->state.tasks.find(end.key.task);
        // A stale report (another attempt or incarnation) leaves the live
        // attempt's actor in place; the supervisor ignores it.
        // The actor of an ended attempt waits for the next one.
        if (i != self->state.tasks.end() && i->second.attempt == end.key.attempt
            && i->second.incarnation == end.incarnation) {
          self->state.idle.push_back(std::move(i->second.hdl));
          self->state.tasks.erase(i);
        }
        self->send(self->state.supervisor, std::move(end));
      },
      [=](attempt_progress& p) {
        self->send(self->state.supervisor, std::move(p));
      },
      [=](attempt_output& o) {
        self->send(self->state.supervisor, std::move(o));
      },
      [=](attempt_running& r) {
        self->send(self->state.supervisor, std::move(r));
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
