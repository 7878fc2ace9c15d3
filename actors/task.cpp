#include "actors/task.hpp"

#include "actors/ignored.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <algorithm>
#include <string>

namespace quiesce {

namespace {

/// The state of a task actor.
struct task_state {
  /// The attempt this actor owns (the last one, once it ended).
  run_task run;
  /// Where ends and progress go.
  assessment_actor parent;
  /// The node of the current attempt, monitored while it runs (null while
  /// idle, and once its down arrived).
  node_actor node;
  /// The time limit expired; the end becomes `timed_out`.
  bool timed_out = false;
  /// The grace timer is armed (a kill follows).
  bool grace_armed = false;
  /// A kill was sent.
  bool killed = false;
  /// The end was reported; later messages are ignored.
  bool ended = false;
  /// The time-limit timer armed at this attempt's placement is to be
  /// ignored: the node reported that the start waits for a slot. It stays
  /// set after the start (when `limit_held_back` is cleared) until that
  /// timer fires.
  bool placement_limit_spent = false;
  /// The node reported that this attempt (not held) waits for a slot: its
  /// time limit is armed when it starts.
  bool limit_held_back = false;

  static inline const char* name = "quiesce.task";
};

using task_pointer = task_actor::stateful_pointer<task_state>;

// Sends `msg` (a start or a signal) towards the node of the current
// attempt: through the node's port on the head for a remote node (so that
// it travels in a batch, in order with the start), else directly.
template <class Message>
void to_node(task_pointer self, Message msg) {
  const auto& run = self->state.run;
  if (run.port)
    self->send(run.port, std::move(msg));
  else
    self->send(run.node, std::move(msg));
}

void send_kill(task_pointer self) {
  auto& st = self->state;
  if (st.killed)
    return;
  st.killed = true;
  to_node(self, signal_attempt{st.run.key, stop_mode::kill});
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
        to_node(self, signal_attempt{st.run.key, stop_mode::request});
      else if (st.run.stop_commands_on_cancel)
        stop(self, stop_mode::graceful);
      break;
    case stop_mode::graceful:
      if (st.run.grace.count() <= 0) {
        send_kill(self);
        break;
      }
      to_node(self, signal_attempt{st.run.key, stop_mode::request});
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
  // Undo the monitor by hand: CAF 0.17 leaves a dead observer's monitor
  // attached to the node, and an idle actor keeps none, so the node's list
  // of monitors (walked by every demonitor) holds only running attempts.
  if (st.node) {
    self->demonitor(st.node.address());
    st.node = nullptr;
  }
  // The actor stays, idle, for its assessment's next attempt: no spawn and
  // no exit per attempt (docs/performance.md).
  self->send(st.parent, std::move(end));
}

// Arms the time limit of the current attempt, if it has one.
void arm_time_limit(task_pointer self) {
  const auto& run = self->state.run;
  if (run.spec.time_limit.count() > 0)
    self->delayed_send(self, run.spec.time_limit, attempt_timer{run.key, true});
}

// Starts attempt `msg`: on a new actor, or on an idle one whose last
// attempt ended.
void begin(task_pointer self, run_task msg) {
  auto& st = self->state;
  // Monitored while the attempt runs (finish or the exit handler undoes it).
  st.node = msg.node;
  self->monitor(st.node);
  st.run = std::move(msg);
  st.timed_out = false;
  st.grace_armed = false;
  st.killed = false;
  st.ended = false;
  st.placement_limit_spent = false;
  st.limit_held_back = false;
  to_node(self, start_attempt{st.run.key, st.run.spec, self, st.run.adopt,
                              st.run.owner, st.run.held, port_actor{}});
  // A held attempt's time runs from its start (attempt_running).
  if (!st.run.held)
    arm_time_limit(self);
}

// Whether the message at hand comes from the node running this actor's
// attempt. Only that node reports the attempt: a task actor is reachable
// by its id from every peer of the head (its handle went to its node), so a
// report from anyone else is forged (docs/security.md).
bool from_node(task_pointer self) {
  const auto& node = self->state.node;
  return node
         && caf::actor_cast<caf::actor_addr>(self->current_sender())
                == node.address();
}

// Says that a report of the running attempt came from someone else than
// its node, and is ignored.
void ignore_forged(task_pointer self, const attempt_key& key,
                   const char* what) {
  log_ignored("ignored " + std::string{what} + " of " + attempt_name(key)
              + " from " + sender_name(self->current_sender())
              + ", which is not its node " + self->state.run.node_name);
}

task_actor::behavior_type task_impl(task_pointer self, run_task msg,
                                    assessment_actor parent) {
  self->state.parent = std::move(parent);
  self->set_down_handler([self](const caf::down_msg& dm) {
    auto& st = self->state;
    if (!st.node || dm.source != st.node.address())
      return;
    // The monitor is spent.
    st.node = nullptr;
    if (st.ended)
      return;
    attempt_ended end;
    end.key = st.run.key;
    end.outcome = attempt_outcome::lost;
    end.code = result_code::node_lost;
    end.message = "node " + st.run.node_name + " was lost";
    end.confirmed_dead = false;
    end.ended = caf::make_timestamp();
    end.incarnation = st.run.incarnation;
    finish(self, std::move(end));
  });
  // Linked to the assessment, which exits when its job moves on or ends:
  // undo the node's monitor before going along with it.
  self->set_exit_handler([self](caf::exit_msg& em) {
    if (self->state.node)
      self->demonitor(self->state.node.address());
    self->quit(std::move(em.reason));
  });
  begin(self, std::move(msg));
  return {
      [=](run_task& next) { begin(self, std::move(next)); },
      [=](const stop_tasks& req) {
        auto& s = self->state;
        // Only a stop of this attempt's task: the assessment sends none for
        // an ended one, and messages from it arrive in order.
        if (std::find(req.tasks.begin(), req.tasks.end(), s.run.key.task)
            != req.tasks.end())
          stop(self, req.mode);
      },
      [=](attempt_ended& end) {
        // A report of another attempt, or from another incarnation of the
        // node, is stale: it does not end this attempt. The supervisor
        // counts and ignores it.
        if (!(end.key == self->state.run.key)
            || end.incarnation != self->state.run.incarnation) {
          self->send(self->state.parent, std::move(end));
          return;
        }
        if (!self->state.ended && !from_node(self)) {
          ignore_forged(self, end.key, "an end report");
          return;
        }
        finish(self, std::move(end));
      },
      [=](attempt_progress& p) {
        auto& s = self->state;
        if (s.ended || !(p.key == s.run.key))
          return;
        if (!from_node(self)) {
          ignore_forged(self, p.key, "a progress report");
          return;
        }
        self->send(s.parent, std::move(p));
      },
      [=](attempt_output& o) {
        // Sent before the attempt starts: it precedes the attempt's end.
        auto& s = self->state;
        if (!(o.key == s.run.key))
          return;
        // After the end (a lost node's late report), the node is no longer
        // known here: the supervisor checks the incarnation.
        if (!s.ended && !from_node(self)) {
          ignore_forged(self, o.key, "an output directory");
          return;
        }
        self->send(s.parent, std::move(o));
      },
      [=](const attempt_running& r) {
        auto& s = self->state;
        if (s.ended || !(r.key == s.run.key))
          return;
        if (!from_node(self)) {
          ignore_forged(self, r.key, "a start report");
          return;
        }
        if (!s.run.held) {
          // Not held, but it waits at the node for a slot (a held start of
          // another task took it first): the timer armed at its placement
          // is spent, and its time limit runs from its start, reported
          // next. The books have it running since its placement already.
          if (r.waiting) {
            if (s.run.spec.time_limit.count() > 0 && !s.timed_out
                && !s.limit_held_back) {
              s.limit_held_back = true;
              s.placement_limit_spent = true;
            }
          } else if (s.limit_held_back) {
            s.limit_held_back = false;
            arm_time_limit(self);
          }
          return;
        }
        arm_time_limit(self);
        self->send(s.parent, r);
      },
      [=](const attempt_timer& t) {
        auto& s = self->state;
        // A timer of an earlier attempt of this actor is spent.
        if (s.ended || !(t.key == s.run.key))
          return;
        if (t.time_limit) {
          if (s.placement_limit_spent) {
            s.placement_limit_spent = false;
            return;
          }
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
