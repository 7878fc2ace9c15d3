#pragma once

// A deterministic fixture for actor tests: one actor system on CAF's
// `test_coordinator` (nothing runs until the test says so, and the clock only
// moves when the test moves it), a supervisor, fake nodes that record what
// they are asked and never run anything, and an event recorder.
//
// How the pieces work under the test coordinator (CAF 0.17.6):
//
// - `caf/test/dsl.hpp` does not link with Catch2, so this builds on
//   `caf::scheduler::test_coordinator` directly: `run()` drains the job queue
//   (bounded), `advance()` moves the clock one step at a time and drains after
//   each step, so a timer armed by a message handled at step k is due relative
//   to step k, as on a real clock.
// - Requests: `caf::make_function_view` and `scoped_actor::request(...)
//   .receive(...)` both block the test thread before the scheduler gets to
//   run, so they deadlock here. What works: the scoped actor `self` sends the
//   request as an ordinary message (`self->send`), the handler's return value
//   (or a delivered response promise) comes back to `self` as an ordinary
//   message, `run()` processes everything, and `self->receive(...)` with a
//   zero timeout (real time; the blocking actor does not use the test clock)
//   takes the reply or reports that none is there. `ask()` does all three;
//   `send()` plus `try_take()` checks that a reply has *not* arrived yet
//   (terminate_job). Blocking-actor receives skip messages of other types, so
//   a missing reply shows up as "no reply", never as a wrong one.
// - Races: `deliver_end()` sends an attempt's end to its task actor and runs
//   every actor *except* the supervisor, so the end waits in the supervisor's
//   mailbox. A request sent before it is processed first, one sent after it
//   second: both are in flight at once and the supervisor alone decides.
// - Fake nodes: typed `node_actor`s that record each `start_attempt` and
//   `signal_attempt` in `started` / `signals`; the test plays the node by
//   sending `attempt_ended` / `attempt_progress` to the recorded `reply_to`.
// - Never `CHECK` inside a handler: the handlers only record; the test body
//   checks.
// - Teardown: pending delayed messages hold strong references (a pending
//   timer keeps its receiver alive) and job/assessment/task actors hold each
//   other, so the destructor cancels every timer, shuts the supervisor down
//   with a trappable exit (it then stops its job actors, whose links take the
//   assessment and task actors along), kills the fake nodes and the recorder
//   and drains the queue, bounded. If anything still lives after that, the
//   system is told not to wait for it, so the binary never hangs at exit.

#include "actors/interfaces.hpp"
#include "actors/supervisor.hpp"
#include "messages/type_ids.hpp"
#include "runtime/system_config.hpp"
#include "support/specs.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace quiesce::test {

/// One `start_attempt` a fake node received.
struct started_attempt {
  /// The node that received it.
  std::string node;
  attempt_key key;
  task_spec spec;
  /// The task actor that expects the attempt's progress and end.
  task_actor reply_to;
  /// The fake node that received it: the attempt's reports come from it
  /// (a task actor ignores reports of its attempt from anyone else).
  node_actor by;
  /// Placed beyond the node's slots: the node reports when it starts it.
  bool held = false;
};

/// One `signal_attempt` a fake node received.
struct signalled_attempt {
  std::string node;
  attempt_key key;
  stop_mode mode = stop_mode::request;
};

/// What every fake node of a fixture has been asked, in arrival order.
struct node_log {
  std::vector<started_attempt> started;
  std::vector<signalled_attempt> signals;
};

