#include "actors/node.hpp"

#include "actors/owners.hpp"
#include "execution/cgroup.hpp"
#include "execution/function_executor.hpp"
#include "execution/launcher.hpp"
#include "execution/work_registry.hpp"
#include "messages/text.hpp"

#include <caf/actor_system.hpp>
#include <caf/node_id.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <algorithm>
#include <deque>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <system_error>
#include <unistd.h>
#include <unordered_map>

namespace quiesce {

namespace {

/// One attempt running on this node.
struct node_attempt {
  task_actor reply_to;
  /// The head's port its start came through, where its end goes (null: to
  /// `reply_to` directly).
  port_actor port;
  work_kind kind = work_kind::command;
  /// Id in the function executor or the launcher.
  uint64_t exec_id = 0;
  int32_t stop_signal = 15;
  bool stop_requested = false;
  bool killed = false;
  /// Started before the head was lost: `reply_to` is gone, so the end is
  /// held until a head takes the attempt over (`start_attempt::adopt`).
  bool orphaned = false;
  /// Killed because the lease expired, or stale to the head: its end is
  /// reported to nobody.
  bool discard = false;
  caf::timestamp started{};
};

/// The ends collected for one port, and their estimated bytes (end_bytes).
struct outbox_entry {
  port_actor port;
  std::vector<attempt_ended> ends;
  size_t bytes = 0;
};

/// The state of a node actor.
struct node_state {
  node_options opts;
  std::shared_ptr<work_registry> registry;
  std::shared_ptr<process::launcher> launcher;
  std::unique_ptr<function_executor> functions;
  std::unordered_map<attempt_key, node_attempt, attempt_key_hash> attempts;
  /// Held attempts the head placed beyond the free slots, in the order they
  /// came: each starts when a slot frees (docs/semantics.md, "Held
  /// attempts").
  std::deque<start_attempt> waiting;
  /// The output directory of each job seen, with the head it belongs to.
  std::unordered_map<job_id, std::pair<std::string, std::string>> job_dirs;
  /// The ends of orphaned attempts that ended while the head was away, until
  /// a head takes them over or has them killed.
  std::unordered_map<attempt_key, attempt_ended, attempt_key_hash> held;
  /// The epoch of the loss whose lease runs, 0 while the head is there.
  uint64_t away_epoch = 0;
  /// Ends collected for each port, sent as one end_batch per port when
  /// the mailbox holds no more or at the batch_flush.
  std::vector<outbox_entry> outbox;
  /// A batch_flush is on its way to this node.
  bool flush_sent = false;
  /// This process's effective user and its name (an owner of that name runs
  /// as this user without an entry in `opts.accounts`).
  uid_t self_uid = 0;
  std::string self_user;
  /// What the node decides whose tasks it runs by, as its hello tells the
  /// head.
  owner_policy owners;

