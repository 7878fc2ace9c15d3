#pragma once

// The protocol between the supervisor, job, assessment and task actors and the
// nodes. Clients never send these; they are part of the wire protocol only
// because nodes may be remote.

#include "messages/commands.hpp"
#include "messages/handles.hpp"
#include "messages/ids.hpp"
#include "messages/result_code.hpp"
#include "messages/spec.hpp"

#include <caf/meta/type_name.hpp>
#include <caf/timestamp.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace quiesce {

/// How hard a stop request is.
enum class stop_mode : uint8_t {
  /// Ask the work to stop; never kill (cancel_job: run to completion).
  request = 0,
  /// Ask the work to stop, kill it after the grace period.
  graceful = 1,
  /// Kill at once (terminate_job).
  kill = 2,
};

/// Returns the stable name of `x`.
std::string to_string(stop_mode x);

/// Identifies one attempt of one task.
struct attempt_key {
  job_id job = invalid_id;
  task_id task = invalid_id;
  /// 1 for the first attempt, +1 per requeue.
  uint32_t attempt = 0;

  friend bool operator==(const attempt_key& x, const attempt_key& y) noexcept {
    return x.job == y.job && x.task == y.task && x.attempt == y.attempt;
  }
};

/// Hashes an attempt_key for unordered containers.
struct attempt_key_hash {
  size_t operator()(const attempt_key& x) const noexcept {
    auto h = x.job * 0x9E3779B97F4A7C15ull;
    h ^= x.task + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
    h ^= x.attempt + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
    return static_cast<size_t>(h);
  }
};

/// Inspects an attempt_key.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, attempt_key& x) {
  return f(caf::meta::type_name("quiesce.attempt_key"), x.job, x.task,
           x.attempt);
}

/// Supervisor → job → assessment: start one attempt of a task on a node.
struct run_task {
  attempt_key key;
  task_spec spec;
  /// The grace period that applies (task's own or the job's).
  caf::timespan grace{0};
  /// Whether a `stop_mode::request` reaches commands too.
  bool stop_commands_on_cancel = false;
  /// The node actor that runs it.
  node_actor node;
  /// The node's name, for the books.
  std::string node_name;
  /// The attempt already runs there (reported in `node_hello` after a head
  /// restart or a lost connection): take its reports over instead of
  /// starting it.
  bool adopt = false;
  /// The incarnation of the node process (`node_hello::incarnation`): its
  /// reports with another one are stale.
  uint64_t incarnation = 0;
  /// The job's owner (`job_record::owner`): the node runs a command as the
  /// local account this identity maps to.
  std::string owner;
  /// Placed beyond the node's free slots: the task stays `queued` until the
  /// node reports that it started the attempt (`attempt_running`);
  /// docs/semantics.md, "Held attempts".
  bool held = false;
  /// The node's port on the head, for a remote node: the start and stops go
  /// there (in batches over the wire), and the end comes from there as sent
  /// by the node. Null for an in-process node: they go to `node` directly.
  port_actor port;
};

/// Inspects a run_task.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, run_task& x) {
  return f(caf::meta::type_name("quiesce.run_task"), x.key, x.spec, x.grace,
           x.stop_commands_on_cancel, x.node, x.node_name, x.adopt,
           x.incarnation, x.owner, x.held, x.port);
}

/// Supervisor → job: assessment `index` begins; spawn its actor.
struct begin_assessment {
  job_id job = invalid_id;
  assessment_index index = 0;
};

/// Inspects a begin_assessment.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, begin_assessment& x) {
  return f(caf::meta::type_name("quiesce.begin_assessment"), x.job, x.index);
}

/// Supervisor → job: the job is over and none of its work is live; idle.
struct end_job {
  job_id job = invalid_id;
};

/// Inspects an end_job.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, end_job& x) {
  return f(caf::meta::type_name("quiesce.end_job"), x.job);
}

/// Supervisor → job → assessment → task: stop the listed attempts.
struct stop_tasks {
  job_id job = invalid_id;
  std::vector<task_id> tasks;
  stop_mode mode = stop_mode::graceful;
};