/// Returns the behaviour of a fake node named `name` recording into `log`.
inline node_actor::behavior_type fake_node_impl(node_actor::pointer self,
                                                std::string name,
                                                std::shared_ptr<node_log> log) {
  return {
      [=](start_attempt& msg) {
        log->started.push_back(
            started_attempt{name, msg.key, std::move(msg.spec), msg.reply_to,
                            node_actor{self}, msg.held});
      },
      [=](const signal_attempt& msg) {
        log->signals.push_back(signalled_attempt{name, msg.key, msg.mode});
      },
      [=](const attempt_ended&) {
        // Only executors of a real node send this; the fake has none.
      },
      [=](const attempt_timer&) {},
      [=](const node_reset&) {},
      [=](node_hello& hello) { return std::move(hello); },
      [=](start_batch& batch) {
        // In process there is no port; recorded as single starts all the
        // same.
        for (auto& msg : batch.starts)
          log->started.push_back(
              started_attempt{name, msg.key, std::move(msg.spec), msg.reply_to,
                              node_actor{self}, msg.held});
      },
      [=](batch_flush) {},
  };
}

/// Returns the behaviour of an event sink storing every event in `log`.
inline event_sink_actor::behavior_type
event_recorder_impl(event_sink_actor::pointer,
                    std::shared_ptr<std::vector<event>> log) {
  return {
      [=](const event& ev) { log->push_back(ev); },
      [=](const event_batch& batch) {
        log->insert(log->end(), batch.events.begin(), batch.events.end());
      },
  };
}

/// A test actor system with a supervisor, fake nodes and an event recorder.
struct deterministic_fixture {
  /// The bound for one `run()`: more events than this means a livelock.
  static constexpr size_t max_events = 10000;

  caf::actor_system_config cfg;
  // Declared before every handle: its destructor waits for every actor.
  caf::actor_system sys;
  caf::scheduler::test_coordinator& sched;
  caf::scoped_actor self;
  supervisor_actor sup;
  std::shared_ptr<node_log> nodes = std::make_shared<node_log>();
  std::vector<node_actor> node_handles;
  std::shared_ptr<std::vector<event>> events
      = std::make_shared<std::vector<event>>();
  event_sink_actor recorder;

