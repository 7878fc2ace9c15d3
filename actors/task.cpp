#include "actors/task.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace quiesce {

namespace {

/// The state of a task actor.
struct task_state {
  /// The attempt this actor owns.
  run_task run;
  /// Where ends and progress go.
  assessment_actor parent;
  /// The node that runs the work.
  node_actor node;
  /// The time limit expired; the end becomes `timed_out`.
  bool timed_out = false;
  /// The grace timer is armed (a kill follows).
  bool grace_armed = false;
  /// A kill was sent.
  bool killed = false;
  /// The end was reported; later messages are ignored.
  bool ended = false;

  static inline const char* name = "quiesce.task";
};

using task_pointer = task_actor::stateful_pointer<task_state>;

void send_kill(task_pointer self) {
  auto& st = self->state;
  if (st.killed)
    return;
  st.killed = true;
  self->send(st.node, signal_attempt{st.run.key, stop_mode::kill});
}

void stop(task_pointer self, stop_mode mode) {
  auto& st = self->state;
  if (st.ended)
    return;
  switch (mode) {
    case stop_mode::request:
      // cancel_job lets the work run to completion: functions always see
      // the request, commands only when the job asks for it. A command that
      // is sent its stop signal gets the same grace and kill as any other
      // stop: one that ignores the signal would otherwise hold its job in
      // `cancelling` for ever.
      if (st.run.spec.kind == work_kind::function)
        self->send(st.node, signal_attempt{st.run.key, stop_mode::request});
      else if (st.run.stop_commands_on_cancel)
        stop(self, stop_mode::graceful);
      break;
    case stop_mode::graceful:
      if (st.run.grace.count() <= 0) {
        send_kill(self);
        break;
      }
      self->send(st.node, signal_attempt{st.run.key, stop_mode::request});
      if (!st.grace_armed) {
        st.grace_armed = true;
        self->delayed_send(self, st.run.grace,
                           attempt_timer{st.run.key, false});
      }
      break;
    case stop_mode::kill:
      send_kill(self);
      break;
  }
}

void finish(task_pointer self, attempt_ended end) {
  auto& st = self->state;
  if (st.ended)
    return;
  st.ended = true;
  // Once the limit expired, the attempt is a timeout however it ends, even
  // when the work answers the stop signal with success (exit code 0).
  if (st.timed_out && end.outcome != attempt_outcome::lost
      && end.outcome != attempt_outcome::not_started) {
    end.outcome = attempt_outcome::timed_out;
    end.code = result_code::timeout;
    end.message = end.message.empty() ? std::string{"time limit exceeded"}
                                      : "time limit exceeded; " + end.message;
  }
  if (end.node.empty())
    end.node = st.run.node_name;
  // Undo the monitor and the link by hand before quitting: CAF 0.17 leaves a
  // dead observer's monitor attached to the node (one per attempt, for the
  // node's lifetime), and a link would cost the assessment an exit message
  // per attempt.
  self->demonitor(st.node.address());
  self->unlink_from(st.parent);
  self->send(st.parent, std::move(end));
  self->quit();
}

task_actor::behavior_type task_impl(task_pointer self, run_task msg,
                                    assessment_actor parent) {
  auto& st = self->state;
  st.node = msg.node;
  st.parent = std::move(parent);
  st.run = std::move(msg);
  self->monitor(st.node);
  self->set_down_handler([self](const caf::down_msg& dm) {
    if (dm.source != self->state.node.address())
      return;
    attempt_ended end;
    end.key = self->state.run.key;
    end.outcome = attempt_outcome::lost;
    end.code = result_code::node_lost;
    end.message = "node " + self->state.run.node_name + " was lost";
    end.confirmed_dead = false;
    end.ended = caf::make_timestamp();
    end.incarnation = self->state.run.incarnation;
    finish(self, std::move(end));
  });
  self->send(st.node, start_attempt{st.run.key, st.run.spec, self, st.run.adopt,
                                    st.run.owner});
  if (st.run.spec.time_limit.count() > 0)
    self->delayed_send(self, st.run.spec.time_limit,
                       attempt_timer{st.run.key, true});
  return {
      [=](const stop_tasks& req) { stop(self, req.mode); },
      [=](attempt_ended& end) {
        // A report of another attempt, or from another incarnation of the
        // node, is stale: it does not end this attempt. The supervisor
        // counts and ignores it.
        if (!(end.key == self->state.run.key)
            || end.incarnation != self->state.run.incarnation) {
          self->send(self->state.parent, std::move(end));
          return;
        }
        finish(self, std::move(end));
      },
      [=](attempt_progress& p) {
        if (!self->state.ended)
          self->send(self->state.parent, std::move(p));
      },
      [=](const attempt_timer& t) {
        auto& s = self->state;
        if (s.ended)
          return;
        if (t.time_limit) {
          s.timed_out = true;
          stop(self, stop_mode::graceful);
        } else {
          send_kill(self);
        }
      },
  };
}

} // namespace

task_actor spawn_task(caf::actor_system& sys, run_task msg,
                      assessment_actor parent) {
  return sys.spawn(task_impl, std::move(msg), std::move(parent));
}

} // namespace quiesce