/// Inspects a stop_tasks.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stop_tasks& x) {
  return f(caf::meta::type_name("quiesce.stop_tasks"), x.job, x.tasks, x.mode);
}

/// Task actor → node: start this attempt and report to `reply_to`.
struct start_attempt {
  attempt_key key;
  task_spec spec;
  /// The task actor that receives `attempt_progress` and `attempt_ended`.
  task_actor reply_to;
  /// Do not start: the attempt runs already (a head restarted); its ends
  /// now go to `reply_to`. If it no longer runs, the node reports it lost.
  bool adopt = false;
  /// The job's owner, whose local account on the node runs a command
  /// (docs/security.md, "Tasks run as their owner").
  std::string owner;
  /// Held: the node may keep it until a slot frees, and reports when it
  /// starts it (`attempt_running`).
  bool held = false;
  /// Node-local, never on the wire: the port of the start_batch this start
  /// came in, where its end goes (null: to `reply_to` directly).
  port_actor port;
};

/// Inspects a start_attempt (not its node-local `port`).
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, start_attempt& x) {
  return f(caf::meta::type_name("quiesce.start_attempt"), x.key, x.spec,
           x.reply_to, x.adopt, x.owner, x.held);
}

/// Port → node: starts in the order the port received them. Their ends go
/// to `port` in `end_batch`es; docs/distributed.md, "Batches".
struct start_batch {
  port_actor port;
  std::vector<start_attempt> starts;
};

/// Inspects a start_batch.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, start_batch& x) {
  return f(caf::meta::type_name("quiesce.start_batch"), x.port, x.starts);
}

/// A node or port to itself: send what was collected. Sent once per batch,
/// when the first item is collected while more messages wait in the mailbox;
/// it arrives after them, so every start or end they bring joins the batch.
struct batch_flush {};

/// Inspects a batch_flush.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, batch_flush&) {
  return f(caf::meta::type_name("quiesce.batch_flush"));
}

/// The most items of one start_batch or end_batch: a batch this full is
/// sent at once.
inline constexpr size_t max_batch_items = 1024;

/// The most bytes of one batch, as estimated per item (`start_bytes`,
/// `end_bytes`): a batch this full is sent at once, and an item that would
/// take a batch past it opens the next one. Far below the smallest
/// `max_message_size` the head enforces (1 MiB), so that batching never
/// makes an end batch the head refuses, and each message stays small for
/// both ends to buffer; an item larger on its own goes alone, as it would
/// unbatched.
inline constexpr size_t max_batch_bytes = size_t{256} << 10;

/// Task actor → node: signal a running attempt.
struct signal_attempt {
  attempt_key key;
  /// `request` (stop signal or stop flag) or `kill`.
  stop_mode mode = stop_mode::request;
};

/// Inspects a signal_attempt.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, signal_attempt& x) {
  return f(caf::meta::type_name("quiesce.signal_attempt"), x.key, x.mode);
}

/// What a worker tells its node actor about the head (docs/containment.md,
/// "Fencing").
enum class head_change : uint8_t {
  /// The worker stops: kill every attempt now.
  stop = 0,
  /// The head was lost: keep every attempt for `lease`, hold the ends of
  /// those that end meanwhile, then kill what still runs.
  lost = 1,
  /// A `node_hello` was accepted again: the lease of `epoch` is over.
  joined = 2,
  /// Node-internal: the lease of `epoch` expired without the head.
  expired = 3,
};

/// Returns the stable name of `x`.
std::string to_string(head_change x);

/// Worker → its node actor: the head went away, came back, or the node stops.
struct node_reset {
  std::string reason;
  head_change change = head_change::stop;
  /// With `lost`: how long the attempts are kept.
  caf::timespan lease{0};
  /// Numbers each loss, so that a lease that expires after the head came
  /// back (or after a later loss) kills nothing.
  uint64_t epoch = 0;
};

/// Inspects a node_reset.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_reset& x) {
  return f(caf::meta::type_name("quiesce.node_reset"), x.reason, x.change,
           x.lease, x.epoch);
}