  /// Builds the system; `opts` configure the supervisor.
  explicit deterministic_fixture(supervisor_options opts = {})
      : sys(init(cfg)),
        sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())),
        self(sys) {
    sup = spawn_supervisor(sys, opts);
    recorder = sys.spawn(event_recorder_impl, events);
    run();
    auto r = ask<op_reply>(subscribe{recorder});
    REQUIRE(r.code == result_code::ok);
  }

  deterministic_fixture(const deterministic_fixture&) = delete;
  deterministic_fixture& operator=(const deterministic_fixture&) = delete;

  ~deterministic_fixture() {
    sched.clock().cancel_all();
    caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
    sched.run(max_events);
    for (auto& n : node_handles)
      caf::anon_send_exit(n, caf::exit_reason::kill);
    caf::anon_send_exit(recorder, caf::exit_reason::kill);
    sched.run(max_events);
    sched.clock().cancel_all();
    sched.run(max_events);
    sup = nullptr;
    recorder = nullptr;
    node_handles.clear();
    // Only the scoped actor `self` should remain.
    if (sys.registry().running() > 1)
      sys.await_actors_before_shutdown(false);
  }

  // -- running ----------------------------------------------------------------

  /// Processes every pending message; fails the test on a livelock.
  void run() {
    auto n = sched.run(max_events);
    if (n >= max_events)
      FAIL("the test coordinator processed " << n
                                             << " events without settling");
  }

  /// Advances the clock by `total`, `step` at a time, running after each step.
  void advance(caf::timespan total,
               caf::timespan step = std::chrono::milliseconds{100}) {
    run();
    for (caf::timespan done{0}; done < total; done += step) {
      sched.advance_time(std::min(step, total - done));
      run();
    }
  }

  /// Runs every actor except the supervisor until none has work left, so
  /// that what they sent to the supervisor waits in its mailbox.
  void run_all_but_supervisor() {
    auto* sup_job = dynamic_cast<caf::resumable*>(
        caf::actor_cast<caf::abstract_actor*>(sup));
    auto n = sched.run_jobs_filtered(
        [&](caf::resumable* r) { return r != sup_job; });
    if (n >= max_events)
      FAIL("livelock while holding the supervisor back");
  }

  // -- requests ---------------------------------------------------------------

  /// Sends `req` to the supervisor without processing it.
  template <class Request>
  void send(const Request& req) {
    self->send(sup, req);
  }

  /// Returns the next reply of type `Reply` that has arrived, if any.
  template <class Reply>
  std::optional<Reply> try_take() {
    std::optional<Reply> out;
    self->receive([&](Reply& x) { out = std::move(x); },
                  caf::after(std::chrono::seconds(0)) >> [] {});
    return out;
  }

  /// Returns the next reply of type `Reply`; fails the test if none arrived.
  template <class Reply>
  Reply take() {
    auto out = try_take<Reply>();
    if (!out)
      FAIL("no reply arrived");
    return std::move(*out);
  }

  /// Sends `req` to the supervisor, runs, and returns its reply.
  template <class Reply, class Request>
  Reply ask(const Request& req) {
    send(req);
    run();
    return take<Reply>();
  }

  // -- nodes ------------------------------------------------------------------

  /// Spawns a fake node and registers it with the supervisor; it holds
  /// `pipeline` attempts beyond its slots.
  node_actor add_node(const std::string& name, uint32_t slots,
                      std::vector<std::string> labels = {},
                      uint32_t pipeline = 0) {
    auto hdl = sys.spawn(fake_node_impl, name, nodes);
    node_handles.push_back(hdl);
    auto r = ask<node_list>(node_hello{protocol_version,
                                       name,
                                       slots,
                                       std::move(labels),
                                       hdl,
                                       {},
                                       0,
                                       {},
                                       pipeline});
    REQUIRE(r.code == result_code::ok);
    return hdl;
  }

  /// Spawns a fake node process `incarnation` named `name` that reports it
  /// still runs `running`, and registers it; returns the supervisor's reply.
  node_list join_node(const std::string& name, uint32_t slots,
                      uint64_t incarnation,
                      std::vector<attempt_key> running = {}) {
    auto hdl = sys.spawn(fake_node_impl, name, nodes);
    node_handles.push_back(hdl);
    return ask<node_list>(node_hello{protocol_version,
                                     name,
                                     slots,
                                     {},
                                     hdl,
                                     std::move(running),
                                     incarnation,
                                     {}});
  }

  /// Kills fake node `hdl` (a lost process) and runs until that settled.
  void lose_node(const node_actor& hdl) {
    caf::anon_send_exit(hdl, caf::exit_reason::kill);
    run();
  }

  /// Returns the attempts the fake nodes were asked to start.
  const std::vector<started_attempt>& started() const {
    return nodes->started;
  }

  /// Returns the signals the fake nodes received.
  const std::vector<signalled_attempt>& signals() const {
    return nodes->signals;
  }

  /// Returns the last attempt started for `task` of `job`; fails if none.
  const started_attempt& attempt_of(job_id job, task_id task) const {
    for (auto i = nodes->started.rbegin(); i != nodes->started.rend(); ++i)
      if (i->key.job == job && i->key.task == task)
        return *i;
    FAIL("no attempt of task " << task << " of job " << job << " was started");
    return nodes->started.front(); // not reached
  }

  /// Returns the signals sent to attempts of `task` of `job`, in order.
  std::vector<stop_mode> signals_of(job_id job, task_id task) const {
    std::vector<stop_mode> out;
    for (auto& s : nodes->signals)
      if (s.key.job == job && s.key.task == task)
        out.push_back(s.mode);
    return out;
  }

  /// Returns an `attempt_ended` for `a` as a node would send it.
  static attempt_ended
  make_end(const started_attempt& a,
           attempt_outcome outcome = attempt_outcome::succeeded,
           int32_t exit_code = 0, std::string message = {}) {
    attempt_ended end;
    end.key = a.key;
    end.outcome = outcome;
    switch (outcome) {
      case attempt_outcome::succeeded:
        end.code = result_code::ok;
        break;
      case attempt_outcome::stopped:
        end.code = result_code::task_cancelled;
        break;
      case attempt_outcome::lost:
        end.code = result_code::node_lost;
        break;
      case attempt_outcome::timed_out:
        end.code = result_code::timeout;
        break;
      default:
        end.code = result_code::task_failed;
    }
    end.exit_code = exit_code;
    end.message = std::move(message);
    end.node = a.node;
    end.started = caf::make_timestamp();
    end.ended = end.started;
    return end;
  }

  /// Sends `end` to the task actor of `a`, as `a`'s node, without running
  /// anything.
  static void send_end(const started_attempt& a, attempt_ended end) {
    caf::send_as(a.by, a.reply_to, std::move(end));
  }

  /// Plays the node: attempt `a` ended; runs until everything settled.
  void end_attempt(const started_attempt& a,
                   attempt_outcome outcome = attempt_outcome::succeeded,
                   int32_t exit_code = 0, std::string message = {}) {
    send_end(a, make_end(a, outcome, exit_code, std::move(message)));
    run();
  }

  /// Plays the node: attempt `a` ended, and the report now waits in the
  /// supervisor's mailbox, unprocessed.
  void deliver_end(const started_attempt& a,
                   attempt_outcome outcome = attempt_outcome::succeeded,
                   int32_t exit_code = 0, std::string message = {}) {
    send_end(a, make_end(a, outcome, exit_code, std::move(message)));
    run_all_but_supervisor();
  }

  /// Plays the node: held attempt `a` started (a slot freed), and the report
  /// now waits in the supervisor's mailbox, unprocessed.
  void deliver_running(const started_attempt& a) {
    caf::send_as(a.by, a.reply_to, attempt_running{a.key, 0});
    run_all_but_supervisor();
  }

  /// Plays the node: held attempt `a` started; runs.
  void report_running(const started_attempt& a) {
    deliver_running(a);
    run();
  }

  /// Plays the node: attempt `a`, not held, found every slot taken and
  /// waits for one; runs.
  void report_waiting(const started_attempt& a) {
    caf::send_as(a.by, a.reply_to, attempt_running{a.key, 0, true});
    run();
  }

  /// Plays the node: attempt `a` reports progress; runs.
  void progress(const started_attempt& a, uint8_t percent, std::string text) {
    caf::send_as(a.by, a.reply_to,
                 attempt_progress{a.key, percent, std::move(text)});
    run();
  }

  // -- books ------------------------------------------------------------------

  /// Adds a job; fails unless accepted.
  job_id add(job_spec spec) {
    auto r = ask<add_job_reply>(add_job{std::move(spec), "test"});
    REQUIRE(r.code == result_code::ok);
    return r.job;
  }

  /// Adds and submits a job; fails unless both are accepted.
  job_id submit(job_spec spec) {
    auto id = add(std::move(spec));
    auto r = ask<op_reply>(submit_job{id, "test"});
    REQUIRE(r.code == result_code::ok);
    return id;
  }

  /// Returns the record of `job`.
  job_record job(job_id id) {
    auto r = ask<job_status_reply>(get_job_status{id});
    REQUIRE(r.code == result_code::ok);
    return r.job;
  }

  /// Returns the record of `task` of `job`.
  task_record task(job_id job, task_id task) {
    auto r = ask<task_status_reply>(get_task_status{job, task});
    REQUIRE(r.code == result_code::ok);
    return r.task;
  }

  /// Returns every task of `job`.
  std::vector<task_record> tasks(job_id job) {
    auto r = ask<task_list>(list_tasks{job, false, task_status::not_submitted});
    REQUIRE(r.code == result_code::ok);
    return r.tasks;
  }

  /// Returns the events about `job`, in stream order.
  std::vector<event> events_of(job_id job) const {
    std::vector<event> out;
    for (auto& ev : *events)
      if (ev.job == job)
        out.push_back(ev);
    return out;
  }

private:
  static caf::actor_system_config& init(caf::actor_system_config& cfg) {
    configure(cfg, 1);
    cfg.set("scheduler.policy", caf::atom("testing"));
    return cfg;
  }
};

} // namespace quiesce::test