  static inline const char* name = "quiesce.node";
};

using node_pointer = node_actor::stateful_pointer<node_state>;

// Sends the ends collected in `x` to its port as one end_batch, if any, and
// empties `x`.
void send_batch(node_pointer self, outbox_entry& x) {
  if (x.ends.empty())
    return;
  self->send(x.port, end_batch{std::move(x.ends)});
  x.ends.clear();
  x.bytes = 0;
}

// Reports `end` to task actor `to`: directly, or through `port` in its next
// end_batch (settle or flush sends it).
void send_end(node_pointer self, const task_actor& to, const port_actor& port,
              attempt_ended end) {
  if (!port) {
    self->send(to, std::move(end));
    return;
  }
  auto& box = self->state.outbox;
  auto i = std::find_if(box.begin(), box.end(),
                        [&port](const auto& x) { return x.port == port; });
  if (i == box.end()) {
    box.push_back(outbox_entry{port, {}, 0});
    i = std::prev(box.end());
  }
  auto bytes = end_bytes(end);
  // Not past the bound with it: the ends so far go first.
  if (i->bytes + bytes > max_batch_bytes)
    send_batch(self, *i);
  i->ends.push_back(std::move(end));
  i->bytes += bytes;
}

// Sends every end collected, one end_batch per port.
void flush(node_pointer self) {
  auto box = std::move(self->state.outbox);
  self->state.outbox.clear();
  for (auto& x : box)
    send_batch(self, x);
}

// At the end of a message that may have collected ends: sends them now if
// no other message waits (none would add to the batch) or the batch is
// full, else once the messages that wait now are handled.
void settle(node_pointer self) {
  auto& st = self->state;
  if (st.outbox.empty())
    return;
  auto full
      = std::any_of(st.outbox.begin(), st.outbox.end(), [](const auto& x) {
          return x.ends.size() >= max_batch_items || x.bytes >= max_batch_bytes;
        });
  if (full || self->mailbox().empty()) {
    flush(self);
  } else if (!st.flush_sent) {
    st.flush_sent = true;
    self->send(self, batch_flush{});
  }
}

attempt_ended make_end(const attempt_key& key, attempt_outcome outcome,
                       result_code code, std::string message) {
  attempt_ended out;
  out.key = key;
  out.outcome = outcome;
  out.code = code;
  out.message = clamp_message(message);
  out.ended = caf::make_timestamp();
  return out;
}

// Returns the directory of the default output files of `key`'s job, with a
// trailing '/'. It is absolute: the launcher resolves a relative output path
// against the command's working directory, but the run directory is relative
// to ours. A job id is unique within one head only (a head without a journal
// starts again at 1), so the directory is `job-<J>` of the head `head` that
// created it (its file `.head` says which); a job of another head with the
// same id gets `job-<J>.2`, `job-<J>.3`, ...: no output is ever overwritten.
//
// A job whose commands run as another account gets its directory (created
// here, by this process) handed to that account, so its output files can
// be created there as that user.
//
// `chosen` is set when the directory was chosen now rather than remembered:
// then the head is told where it is.
std::string job_dir(node_state& st, const attempt_key& key,
                    const std::string& head,
                    const std::optional<process::credentials>& as,
                    bool& chosen) {
  chosen = false;
  auto& cached = st.job_dirs[key.job];
  if (!cached.second.empty() && cached.first == head)
    return cached.second;
  chosen = true;
  std::filesystem::path run_dir{st.opts.run_dir};
  std::error_code ec;
  if (!run_dir.is_absolute()) {
    auto abs = std::filesystem::absolute(run_dir, ec);
    if (!ec)
      run_dir = std::move(abs);
  }
  auto base = "job-" + std::to_string(key.job);
  std::filesystem::path dir;
  for (int i = 1; i <= 1000; ++i) {
    dir = run_dir / (i == 1 ? base : base + "." + std::to_string(i));
    auto marker = (dir / ".head").string();
    if (std::filesystem::create_directories(dir, ec) && !ec) {
      std::ofstream{marker} << head;
      if (as && ::chown(dir.c_str(), as->uid, as->gid) != 0) {
        // The launcher then fails to open the outputs, naming the file.
      }
      break;
    }
    std::ifstream in{marker};
    std::string owner;
    std::getline(in, owner);
    if (owner == head || ec)
      break; // ours, or a directory we cannot create: the launcher reports
  }
  if (st.job_dirs.size() > 4096)
    st.job_dirs.clear();
  auto out = dir.string() + '/';
  st.job_dirs[key.job] = {head, out};
  return out;
}

// Returns `x` in hexadecimal.
std::string hex(uint64_t x) {
  std::ostringstream out;
  out << std::hex << x;
  return out.str();
}

// Returns the default output file of `stream` for `key` in `dir` (from
// job_dir).
std::string attempt_file(const std::string& dir, const attempt_key& key,
                         const char* stream) {
  return default_output_file(dir, key.task, key.attempt, stream);
}

/// Whom an attempt runs as: this process's user (`as` empty), an account, or
/// nobody (`refused` says why).
struct run_as_choice {
  std::optional<process::credentials> as;
  std::string refused;
};

// Decides whom an attempt of `owner` runs as on this node (docs/security.md,
// "Tasks run as their owner"). A work function runs inside this process and
// cannot change user.
run_as_choice choose_account(const node_state& st, const std::string& owner,
                             bool function) {
  run_as_choice out;
  out.refused = owner_refusal(st.owners, st.opts.name, owner, function);
  if (!out.refused.empty())
    return out;
  auto i = st.opts.accounts.find(owner);
  // No change needed (and none of the groups) for its own uid.
  if (i != st.opts.accounts.end() && i->second.uid != st.self_uid)
    out.as = i->second;
  return out;
}

// Returns the end of attempt `key`, whose work never started on this node:
// stamped with the node and its incarnation, started when it ended, and
// (as every end by default) confirmed dead.
attempt_ended unstarted_end(const node_state& st, const attempt_key& key,
                            attempt_outcome outcome, result_code code,
                            std::string why) {
  auto end = make_end(key, outcome, code, std::move(why));
  end.node = st.opts.name;
  end.incarnation = st.opts.incarnation;
  end.started = end.ended;
  return end;
}

// Reports an end that happened before the work could start.
void report_not_started(node_pointer self, const start_attempt& msg,
                        result_code code, std::string why) {
  send_end(self, msg.reply_to, msg.port,
           unstarted_end(self->state, msg.key, attempt_outcome::not_started,
                         code, std::move(why)));
}

// Tells the head that held attempt `msg` started: its task becomes
// `running` there. Tells the task actor of an attempt that was not held but
// `waited` for a slot all the same (starts of different task actors are not
// ordered): its time limit runs from now.
void report_running(node_pointer self, const start_attempt& msg, bool waited) {
  if (msg.held || waited)
    self->send(msg.reply_to,
               attempt_running{msg.key, self->state.opts.incarnation});
}

// The end of a work function's run that returned `res`.
attempt_ended function_end(const attempt_key& key, work_result res) {
  auto outcome = attempt_outcome::succeeded;
  auto code = result_code::ok;
  if (res.how == work_result::kind::failure) {
    outcome = attempt_outcome::failed;
    code = result_code::task_failed;
  } else if (res.how == work_result::kind::stopped) {
    outcome = attempt_outcome::stopped;
    code = result_code::task_cancelled;
  }
  return make_end(key, outcome, code, std::move(res.message));
}

void start_function(node_pointer self, start_attempt& msg, bool waited) {
  if (auto who = choose_account(self->state, msg.owner, true);
      !who.refused.empty()) {
    report_not_started(self, msg, result_code::spawn_failed,
                       std::move(who.refused));
    return;
  }
  auto found = self->state.registry ? self->state.registry->find(msg.spec.work)
                                    : work_registry::entry{};
  if (!found.fn) {
    report_not_started(self, msg, result_code::work_not_found,
                       "no work function is registered as '" + msg.spec.work
                           + "' on node " + self->state.opts.name);
    return;
  }
  auto st = std::make_shared<work_context::state>();
  st->job = msg.key.job;
  st->task = msg.key.task;
  st->attempt = msg.key.attempt;
  st->args = msg.spec.args;
  auto key = msg.key;
  auto incarnation = self->state.opts.incarnation;
  // Sent as the node: a task actor takes reports of its attempt only from
  // the attempt's node.
  auto weak_self = caf::actor_cast<caf::weak_actor_ptr>(self);
  st->on_progress = [weak_self, reply_to = msg.reply_to, key,
                     incarnation](int percent, std::string text) {
    auto hdl = caf::actor_cast<node_actor>(weak_self.lock());
    if (!hdl)
      return;
    caf::send_as(hdl, reply_to,
                 attempt_progress{key, static_cast<uint8_t>(percent),
                                  clamp_message(text), incarnation});
  };
  if (found.mode == work_mode::non_blocking) {
    // Inline: it starts and ends within this message, so it never enters
    // the attempt table, and no stop or kill can find it running.
    auto started = caf::make_timestamp();
    auto end = function_end(key, call_work(found.fn, std::move(st)));
    end.confirmed_dead = true;
    end.node = self->state.opts.name;
    end.incarnation = incarnation;
    end.started = started;
    send_end(self, msg.reply_to, msg.port, std::move(end));
    return;
  }
  auto done = [weak_self, key](work_result res, bool returned) {
    auto hdl = caf::actor_cast<node_actor>(weak_self.lock());
    if (!hdl)
      return;
    auto end = function_end(key, std::move(res));
    end.confirmed_dead = returned;
    caf::anon_send(hdl, std::move(end));
  };
  report_running(self, msg, waited);
  node_attempt a;
  a.reply_to = std::move(msg.reply_to);
  a.port = std::move(msg.port);
  a.kind = work_kind::function;
  a.started = caf::make_timestamp();
  a.exec_id = self->state.functions->submit(std::move(found.fn), std::move(st),
                                            std::move(done));
  self->state.attempts.emplace(key, std::move(a));
}

void start_command(node_pointer self, start_attempt& msg, bool waited) {
  auto who = choose_account(self->state, msg.owner, false);
  if (!who.refused.empty()) {
    report_not_started(self, msg, result_code::spawn_failed,
                       std::move(who.refused));
    return;
  }
  process::launch_spec spec;
  static_cast<process::command_line&>(spec) = std::move(msg.spec.command);
  spec.run_as = who.as;
  if (spec.stdout_path.empty() || spec.stderr_path.empty()) {
    bool chosen = false;
    // The head is named by its node id; an in-process head (`quiesce run`,
    // an embedding program without a network) has none, so this process's
    // incarnation names it: a second run in the same run directory must
    // not take the first run's job directories.
    auto head_node = msg.reply_to.address().node();
    auto head = head_node ? to_string(head_node)
                          : "in-process:" + hex(self->state.opts.incarnation);
    auto dir = job_dir(self->state, msg.key, head, who.as, chosen);
    if (chosen)
      self->send(msg.reply_to,
                 attempt_output{msg.key, dir, self->state.opts.incarnation});
    if (spec.stdout_path.empty())
      spec.stdout_path = attempt_file(dir, msg.key, "stdout");
    if (spec.stderr_path.empty())
      spec.stderr_path = attempt_file(dir, msg.key, "stderr");
  }
  // Missing directories of the output files (a relative one is relative to
  // the working directory, as `> file` is) are created by the launcher, only
  // when opening a file finds its directory missing: the job directory costs
  // a system call on its first attempt, not on every one.
  spec.create_output_dirs = true;
  auto weak_self = caf::actor_cast<caf::weak_actor_ptr>(self);
  auto key = msg.key;
  auto memory_max = spec.limits.memory_max;
  auto on_exit = [weak_self, key, memory_max](const process::exit_status& st) {
    auto hdl = caf::actor_cast<node_actor>(weak_self.lock());
    if (!hdl)
      return;
    auto ok = st.how == process::exit_status::kind::exited && st.code == 0;
    auto code = ok ? result_code::ok : result_code::task_failed;
    auto message = ok ? std::string{} : process::describe(st);
    // A command that failed after the kernel killed some process of it for
    // its memory limit failed because of that limit.
    if (!ok && st.oom_kills > 0) {
      code = result_code::memory_limit_exceeded;
      message = "killed by the memory limit (memory_max "
                + process::format_bytes(memory_max) + ", peak "
                + process::format_bytes(st.peak_memory) + "): " + message;
    }
    auto end = make_end(
        key, ok ? attempt_outcome::succeeded : attempt_outcome::failed, code,
        std::move(message));
    if (st.how == process::exit_status::kind::exited)
      end.exit_code = st.code;
    else
      end.signal = st.code;
    end.confirmed_dead = st.confirmed;
    end.cpu_time = st.cpu_time;
    end.peak_memory = st.peak_memory;
    caf::anon_send(hdl, std::move(end));
  };
  auto res = self->state.launcher->launch(spec, std::move(on_exit));
  if (!res) {
    report_not_started(self, msg, result_code::spawn_failed, res.error);
    return;
  }
  report_running(self, msg, waited);
  node_attempt a;
  a.reply_to = std::move(msg.reply_to);
  a.port = std::move(msg.port);
  a.kind = work_kind::command;
  a.exec_id = res.id;
  a.stop_signal = msg.spec.stop_signal;
  a.started = caf::make_timestamp();
  self->state.attempts.emplace(key, std::move(a));
}

// Starts attempt `msg` now; `waited`: it waited for a slot.
void launch(node_pointer self, start_attempt& msg, bool waited = false) {
  if (msg.spec.kind == work_kind::function)
    start_function(self, msg, waited);
  else
    start_command(self, msg, waited);
}

// Whether `msg` takes a slot while it runs: a command or a blocking work
// function. A non-blocking one runs within the message that starts it, and
// one that cannot start ends at once.
bool takes_slot(const node_state& st, const start_attempt& msg) {
  if (msg.spec.kind != work_kind::function)
    return true;
  if (!st.registry)
    return false;
  auto found = st.registry->find(msg.spec.work);
  return found.fn && found.mode == work_mode::blocking;
}

// Starts waiting attempts (held ones, and others that found the slots
// taken) while slots are free, in the order they came.
void start_waiting(node_pointer self) {
  auto& st = self->state;
  while (!st.waiting.empty() && st.attempts.size() < st.opts.slots) {
    auto msg = std::move(st.waiting.front());
    st.waiting.pop_front();
    launch(self, msg, true);
  }
}

// Ends every held attempt that has not started, without starting it: as
// `lost` to its task actor (the head places it again), or to nobody when the
// head is gone.
void drop_waiting(node_pointer self, bool tell) {
  auto& st = self->state;
  auto waiting = std::move(st.waiting);
  st.waiting.clear();
  if (!tell)
    return;
  for (auto& msg : waiting)
    send_end(self, msg.reply_to, msg.port,
             unstarted_end(st, msg.key, attempt_outcome::lost,
                           result_code::node_lost,
                           "node " + st.opts.name
                               + " stopped before it started the attempt"));
}

// Withdraws held attempt `key` if it waits for a slot (a request took its
// task out of `queued`): it never starts. Returns false if it does not wait.
bool withdraw(node_pointer self, const attempt_key& key) {
  auto& st = self->state;
  auto i
      = std::find_if(st.waiting.begin(), st.waiting.end(),
                     [&key](const start_attempt& x) { return x.key == key; });
  if (i == st.waiting.end())
    return false;
  auto msg = std::move(*i);
  st.waiting.erase(i);
  // Stopped: a task that is still `running` in the head's books (placed on
  // a slot this node had not freed yet) ends `cancelled`, as work that
  // acknowledged the stop does; a held one is decided already.
  auto end = unstarted_end(st, key, attempt_outcome::stopped,
                           result_code::task_cancelled,
                           "withdrawn before it started");
  end.stop_requested = true;
  send_end(self, msg.reply_to, msg.port, std::move(end));
  return true;
}

// Kills an attempt once: SIGKILL to a command's group, a stop request to a
// function; what is still there after the kill bound is abandoned.
void kill_attempt(node_pointer self, const attempt_key& key, node_attempt& a) {
  if (a.killed)
    return;
  a.killed = true;
  if (a.kind == work_kind::function)
    self->state.functions->request_stop(a.exec_id);
  else
    self->state.launcher->kill(a.exec_id);
  self->delayed_send(self, self->state.opts.kill_bound,
                     attempt_timer{key, false});
}

// Reports the end of attempt `i` (it leaves the table): to its task actor,
// held while that is gone with a lost head, or to nobody.
void report(
    node_pointer self,
    std::unordered_map<attempt_key, node_attempt, attempt_key_hash>::iterator i,
    attempt_ended end) {
  auto& st = self->state;
  auto& a = i->second;
  end.node = st.opts.name;
  end.incarnation = st.opts.incarnation;
  end.started = a.started;
  end.stop_requested = end.stop_requested || a.stop_requested;
  auto hdl = std::move(a.reply_to);
  auto port = std::move(a.port);
  auto orphaned = a.orphaned;
  auto discard = a.discard;
  st.attempts.erase(i);
  if (!discard && orphaned)
    st.held.emplace(end.key, std::move(end));
  else if (!discard)
    send_end(self, hdl, port, std::move(end));
  // A slot is free: the next held attempt starts. Its running report goes
  // straight to its task actor, and may reach the head before this end when
  // the end waits in an end batch: they concern different attempts, whose
  // reports were never ordered at the supervisor.
  start_waiting(self);
}

// The head is gone: every attempt's task actor with it. They run on for the
// lease; their ends are held.
void head_lost(node_pointer self, const node_reset& msg) {
  auto& st = self->state;
  st.away_epoch = msg.epoch;
  for (auto& [key, a] : st.attempts)
    a.orphaned = true;
  // Nobody is there to hear that they start: the head that comes back finds
  // them gone and places their tasks again.
  drop_waiting(self, false);
  self->delayed_send(
      self, msg.lease,
      node_reset{msg.reason, head_change::expired, msg.lease, msg.epoch});
}

// The lease expired without the head: the attempts it would have taken over
// are killed, and nobody will ask for their ends.
void lease_expired(node_pointer self, const node_reset& msg) {
  auto& st = self->state;
  if (msg.epoch != st.away_epoch || st.away_epoch == 0)
    return; // the head came back in time, or this is an older loss's timer
  st.away_epoch = 0;
  st.held.clear();
  for (auto& [key, a] : st.attempts) {
    if (!a.orphaned)
      continue;
    a.discard = true;
    kill_attempt(self, key, a);
  }
}

// Takes start `msg` (from a task actor, or from a port's start_batch with
// its `port` set): starts it, holds it until a slot frees, or takes a
// running attempt over for a head that restarted or reconnected.
void accept_start(node_pointer self, start_attempt& msg) {
  if (auto i = self->state.attempts.find(msg.key);
      i != self->state.attempts.end()) {
    // A duplicate delivery, or a head taking the attempt over after a
    // restart or a lost connection: its end goes to the new task actor.
    if (msg.adopt && i->second.discard) {
      // Killed at the end of the lease just before the head took it
      // over: lost, and its own end goes nowhere.
      auto end
          = make_end(msg.key, attempt_outcome::lost, result_code::node_lost,
                     "killed at the end of the head lease");
      // Maybe still dying: the head waits its lease before it places
      // the task again.
      end.confirmed_dead = false;
      end.node = self->state.opts.name;
      end.incarnation = self->state.opts.incarnation;
      send_end(self, msg.reply_to, msg.port, std::move(end));
    } else if (msg.adopt) {
      i->second.reply_to = std::move(msg.reply_to);
      i->second.port = std::move(msg.port);
      i->second.orphaned = false;
    }
    return;
  }
  if (msg.adopt) {
    if (auto h = self->state.held.find(msg.key); h != self->state.held.end()) {
      // It ended while the head was away: its end, kept, goes now.
      auto end = std::move(h->second);
      self->state.held.erase(h);
      send_end(self, msg.reply_to, msg.port, std::move(end));
      return;
    }
    // It ended while the head was away and its end was lost with the
    // head: lost, so the requeue rules of a lost node apply.
    auto end = make_end(msg.key, attempt_outcome::lost, result_code::node_lost,
                        "the attempt ended while the head was away");
    end.node = self->state.opts.name;
    end.incarnation = self->state.opts.incarnation;
    send_end(self, msg.reply_to, msg.port, std::move(end));
    return;
  }
  // A slot is free for it unless every slot is taken or held attempts
  // wait already (they go first).
  auto& st = self->state;
  if (takes_slot(st, msg)
      && (st.attempts.size() >= st.opts.slots || !st.waiting.empty())) {
    // Placed for a free slot that a held start took first: its task actor
    // holds back its time limit until it starts (report_running).
    if (!msg.held)
      self->send(msg.reply_to,
                 attempt_running{msg.key, st.opts.incarnation, true});
    st.waiting.push_back(std::move(msg));
    return;
  }
  launch(self, msg);
}

} // namespace

owner_policy owner_policy_of(const node_options& opts) {
  owner_policy out;
  out.self_uid = ::geteuid();
  out.self_user = process::account_name(out.self_uid);
  out.strict = opts.strict_owners;
  for (const auto& [name, acc] : opts.accounts)
    out.accounts.push_back(owner_account{name, acc.uid});
  return out;
}

namespace {

node_actor::behavior_type node_impl(node_pointer self, node_options opts,
                                    std::shared_ptr<work_registry> registry,
                                    std::shared_ptr<process::launcher> lnch) {
  self->state.functions = std::make_unique<function_executor>(opts.slots);
  self->state.opts = std::move(opts);
  self->state.registry = std::move(registry);
  self->state.launcher = std::move(lnch);
  self->state.owners = owner_policy_of(self->state.opts);
  self->state.self_uid = self->state.owners.self_uid;
  self->state.self_user = self->state.owners.self_user;
  return {
      [=](start_attempt& msg) {
        accept_start(self, msg);
        settle(self);
      },
      [=](start_batch& batch) {
        for (auto& msg : batch.starts) {
          msg.port = batch.port;
          accept_start(self, msg);
        }
        settle(self);
      },
      [=](batch_flush) {
        self->state.flush_sent = false;
        flush(self);
      },
      [=](const signal_attempt& msg) {
        auto i = self->state.attempts.find(msg.key);
        if (i == self->state.attempts.end() && withdraw(self, msg.key)) {
          settle(self);
          return;
        }
        if (i == self->state.attempts.end()) {
          // Already ended; a kill of an attempt whose end is held means the
          // head does not take it over: nobody will ask for that end.
          if (msg.mode == stop_mode::kill)
            self->state.held.erase(msg.key);
          return;
        }
        auto& a = i->second;
        a.stop_requested = true;
        if (msg.mode == stop_mode::kill) {
          // An orphan the head has killed is stale there: nobody takes its
          // end.
          if (a.orphaned)
            a.discard = true;
          kill_attempt(self, msg.key, a);
          return;
        }
        if (a.kind == work_kind::function)
          self->state.functions->request_stop(a.exec_id);
        else
          self->state.launcher->signal(a.exec_id, a.stop_signal);
      },
      [=](attempt_ended& end) {
        auto i = self->state.attempts.find(end.key);
        if (i == self->state.attempts.end())
          return; // reported already (abandoned)
        end.stop_requested = false;
        report(self, i, std::move(end));
        settle(self);
      },
      [=](const node_reset& msg) {
        switch (msg.change) {
          case head_change::stop:
            self->state.away_epoch = 0;
            self->state.held.clear();
            drop_waiting(self, true);
            for (auto& [key, a] : self->state.attempts) {
              a.stop_requested = true;
              kill_attempt(self, key, a);
            }
            break;
          case head_change::lost:
            head_lost(self, msg);
            break;
          case head_change::joined:
            if (msg.epoch == self->state.away_epoch)
              self->state.away_epoch = 0;
            break;
          case head_change::expired:
            lease_expired(self, msg);
            break;
        }
        // At once: a stopping worker may not let the node handle a flush.
        flush(self);
      },
      [=](node_hello& hello) {
        auto& st = self->state;
        hello.incarnation = st.opts.incarnation;
        hello.owners = st.owners;
        hello.running.clear();
        for (const auto& [key, a] : st.attempts)
          if (a.orphaned && !a.discard)
            hello.running.push_back(key);
        for (const auto& [key, end] : st.held)
          hello.running.push_back(key);
        return std::move(hello);
      },
      [=](const attempt_timer& t) {
        auto i = self->state.attempts.find(t.key);
        if (i == self->state.attempts.end())
          return; // died within the bound
        auto& a = i->second;
        if (a.kind == work_kind::function) {
          // Reports through the executor's callback, as not returned.
          self->state.functions->abandon(a.exec_id);
          return;
        }
        auto end
            = make_end(t.key, attempt_outcome::failed, result_code::task_failed,
                       "process not confirmed dead after SIGKILL");
        end.confirmed_dead = false;
        end.stop_requested = true;
        report(self, i, std::move(end));
        settle(self);
      },
  };
}

} // namespace

node_actor spawn_node(caf::actor_system& sys, node_options opts,
                      std::shared_ptr<work_registry> registry,
                      std::shared_ptr<process::launcher> launcher) {
  return sys.spawn(node_impl, std::move(opts), std::move(registry),
                   std::move(launcher));
}

} // namespace quiesce