/// Node → task actor: the work reported progress.
struct attempt_progress {
  attempt_key key;
  uint8_t percent = 0;
  std::string text;
  /// The incarnation of the node process that reports it.
  uint64_t incarnation = 0;
};

/// Inspects an attempt_progress.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, attempt_progress& x) {
  return f(caf::meta::type_name("quiesce.attempt_progress"), x.key, x.percent,
           x.text, x.incarnation);
}

/// Node → task actor → assessment → supervisor: the directory the node
/// chose for the job's default output files. Sent before the first attempt
/// of the job that the node starts there (again after the node forgot it),
/// so once per job and node, not per task.
struct attempt_output {
  attempt_key key;
  /// Absolute, with a trailing '/'.
  std::string dir;
  /// The incarnation of the node process that reports it.
  uint64_t incarnation = 0;
};

/// Inspects an attempt_output.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, attempt_output& x) {
  return f(caf::meta::type_name("quiesce.attempt_output"), x.key, x.dir,
           x.incarnation);
}

/// Node → task actor → assessment → supervisor: a held attempt started (a
/// slot of its node freed). The supervisor then takes its task from `queued`
/// to `running`, unless a request decided otherwise first.
///
/// Node → task actor only, for an attempt that was not held: with `waiting`,
/// it found every slot taken (a held start of another task came first) and
/// waits for one; without, it started after such a wait. Its time limit runs
/// from that start.
struct attempt_running {
  attempt_key key;
  /// The incarnation of the node process that reports it.
  uint64_t incarnation = 0;
  /// Not started yet: it waits at the node for a slot.
  bool waiting = false;
};

/// Inspects an attempt_running.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, attempt_running& x) {
  return f(caf::meta::type_name("quiesce.attempt_running"), x.key,
           x.incarnation, x.waiting);
}

/// How an attempt ended, as observed where it ran.
enum class attempt_outcome : uint8_t {
  /// The work succeeded (exit code 0, or the function returned success).
  succeeded = 0,
  /// The work failed (non-zero exit, killed by a signal, function failure
  /// or exception).
  failed = 1,
  /// The work acknowledged a stop request (function returned `stopped`).
  stopped = 2,
  /// The work could not start (command not found, unknown work name).
  not_started = 3,
  /// The time limit expired and the work was stopped.
  timed_out = 4,
  /// The node was lost while the attempt ran.
  lost = 5,
};

/// Returns the stable name of `x`.
std::string to_string(attempt_outcome x);

/// Node → task actor → assessment → supervisor: an attempt ended.
struct attempt_ended {
  attempt_key key;
  attempt_outcome outcome = attempt_outcome::succeeded;
  /// The end code the node assigns: ok, task_failed, timeout, spawn_failed,
  /// work_not_found or node_lost.
  result_code code = result_code::ok;
  /// Exit code for processes (-1 when none, e.g. killed by a signal).
  int32_t exit_code = -1;
  /// Signal that ended the process, 0 if none.
  int32_t signal = 0;
  /// Whether the work is confirmed dead (false for an abandoned function
  /// or a process that could not be reaped).
  bool confirmed_dead = true;
  /// Whether a stop or kill had been requested before it ended.
  bool stop_requested = false;
  /// A message for failures ("exit code 3", "killed by SIGKILL", ...).
  std::string message;
  /// Where it ran.
  std::string node;
  /// When it started and ended (node clock).
  caf::timestamp started{};
  caf::timestamp ended{};
  /// CPU time (user + system) of everything the command ran; zero when
  /// unknown (no cgroup, or a work function).
  caf::timespan cpu_time{0};
  /// Peak memory of the command's cgroup in bytes; zero when unknown.
  uint64_t peak_memory = 0;
  /// The incarnation of the node process that reports it (the task actor's
  /// own reports of a lost node carry the one it placed the attempt on).
  uint64_t incarnation = 0;
};

/// Inspects an attempt_ended.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, attempt_ended& x) {
  return f(caf::meta::type_name("quiesce.attempt_ended"), x.key, x.outcome,
           x.code, x.exit_code, x.signal, x.confirmed_dead, x.stop_requested,
           x.message, x.node, x.started, x.ended, x.cpu_time, x.peak_memory,
           x.incarnation);
}

/// Estimates the bytes of `end` in an end_batch: its strings and a bound on
/// the rest.
inline size_t end_bytes(const attempt_ended& end) noexcept {
  return end.message.size() + end.node.size() + 128;
}

/// Node → port: ends of attempts started through the port, in the order
/// they ended. The port hands each to the task actor of its start.
struct end_batch {
  std::vector<attempt_ended> ends;
};

/// Inspects an end_batch.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, end_batch& x) {
  return f(caf::meta::type_name("quiesce.end_batch"), x.ends);
}

/// One entry of a node's `[runtime.users]`: an owner and the uid its
/// command tasks run as there.
struct owner_account {
  std::string owner;
  uint32_t uid = 0;
};

/// Inspects an owner_account.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, owner_account& x) {
  return f(caf::meta::type_name("quiesce.owner_account"), x.owner, x.uid);
}

/// Whose tasks a node runs, and as whom (docs/security.md, "Tasks run as
/// their owner"): what the node decides by, sent in its hello so that the
/// head places a task where its owner may run (owner_refusal).
struct owner_policy {
  /// The node process's user and its name.
  std::string self_user;
  uint32_t self_uid = 0;
  /// Whether an owner without an entry (other than `self_user`) is refused.
  bool strict = false;
  /// The node's `[runtime.users]`, by owner.
  std::vector<owner_account> accounts;
};

/// Inspects an owner_policy.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, owner_policy& x) {
  return f(caf::meta::type_name("quiesce.owner_policy"), x.self_user,
           x.self_uid, x.strict, x.accounts);
}

/// Node → supervisor: registration (also the protocol handshake).
struct node_hello {
  uint32_t version = 0;
  std::string name;
  uint32_t slots = 0;
  std::vector<std::string> labels;
  /// The node actor itself.
  node_actor node;
  /// The attempts the node still runs, or whose ends it holds, from before
  /// it lost the head (a head restart or a lost connection); the head takes
  /// over those it knows as running there with the same attempt number and
  /// incarnation, and has the others killed.
  std::vector<attempt_key> running;
  /// Random, drawn once per node process: a node started again under the
  /// same name is a new incarnation and never runs an attempt of the old
  /// one (docs/containment.md, "Fencing").
  uint64_t incarnation = 0;
  /// Whose tasks the node runs (the node fills it in).
  owner_policy owners;
  /// How many attempts beyond its slots the node holds, started by the head
  /// and waiting for a slot (docs/semantics.md, "Held attempts").
  uint32_t pipeline = 0;
};

/// Inspects a node_hello.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_hello& x) {
  return f(caf::meta::type_name("quiesce.node_hello"), x.version, x.name,
           x.slots, x.labels, x.node, x.running, x.incarnation, x.owners,
           x.pipeline);
}

/// Supervisor-internal: the time nodes had to report the attempts that ran
/// before a head restart is over.
struct reconcile_deadline {
  uint64_t round = 0;
};

/// Inspects a reconcile_deadline.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reconcile_deadline& x) {
  return f(caf::meta::type_name("quiesce.reconcile_deadline"), x.round);
}

/// Supervisor-internal: a terminate_job's bound expired.
struct terminate_deadline {
  job_id job = invalid_id;
};

/// Inspects a terminate_deadline.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, terminate_deadline& x) {
  return f(caf::meta::type_name("quiesce.terminate_deadline"), x.job);
}

/// Task actor-internal: the grace period or time limit expired.
struct attempt_timer {
  attempt_key key;
  /// True for the time limit, false for the grace period.
  bool time_limit = false;
};

/// Inspects an attempt_timer.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, attempt_timer& x) {
  return f(caf::meta::type_name("quiesce.attempt_timer"), x.key, x.time_limit);
}

} // namespace quiesce
