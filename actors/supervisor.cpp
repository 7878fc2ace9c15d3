#include "actors/supervisor.hpp"

#include "actors/access.hpp"
#include "actors/books.hpp"
#include "actors/history.hpp"
#include "actors/ignored.hpp"
#include "actors/job.hpp"
#include "actors/journal.hpp"
#include "actors/nodes.hpp"
#include "actors/observer.hpp"
#include "actors/pending.hpp"
#include "actors/placement.hpp"
#include "actors/port.hpp"
#include "actors/rules.hpp"
#include "config/duration.hpp"

#include <caf/actor_clock.hpp>
#include <caf/actor_registry.hpp>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <algorithm>
#include <deque>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string_view>
#include <tuple>
#include <vector>

namespace quiesce {

namespace {

using pending = pending_replies<caf::typed_response_promise<job_status_reply>,
                                caf::typed_response_promise<op_reply>>;

/// The state of the supervisor: the pieces it drives.
struct supervisor_state {
  supervisor_options opts;
  /// Every job's records.
  books jobs;
  /// The nodes and their slots.
  node_table nodes;
  /// Which job starts next, which task runs where.
  placement plan;
  /// Replies waiting for a job to end.
  pending replies;
  /// The actor of each job, from its first dispatch until its end.
  std::map<job_id, job_actor> actors;
  /// Job actors of jobs that ended, kept (with their assessment and task
  /// actors) for jobs that start later: no spawn and exit per job.
  std::vector<job_actor> idle_jobs;
  std::vector<event_sink_actor> subscribers;
  /// Without a journal: open event scopes (`event_scope`) and the events
  /// they hold, sent as one batch when the outermost one closes.
  uint32_t event_scopes = 0;
  std::vector<event> scoped_events;
  /// With a journal: what waits for changes to be written (group commit,
  /// docs/durability.md).
  struct held_back {
    /// The batch handed to the journal's writer; 0: not yet handed over.
    uint64_t batch = 0;
    /// The events the changes publish.
    std::vector<event> events;
    /// Jobs whose waiting replies (wait, terminate) the changes may release.
    std::set<job_id> settle;
    /// Jobs with rows in the batch.
    std::vector<job_id> jobs;
    /// Replies that acknowledge the changes.
    std::vector<std::function<void()>> replies;
    /// Replies that go as well when the write fails: those that free
    /// resources (cancels, terminates, a node joining).
    std::vector<std::function<void()>> replies_on_failure;
  };
  /// What the messages served since the last hand-over hold.
  held_back next;
  /// Batches handed over and not yet written, oldest first.
  std::deque<held_back> unwritten;
  /// Each job with rows not yet written: the last batch holding some.
  std::map<job_id, uint64_t> unwritten_jobs;
  /// The last batch handed over while it is not known to be written; 0: none.
  /// Changes wait in the books while there is one, and go with the next.
  uint64_t in_flight = 0;
  /// Why the journal could not be written; new work is refused meanwhile.
  std::string journal_failure;
  /// An attempt whose node is gone while its process may live on: it stays
  /// live (its task is not placed again) until it is known dead or its
  /// deadline passes.
  struct orphan {
    /// The node it ran on; empty when unknown.
    std::string node;
    /// That node's incarnation; 0 for an attempt from before a restart.
    uint64_t incarnation = 0;
    /// The reconcile_deadline that ends it: 0 for the restart's.
    uint64_t round = 0;
    /// Its end's message when the deadline passes.
    std::string why;
    /// When that deadline passes.
    caf::actor_clock::time_point due{};
  };
  /// Attempts that ran before a restart or on a lost node, not yet taken
  /// over by their node or known dead (docs/containment.md, "Fencing").
  std::map<std::pair<job_id, task_id>, orphan> orphans;
  /// The last reconcile_deadline round handed out.
  uint64_t rounds = 0;
  /// Terminal jobs by the time they ended: they leave memory once
  /// `job_retention` passed (docs/durability.md, "History and retention").
  std::set<std::pair<caf::timestamp, job_id>> retiring;
  /// Jobs past their retention that something still waits on.
  std::set<job_id> held;
  /// A retire tick is in the mailbox or on the clock.
  bool retire_pending = false;
  /// The identity bound to each remote peer process, and the actor of that
  /// peer whose end (or the loss of its connection) ends the binding.
  struct bound_peer {
    identity who;
    caf::actor_addr session;
  };
  std::map<caf::node_id, bound_peer> peers;
  /// With an observer: when each accepted cancel request was made, by what
  /// it stops (job, kind, subject); the first request for each counts.
  std::map<std::tuple<job_id, event_kind, uint64_t>, caf::timestamp> cancels;

  static inline const char* name = "quiesce.supervisor";
};

using supervisor_pointer = supervisor_actor::stateful_pointer<supervisor_state>;

bool is_active(job_status x) {
  return x == job_status::running || x == job_status::cancelling;
}

std::string no_job(job_id id) {
  return "no job " + std::to_string(id);
}

constexpr const char* unauthenticated
    = "not authenticated: this connection has not proved who it is "
      "(docs/security.md)";

// Returns whether the current message comes from an actor of this process
// (the embedding program, the runtime's own client or local node). A message
// without a sender may come from anywhere (BASP carries anonymous messages):
// it is not from here. Nor is one whose sender is in the actor registry: CAF
// 0.17's BASP takes a message's source node and actor from the peer's header
// unchecked, and a header naming this node yields the *registered* local
// actor of that id (docs/security.md). Only actors whose handles went over
// the network are registered; a genuine in-process asker never is.
bool from_here(supervisor_pointer self) {
  const auto& src = self->current_sender();
  return src && src->node() == self->node()
         && self->system().registry().get(src->id()) == nullptr;
}

// Returns whether the current message is one of the supervisor's own timers
// (terminate and reconcile deadlines, the journal's flush tick). A published
// supervisor is in the registry, so `from_here` cannot tell its own
// delayed_send from elsewhere. A forged frame naming the supervisor as its
// source passes too; at worst it fires such a deadline early
// (docs/security.md, "what CAF 0.17.6 still allows").
bool from_self(supervisor_pointer self) {
  const auto& src = self->current_sender();
  return src && src == self->ctrl();
}

// Returns who sent the current message: an in-process sender is who it says
// (`who`), a remote one is the identity bound to its connection, if any;
// the `who` a remote peer chose is never trusted.
std::optional<identity> requester(supervisor_pointer self,
                                  const std::string& who) {
  auto& st = self->state;
  if (from_here(self))
    return identity{who, local_role(who, st.opts.local_admin, st.opts.admins)};
  const auto& src = self->current_sender();
  if (!src)
    return std::nullopt;
  auto i = st.peers.find(src->node());
  if (i == st.peers.end())
    return std::nullopt;
  return i->second.who;
}

// Returns the name of request type `T` without its namespace ("cancel_job").
template <class T>
std::string_view op_name() {
  std::string_view x = caf::type_name<T>::value;
  return x.substr(x.rfind(':') + 1);
}

// Tells the observer, if any, that a request was answered.
void note(supervisor_pointer self, std::string_view op,
          const std::optional<identity>& who, job_id job, task_id task,
          result_code code, std::string_view detail, bool query = false) {
  const auto& obs = self->state.opts.observer;
  if (!obs)
    return;
  request_note x;
  x.operation = op;
  x.who = who ? std::string_view{who->name} : std::string_view{};
  x.authenticated = who.has_value();
  x.query = query;
  x.job = job;
  x.task = task;
  x.code = code;
  x.detail = detail;
  obs->on_request(x);
}

// With an observer: starts the clock of what an accepted cancel request
// stops (one clock read per request); its end stops it in `commit`.
void start_cancel_clock(supervisor_pointer self, job_id job, event_kind kind,
                        const std::vector<uint64_t>& subjects) {
  auto now = caf::make_timestamp();
  for (auto subject : subjects)
    self->state.cancels.emplace(std::make_tuple(job, kind, subject), now);
}

template <class Request>
void track_cancel(supervisor_pointer, const Request&, const decision&) {
  // Not a cancel request.
}

void track_cancel(supervisor_pointer self, const cancel_job& req,
                  const decision& d) {
  if (d.code == result_code::ok)
    start_cancel_clock(self, req.job, event_kind::job, {0});
}

void track_cancel(supervisor_pointer self, const terminate_job& req,
                  const decision& d) {
  if (d.code == result_code::ok)
    start_cancel_clock(self, req.job, event_kind::job, {0});
}

void track_cancel(supervisor_pointer self, const cancel_assessment& req,
                  const decision& d) {
  if (d.code == result_code::ok)
    start_cancel_clock(self, req.job, event_kind::assessment, {req.index});
}

void track_cancel(supervisor_pointer self, const cancel_task& req,
                  const decision& d) {
  if (d.code == result_code::ok)
    start_cancel_clock(self, req.job, event_kind::task, {req.task});
}

// Tasks before the first refusal are cancelled even when the reply is one.
void track_cancel(supervisor_pointer self, const cancel_tasks& req,
                  const decision& d) {
  std::vector<uint64_t> done;
  for (size_t i = 0; i < req.tasks.size() && i < d.codes.size(); ++i)
    if (d.codes[i] == result_code::ok)
      done.push_back(req.tasks[i]);
  start_cancel_clock(self, req.job, event_kind::task, done);
}

// Stops the cancel clock of what change `c` of job `job` ended, if one runs.
void stop_cancel_clock(supervisor_pointer self, job_id job, const transition& c,
                       caf::timestamp now) {
  bool ended = false;
  switch (c.kind) {
    case event_kind::job:
      ended = is(c.to, job_status::finished) || is(c.to, job_status::failed)
              || is(c.to, job_status::cancelled);
      break;
    case event_kind::assessment:
      ended = is(c.to, assessment_status::completed);
      break;
    case event_kind::task:
      ended = is(c.to, task_status::finished) || is(c.to, task_status::failed)
              || is(c.to, task_status::cancelled);
      break;
    case event_kind::progress:
      break;
  }
  if (!ended)
    return;
  auto& cancels = self->state.cancels;
  if (auto i = cancels.find(std::make_tuple(job, c.kind, c.subject));
      i != cancels.end()) {
    self->state.opts.observer->on_cancel_settled(now - i->second);
    cancels.erase(i);
  }
  // Nothing of an ended job is left to stop.
  if (c.kind == event_kind::job)
    cancels.erase(
        cancels.lower_bound(std::make_tuple(job, event_kind::job, 0)),
        cancels.lower_bound(std::make_tuple(job + 1, event_kind::job, 0)));
}

// The most events one message carries to a subscriber.
constexpr size_t max_event_batch = 1000;

// Sends `evs` to every subscriber, in order: one message per step rather
// than one per change (a one-task job's end and the next one's start are
// six changes), in batches of at most max_event_batch.
void send_events(supervisor_pointer self, std::vector<event>& evs) {
  auto& subs = self->state.subscribers;
  if (evs.size() == 1) {
    for (auto& sub : subs)
      self->send(sub, evs.front());
    return;
  }
  for (size_t i = 0; i < evs.size(); i += max_event_batch) {
    auto last = std::min(evs.size(), i + max_event_batch);
    event_batch batch{{std::make_move_iterator(evs.begin() + i),
                       std::make_move_iterator(evs.begin() + last)}};
    for (auto& sub : subs)
      self->send(sub, batch);
  }
}

void publish(supervisor_pointer self, const event& ev) {
  auto& st = self->state;
  if (st.opts.log) {
    st.next.events.push_back(ev);
    return;
  }
  if (st.event_scopes > 0) {
    st.scoped_events.push_back(ev);
    return;
  }
  for (auto& sub : st.subscribers)
    self->send(sub, ev);
}

// Holds the events published while it lives (without a journal, which
// holds them anyway) and sends them as one batch when the outermost scope
// closes: in the order they were published, before anything published
// after it.
class event_scope {
public:
  explicit event_scope(supervisor_pointer self) : self_(self) {
    ++self_->state.event_scopes;
  }

  event_scope(const event_scope&) = delete;
  event_scope& operator=(const event_scope&) = delete;

  ~event_scope() {
    auto& st = self_->state;
    if (--st.event_scopes > 0 || st.scoped_events.empty())
      return;
    auto evs = std::move(st.scoped_events);
    st.scoped_events.clear();
    send_events(self_, evs);
  }

private:
  supervisor_pointer self_;
};

// The round of a reconcile_deadline that is a retire tick.
constexpr uint64_t retire_tick = UINT64_MAX - 1;

// Returns true if something still waits on terminal job `b`: live attempts
// (work that may run), its actor, pending wait/terminate replies, or
// replies and events held until its changes are durable.
bool waited_on(supervisor_pointer self, const job_books& b) {
  auto& st = self->state;
  auto id = b.job.id;
  return !b.live.empty() || st.actors.count(id) > 0 || st.replies.waiting(id)
         || st.next.settle.count(id) > 0 || st.unwritten_jobs.count(id) > 0
         || st.jobs.dirty(id);
}

// Removes terminal job `id` from memory: the books, the replies and the
// placement forget it.
void retire(supervisor_pointer self, job_id id) {
  auto& st = self->state;
  st.replies.forget(id);
  st.plan.forget(id);
  st.jobs.retire(id);
}

// Retires every terminal job whose end is older than the retention age and
// that nothing waits on; a job something waits on is held and tried again
// after each message. With a journal only once every change is written:
// what leaves memory is in the journal. Arms a tick for the next job due.
void retire_due(supervisor_pointer self) {
  auto& st = self->state;
  auto age = st.opts.job_retention;
  if (age.count() < 0 || (st.retiring.empty() && st.held.empty()))
    return;
  if (st.opts.log && !st.journal_failure.empty())
    return;
  for (auto i = st.held.begin(); i != st.held.end();) {
    const auto* b = st.jobs.find(*i);
    if (b == nullptr || !is_terminal(b->job.status)) {
      i = st.held.erase(i); // requeued: it is due again when it ends
    } else if (!waited_on(self, *b)) {
      retire(self, *i);
      i = st.held.erase(i);
    } else {
      ++i;
    }
  }
  auto now = caf::make_timestamp();
  while (!st.retiring.empty()) {
    auto [ended, id] = *st.retiring.begin();
    if (ended + age > now)
      break;
    st.retiring.erase(st.retiring.begin());
    const auto* b = st.jobs.find(id);
    // Gone already, requeued, or ended again later (a later entry counts).
    if (b == nullptr || !is_terminal(b->job.status) || b->job.ended + age > now)
      continue;
    if (waited_on(self, *b))
      st.held.insert(id);
    else
      retire(self, id);
  }
  if (st.retiring.empty() || st.retire_pending)
    return;
  st.retire_pending = true;
  auto due = st.retiring.begin()->first + age - now;
  self->delayed_send(
      self,
      std::max(std::chrono::duration_cast<std::chrono::milliseconds>(due),
               std::chrono::milliseconds{1}),
      reconcile_deadline{retire_tick});
}

// Lets go what `h` held: its events, the replies it releases, its replies.
void let_go(supervisor_pointer self, supervisor_state::held_back& h) {
  auto& st = self->state;
  if (!h.events.empty())
    send_events(self, h.events);
  for (auto id : h.settle)
    if (const auto* b = st.jobs.find(id))
      st.replies.settle(*b);
  for (auto& r : h.replies)
    r();
  for (auto& r : h.replies_on_failure)
    r();
}

// Appends what `from` holds to `to`.
void add_held(supervisor_state::held_back& to,
              supervisor_state::held_back&& from) {
  to.events.insert(to.events.end(),
                   std::make_move_iterator(from.events.begin()),
                   std::make_move_iterator(from.events.end()));
  to.settle.insert(from.settle.begin(), from.settle.end());
  for (auto& r : from.replies)
    to.replies.push_back(std::move(r));
  for (auto& r : from.replies_on_failure)
    to.replies_on_failure.push_back(std::move(r));
}

// With a journal: hands what changed since the last hand-over to the
// journal's writer as one batch; what the messages served meanwhile hold
// waits for it. With nothing to write, what they hold waits for the batches
// before (what it tells may rest on them), or goes if there are none.
void hand_over(supervisor_pointer self) {
  auto& st = self->state;
  auto& next = st.next;
  if (!st.jobs.dirty()) {
    if (next.events.empty() && next.settle.empty() && next.replies.empty()
        && next.replies_on_failure.empty())
      return;
    auto h = std::move(next);
    next = {};
    if (st.unwritten.empty())
      let_go(self, h);
    else
      add_held(st.unwritten.back(), std::move(h));
    return;
  }
  auto batch = st.jobs.take_batch();
  next.jobs.reserve(batch.jobs.size());
  for (const auto& j : batch.jobs)
    next.jobs.push_back(j.id);
  auto number = st.opts.log->write(std::move(batch));
  for (auto id : next.jobs)
    st.unwritten_jobs[id] = number;
  next.batch = number;
  st.unwritten.push_back(std::move(next));
  next = {};
  st.in_flight = number;
}

// With a journal: takes in how far its writer got. Lets go what waits for
// the batches written; after a failure, refuses new work until a write
// succeeds again and lets the replies that free resources go.
void take_progress(supervisor_pointer self, const journal_progress& p) {
  auto& st = self->state;
  while (!st.unwritten.empty() && st.unwritten.front().batch <= p.written) {
    auto h = std::move(st.unwritten.front());
    st.unwritten.pop_front();
    for (auto id : h.jobs)
      if (auto i = st.unwritten_jobs.find(id);
          i != st.unwritten_jobs.end() && i->second <= h.batch)
        st.unwritten_jobs.erase(i);
    let_go(self, h);
  }
  if (st.in_flight != 0 && p.written >= st.in_flight)
    st.in_flight = 0;
  if (!p.failure.empty()) {
    if (st.journal_failure.empty())
      std::cerr << "quiesce: " << p.failure << std::endl;
    st.journal_failure = p.failure;
    auto go = [&](supervisor_state::held_back& h) {
      auto rs = std::move(h.replies_on_failure);
      h.replies_on_failure.clear();
      for (auto& r : rs)
        r();
    };
    for (auto& h : st.unwritten)
      go(h);
    go(st.next);
  } else if (!st.journal_failure.empty()) {
    std::cerr << "quiesce: the journal is written again" << std::endl;
    st.journal_failure.clear();
  }
}

// Called at the end of every handler that may change the books. Without a
// journal, retires what is due. With one, hands the changes over to the
// writer unless a batch is under way (they go with the next: group commit);
// events and waiting replies they release are held until written, so
// nothing leaves the supervisor before the change it reports is durable.
void make_durable(supervisor_pointer self) {
  auto& st = self->state;
  if (st.opts.log && st.in_flight == 0)
    hand_over(self);
  retire_due(self);
}

// With a journal: waits until the batch under way (if any) is written or
// failed, and takes that in. For requests that add work, which are written
// before their reply and taken back if that fails.
void settle_writes(supervisor_pointer self) {
  auto& st = self->state;
  if (st.in_flight == 0)
    return;
  take_progress(self, st.opts.log->wait(st.in_flight));
}

// With a journal: hands every change over and waits until it is written or
// failed; returns its batch (0 if nothing was to be written). The caller
// settled the batch under way before (settle_writes).
uint64_t write_now(supervisor_pointer self) {
  auto& st = self->state;
  if (!st.jobs.dirty())
    return 0;
  hand_over(self);
  auto number = st.in_flight;
  take_progress(self, st.opts.log->wait(number));
  return number;
}

// The round of a reconcile_deadline that tells the journal's writer wrote
// (or failed to write) a transaction.
constexpr uint64_t journal_tick = UINT64_MAX;

// Returns `reply` once the changes made so far are written. Replies that add
// work (`new_work`) wait for that; the others are sent at once while the
// journal fails (they free resources; docs/durability.md). A refusal, which
// acknowledges nothing, goes at once.
template <class Reply>
caf::result<Reply> durably(supervisor_pointer self, Reply reply,
                           bool new_work = false, bool acknowledges = false) {
  auto& st = self->state;
  if (!st.opts.log || (reply.code != result_code::ok && !acknowledges)
      || (!new_work && !st.journal_failure.empty())
      || (!st.jobs.dirty() && st.unwritten.empty())) {
    make_durable(self);
    return reply;
  }
  auto rp = self->make_response_promise<Reply>();
  auto go = [rp, reply = std::move(reply)]() mutable {
    rp.deliver(std::move(reply));
  };
  (new_work ? st.next.replies : st.next.replies_on_failure)
      .emplace_back(std::move(go));
  make_durable(self);
  return rp;
}

// Returns the refusal of new work while the journal cannot be written.
std::string refusal(supervisor_pointer self) {
  const auto& why = self->state.journal_failure;
  return why.empty() ? why : "no new work while the journal fails: " + why;
}

/// The most job actors kept idle for later jobs.
constexpr size_t max_idle_jobs = 64;

// Returns an actor for job `id`: an idle one (messages from here arrive in
// order, so it has handled its last job's end_job first), or a new one.
job_actor job_actor_for(supervisor_pointer self, job_id id) {
  auto& idle = self->state.idle_jobs;
  if (idle.empty())
    return spawn_job(self->system(), id, self);
  auto a = std::move(idle.back());
  idle.pop_back();
  return a;
}

// Returns the actor of job `b`, taking one (idle or new) if it has none yet.
// A job gets its actor with its first dispatch, not when it starts: 20,000
// jobs started at once hold actors only while work of theirs is placed, so
// the idle actors of ended jobs serve the next ones.
job_actor& actor_of(supervisor_pointer self, const job_books& b) {
  auto& a = self->state.actors[b.job.id];
  if (!a) {
    a = job_actor_for(self, b.job.id);
    if (b.job.current >= 0)
      self->send(a, begin_assessment{b.job.id, static_cast<assessment_index>(
                                                   b.job.current)});
  }
  return a;
}

// Performs in the execution tree what follows from change `c` of `b`.
void follow(supervisor_pointer self, job_books& b, const transition& c,
            bool was_active) {
  auto& st = self->state;
  auto id = b.job.id;
  switch (c.kind) {
    case event_kind::job: {
      auto active = is_active(b.job.status);
      if (active && !was_active) {
        // Its actor comes with its first dispatch (actor_of).
        st.plan.job_activated();
      } else if (!active && was_active) {
        st.plan.job_deactivated();
      }
      if (is(c.to, job_status::queued))
        st.plan.job_queued(id);
      break;
    }
    case event_kind::assessment:
      if (is(c.to, assessment_status::running)
          && is(c.from, assessment_status::not_yet_run)) {
        auto index = static_cast<assessment_index>(c.subject);
        if (auto i = st.actors.find(id); i != st.actors.end() && i->second)
          self->send(i->second, begin_assessment{id, index});
        st.plan.begin_assessment(b, index);
      }
      break;
    case event_kind::task:
      if (is(c.to, task_status::queued)
          && dispatchable(b, b.tasks[c.subject - 1]))
        st.plan.ready(id, static_cast<task_id>(c.subject));
      // A held attempt whose task a request took out of `queued` is
      // withdrawn: its node drops it, or kills it if it started already
      // (docs/semantics.md, "Held attempts"). Its task's status stays as
      // decided; the attempt is live until its node reports the end.
      if (is(c.from, task_status::queued) && !is(c.to, task_status::running)
          && b.held.erase(static_cast<task_id>(c.subject)) > 0) {
        if (auto i = st.actors.find(id); i != st.actors.end() && i->second)
          self->send(i->second, stop_tasks{id,
                                           {static_cast<task_id>(c.subject)},
                                           stop_mode::kill});
      }
      break;
    case event_kind::progress:
      break;
  }
}

// Applies one change to the books, publishes it and performs what follows
// from it.
void commit(supervisor_pointer self, job_books& b, const transition& c,
            const std::string& who) {
  auto& st = self->state;
  auto now = caf::make_timestamp();
  auto was_active = is_active(b.job.status);
  auto seq = st.jobs.commit(b, c, now, who);
  if (c.kind == event_kind::job && st.opts.job_retention.count() >= 0
      && is_terminal(b.job.status))
    st.retiring.emplace(b.job.ended, b.job.id);
  if (!st.cancels.empty())
    stop_cancel_clock(self, b.job.id, c, now);
  // Building events nobody receives costs throughput.
  if (!st.subscribers.empty())
    publish(self, make_event(b.job.id, c, seq, who, now));
  follow(self, b, c, was_active);
}

void commit_all(supervisor_pointer self, job_books& b, const decision& d,
                const std::string& who) {
  for (const auto& c : d.changes)
    commit(self, b, c, who);
  if (d.stop.empty())
    return;
  if (auto i = self->state.actors.find(b.job.id);
      i != self->state.actors.end() && i->second)
    self->send(i->second, stop_tasks{b.job.id, d.stop, d.mode});
}

// Runs the job's rules forward (assessment ends, next begins, job ends),
// answers whoever waits and retires the job's actor once it is over.
void settle(supervisor_pointer self, job_books& b) {
  auto& st = self->state;
  for (int guard = 0; guard < 1 << 20; ++guard) {
    auto d = advance(b);
    if (d.changes.empty())
      break;
    commit_all(self, b, d, {});
  }
  if (st.opts.log)
    st.next.settle.insert(b.job.id);
  else
    st.replies.settle(b);
  if (!is_terminal(b.job.status) || !b.live.empty())
    return;
  if (auto i = st.actors.find(b.job.id); i != st.actors.end()) {
    if (i->second) {
      // It goes idle (its assessment and task actors with it) for a later
      // job, or, with enough idle already, away.
      self->send(i->second, end_job{b.job.id});
      if (st.idle_jobs.size() < max_idle_jobs)
        st.idle_jobs.push_back(std::move(i->second));
      else
        self->send_exit(i->second, caf::exit_reason::user_shutdown);
    }
    st.actors.erase(i);
  }
}

void dispatch(supervisor_pointer self, const placement::choice& x) {
  auto& b = *x.job;
  auto& t = *x.task;
  auto& n = *x.node;
  // Every slot of the node is taken: the node holds the attempt until one
  // frees, and the task stays `queued` until the node says it started.
  auto held = n.holds_next();
  if (!held) {
    auto first = t.attempts == 0;
    commit(self, b,
           task_change(t.id, task_status::queued, task_status::running),
           n.name);
    // The commit stamped `started`: no clock read of its own.
    if (first && self->state.opts.observer) {
      auto ready
          = std::max(t.submitted, b.job.assessments[t.assessment].started);
      self->state.opts.observer->on_dispatch(t.started - ready);
    }
  }
  self->state.jobs.begin_attempt(b, t, n.name, held);
  self->state.nodes.occupy(n, attempt_key{b.job.id, t.id, t.attempts});
  auto msg = make_run_task(b, t, n);
  msg.held = held;
  self->send(actor_of(self, b), std::move(msg));
}

// Returns true if the live attempt of `key`'s task is `key` and its node
// holds it, the task still `queued` (not yet reported started).
bool is_held(const job_books& b, const attempt_key& key) {
  auto i = b.live.find(key.task);
  return i != b.live.end() && i->second == key.attempt
         && b.held.count(key.task) > 0;
}

// The node started held attempt `key`: its task becomes `running`, with the
// attempt number it got when it was placed.
void promote(supervisor_pointer self, job_books& b, const attempt_key& key,
             const std::string& node) {
  b.held.erase(key.task);
  commit(self, b,
         task_change(key.task, task_status::queued, task_status::running),
         node);
}

// Starts queued jobs and places dispatchable tasks on free slots.
void schedule(supervisor_pointer self) {
  event_scope scope{self};
  auto& st = self->state;
  for (auto id = st.plan.next_start(); id != invalid_id;
       id = st.plan.next_start()) {
    auto* b = st.jobs.find(id);
    if (b == nullptr || b->job.status != job_status::queued)
      continue; // cancelled while it waited
    commit_all(self, *b, start(*b), {});
    settle(self, *b);
  }
  while (auto x = st.plan.next(st.jobs, st.nodes))
    dispatch(self, *x);
}

// What a request about one job found: the job, or why not.
struct found_job {
  job_books* b = nullptr;
  result_code code = result_code::job_not_found;
  std::string detail;
};

// Returns why job `id` is not found: never existed, or retired from memory
// with no journal to read it from.
found_job not_found(supervisor_pointer self, job_id id) {
  auto& st = self->state;
  if (id != invalid_id && id < st.jobs.next_job() && !st.opts.log)
    return {nullptr, result_code::job_not_found,
            "job " + std::to_string(id)
                + " was retired: it ended more than job_retention ("
                + config::format_duration(st.opts.job_retention)
                + ") ago, and this head keeps no journal (--state-dir) to "
                  "read it from"};
  return {nullptr, result_code::job_not_found, no_job(id)};
}

// Reads job `id` into `tmp` from the journal if it is not in memory (it was
// retired; with `with_tasks`, with its task records): for queries, which
// change nothing.
found_job read_job(supervisor_pointer self, job_id id, bool with_tasks,
                   job_books& tmp) {
  auto& st = self->state;
  if (auto* b = st.jobs.find(id))
    return {b, result_code::ok, {}};
  if (!st.opts.log || id == invalid_id || id >= st.jobs.next_job())
    return not_found(self, id);
  try {
    if (st.opts.log->find_job(id, with_tasks, tmp))
      return {&tmp, result_code::ok, {}};
  } catch (const journal_error& e) {
    return {nullptr, result_code::unavailable, e.what()};
  }
  return not_found(self, id);
}

// Returns job `id` for a request that may change it: from memory, or read
// back into memory from the journal (a retired job, terminal: the rules
// answer as for a terminal job in memory; it is retired again when due).
found_job find_job(supervisor_pointer self, job_id id) {
  auto& st = self->state;
  if (auto* b = st.jobs.find(id))
    return {b, result_code::ok, {}};
  job_books tmp;
  auto f = read_job(self, id, true, tmp);
  if (f.b == nullptr)
    return f;
  auto& b = st.jobs.revive(std::move(tmp));
  if (st.opts.job_retention.count() >= 0 && is_terminal(b.job.status))
    st.retiring.emplace(b.job.ended, id);
  return {&b, result_code::ok, {}};
}

// Applies a client request's decision, then settles and schedules.
template <class Reply, class Request>
Reply run_request(supervisor_pointer self, job_books& b, const Request& req,
                  decision& d) {
  event_scope scope{self};
  d = decide(b, req);
  if (self->state.opts.observer)
    track_cancel(self, req, d);
  commit_all(self, b, d, req.who);
  settle(self, b);
  schedule(self);
  Reply reply;
  reply.code = d.code;
  reply.detail = d.detail;
  return reply;
}

// Serves a request about a whole job that replies with a code only.
template <class Request>
op_reply serve_job_request(supervisor_pointer self, Request req,
                           const std::optional<identity>& who) {
  if (!who)
    return {result_code::permission_denied, unauthenticated};
  req.who = who->name;
  auto found = find_job(self, req.job);
  if (found.b == nullptr)
    return {found.code, found.detail};
  auto* b = found.b;
  op_reply refused;
  if (refused.code = check_manage(b->job, *who, refused.detail);
      refused.code != result_code::ok)
    return refused;
  decision d;
  return run_request<op_reply>(self, *b, req, d);
}

// Serves a request about a whole job and tells the observer.
template <class Request>
op_reply run_job_request(supervisor_pointer self, const Request& req) {
  auto who = requester(self, req.who);
  auto reply = serve_job_request(self, req, who);
  note(self, op_name<Request>(), who, req.job, invalid_id, reply.code,
       reply.detail);
  return reply;
}

// Serves a request about one task; the reply names the task's status after
// the request (its current status when refused).
template <class Request>
task_op_reply serve_task_request(supervisor_pointer self, Request req,
                                 const std::optional<identity>& who) {
  if (!who)
    return {result_code::permission_denied, unauthenticated,
            task_status::not_submitted};
  req.who = who->name;
  auto found = find_job(self, req.job);
  if (found.b == nullptr)
    return {found.code, found.detail, task_status::not_submitted};
  auto* b = found.b;
  task_op_reply refused;
  if (refused.code = check_manage(b->job, *who, refused.detail);
      refused.code != result_code::ok) {
    if (const auto* t = b->find(req.task))
      refused.status = t->status;
    return refused;
  }
  decision d;
  auto reply = run_request<task_op_reply>(self, *b, req, d);
  if (const auto* t = b->find(req.task))
    reply.status = t->status;
  return reply;
}

// Serves a request about one task and tells the observer.
template <class Request>
task_op_reply run_task_request(supervisor_pointer self, const Request& req) {
  auto who = requester(self, req.who);
  auto reply = serve_task_request(self, req, who);
  note(self, op_name<Request>(), who, req.job, req.task, reply.code,
       reply.detail);
  return reply;
}

void extend_terminate(supervisor_pointer self, job_id job,
                      caf::actor_clock::time_point orphan_due);

// Serves a terminate_job for `who` (read before the response promise took
// the sender): the reply waits until the job's work is dead or
// the bound expires.
void run_terminate(supervisor_pointer self, terminate_job req,
                   const std::optional<identity>& who,
                   caf::typed_response_promise<op_reply> rp) {
  auto& st = self->state;
  auto refuse = [&](op_reply reply) {
    note(self, "terminate_job", who, req.job, invalid_id, reply.code,
         reply.detail);
    rp.deliver(std::move(reply));
  };
  if (!who) {
    refuse(op_reply{result_code::permission_denied, unauthenticated});
    return;
  }
  req.who = who->name;
  auto found = find_job(self, req.job);
  if (found.b == nullptr) {
    refuse(op_reply{found.code, found.detail});
    return;
  }
  auto* b = found.b;
  op_reply refused;
  if (refused.code = check_manage(b->job, *who, refused.detail);
      refused.code != result_code::ok) {
    refuse(refused);
    return;
  }
  auto d = decide(*b, req);
  if (!d) {
    refuse(op_reply{d.code, d.detail});
    return;
  }
  note(self, "terminate_job", who, req.job, invalid_id, result_code::ok,
       "accepted");
  if (st.opts.observer)
    track_cancel(self, req, d);
  st.replies.terminate(req.job, std::move(rp));
  commit_all(self, *b, d, req.who);
  settle(self, *b);
  schedule(self);
  if (st.replies.arm(req.job, self->clock().now() + st.opts.terminate_bound))
    self->delayed_send(self, st.opts.terminate_bound,
                       terminate_deadline{req.job});
  // An attempt of a lost node is known dead only at the end of its lease:
  // the bound waits for that (issue 17), rather than failing first.
  for (const auto& [key, o] : st.orphans)
    if (key.first == req.job)
      extend_terminate(self, req.job, o.due);
}

// Returns the grace period of `t`'s attempts.
caf::timespan grace_of(const job_books& b, const task_record& t) {
  return t.spec.grace.count() >= 0 ? t.spec.grace : b.job.policy.grace;
}

// Counts and logs a report that is not about the live attempt of its task,
// or that comes from another incarnation of the node: it changes nothing.
void ignore_stale(supervisor_pointer self, const attempt_key& key,
                  uint64_t incarnation, const std::string& node,
                  const char* what) {
  if (auto* n = self->state.nodes.find(node))
    ++n->stale_reports;
  std::ostringstream line;
  line << "ignored a stale " << what << " of " << attempt_name(key)
       << " from node " << node << " (incarnation " << std::hex << incarnation
       << "): not the live attempt of that task, or from an earlier process "
          "of that node";
  log_ignored(line.str());
}

// Moves the bound of the terminate_job replies waiting for `job`, if any,
// past `orphan_due`, when an orphan of the job is known dead: a moment
// later, so that its end comes first.
void extend_terminate(supervisor_pointer self, job_id job,
                      caf::actor_clock::time_point orphan_due) {
  constexpr auto after = std::chrono::seconds{1};
  auto due = orphan_due + after;
  auto now = self->clock().now();
  if (due > now && self->state.replies.extend(job, due))
    self->delayed_send(self, due - now, terminate_deadline{job});
}

// Keeps an attempt whose node was lost live, as an orphan: its process may
// run on for the node's lease. It ends when its node comes back (taken over,
// or known dead) or at the deadline: the node's lease plus its grace period.
void hold(supervisor_pointer self, const job_books& b,
          const attempt_ended& end) {
  auto& st = self->state;
  st.nodes.release(end);
  const auto* t = b.find(end.key.task);
  auto wait = st.opts.node_lease
              + std::chrono::duration_cast<std::chrono::milliseconds>(
                  t != nullptr ? grace_of(b, *t) : caf::timespan{0});
  auto round = ++st.rounds;
  auto due = self->clock().now() + wait;
  st.orphans[{end.key.job, end.key.task}] = supervisor_state::orphan{
      end.node, end.incarnation, round,
      end.message + "; it did not come back within its lease and grace period ("
          + config::format_duration(wait) + ")",
      due};
  self->delayed_send(self, wait, reconcile_deadline{round});
  extend_terminate(self, end.key.job, due);
}

// Takes the end of an attempt into the books, the nodes and the rules.
// `placed`: the attempt holds a slot of a node of this head (false for an
// orphan that ends: from before a restart, or of a lost node).
void run_end(supervisor_pointer self, const attempt_ended& end,
             bool placed = true) {
  event_scope scope{self};
  auto& st = self->state;
  auto* b = st.jobs.find(end.key.job);
  if (b == nullptr)
    return; // an unknown job
  if (placed && !st.nodes.from_placed(end.key, end.incarnation)) {
    ignore_stale(self, end.key, end.incarnation, end.node, "end report");
    return;
  }
  if (placed && end.outcome == attempt_outcome::lost && !end.confirmed_dead
      && st.opts.node_lease.count() >= 0 && b->live.count(end.key.task) > 0
      && b->live.at(end.key.task) == end.key.attempt) {
    // Unless a new process of that node joined already (this report came
    // late): then the attempt is dead now.
    const auto* n = st.nodes.find(end.node);
    if (n == nullptr || n->status != node_status::ready
        || n->incarnation == end.incarnation) {
      hold(self, *b, end);
      return;
    }
  }
  // A held attempt that ends without a start report (a non-blocking
  // function, or one that could not start) started all the same, unless
  // it was lost with its node: then nobody knows, and its task, still
  // `queued`, is placed again once the attempt is known dead.
  if (is_held(*b, end.key) && end.outcome != attempt_outcome::lost)
    promote(self, *b, end.key, end.node);
  if (!st.jobs.end_attempt(*b, end)) {
    if (placed)
      ignore_stale(self, end.key, end.incarnation, end.node, "end report");
    return; // a duplicate or stale report
  }
  st.orphans.erase({end.key.job, end.key.task});
  if (placed)
    st.nodes.release(end);
  if (!end.confirmed_dead)
    st.replies.unconfirmed(end.key.job);
  commit_all(self, *b, decide(*b, end), end.node);
  // A task requeued while its previous attempt was live may go now.
  if (auto* t = b->find(end.key.task); t != nullptr && dispatchable(*b, *t))
    st.plan.ready(b->job.id, t->id);
  settle(self, *b);
  schedule(self);
}

// Takes over the jobs of the journal: queued jobs wait for a start again,
// running and cancelling jobs get their actors back, and the attempts that
// ran have until the reconcile timeout to be reported by their nodes.
void recover(supervisor_pointer self) {
  auto& st = self->state;
  caf::timespan longest_grace{0};
  // Terminal jobs past their retention stay in the journal only.
  caf::timestamp kept_since{};
  if (st.opts.job_retention.count() >= 0)
    kept_since = caf::make_timestamp() - st.opts.job_retention;
  st.jobs.restore(st.opts.log->load(kept_since));
  st.jobs.track();
  if (st.opts.job_retention.count() >= 0)
    for (const auto& [id, b] : st.jobs.jobs())
      if (is_terminal(b.job.status))
        st.retiring.emplace(b.job.ended, id);
  for (auto& [id, b] : st.jobs.jobs()) {
    switch (b.job.status) {
      case job_status::queued:
        st.plan.job_queued(id);
        break;
      case job_status::running:
      case job_status::cancelling: {
        st.plan.job_activated();
        auto a = spawn_job(self->system(), id, self);
        st.actors[id] = a;
        if (b.job.current >= 0) {
          auto index = static_cast<assessment_index>(b.job.current);
          self->send(a, begin_assessment{id, index});
          st.plan.begin_assessment(b, index);
        }
        for (const auto& [task, attempt] : b.live) {
          const auto* t = b.find(task);
          st.orphans[{id, task}] = supervisor_state::orphan{
              t != nullptr ? t->node : std::string{}, 0, 0,
              "the head restarted and no node reported the attempt"};
          if (t != nullptr)
            longest_grace = std::max(longest_grace, grace_of(b, *t));
        }
        break;
      }
      default:
        break;
    }
  }
  for (auto& [id, b] : st.jobs.jobs())
    if (is_active(b.job.status))
      settle(self, *st.jobs.find(id));
  schedule(self);
  make_durable(self);
  // Their nodes keep them for their lease from when they lost the old head,
  // which was before now: past the lease and grace from now, they are dead.
  auto wait
      = std::chrono::duration_cast<caf::timespan>(st.opts.reconcile_timeout);
  if (st.opts.node_lease.count() >= 0)
    wait = std::max(
        wait, std::chrono::duration_cast<caf::timespan>(st.opts.node_lease)
                  + longest_grace);
  if (!st.orphans.empty())
    self->delayed_send(self, wait, reconcile_deadline{});
  for (auto& [key, o] : st.orphans)
    o.due = self->clock().now() + wait;
}

// Ends orphan `key` (if it is still live) as lost: `why` says how it is
// known dead, or that its deadline passed.
void orphan_lost(supervisor_pointer self, std::pair<job_id, task_id> key,
                 std::string why, bool dead) {
  auto& st = self->state;
  auto i = st.orphans.find(key);
  if (i == st.orphans.end())
    return;
  auto o = std::move(i->second);
  st.orphans.erase(i);
  const auto* b = st.jobs.find(key.first);
  if (b == nullptr || b->live.count(key.second) == 0)
    return;
  attempt_ended end;
  end.key = attempt_key{key.first, key.second, b->live.at(key.second)};
  end.outcome = attempt_outcome::lost;
  end.code = result_code::node_lost;
  end.message = std::move(why);
  end.confirmed_dead = dead;
  end.node = o.node;
  if (const auto* t = b->find(key.second); end.node.empty() && t != nullptr)
    end.node = t->node;
  end.incarnation = o.incarnation;
  end.ended = caf::make_timestamp();
  run_end(self, end, false);
}

// The deadline of `round` passed: its orphans are lost (R8). Their node
// killed them at the end of its lease, if it still lives: they count as
// dead, as they do when they are placed again.
void reconcile(supervisor_pointer self, uint64_t round) {
  auto& st = self->state;
  std::vector<std::pair<std::pair<job_id, task_id>, std::string>> due;
  for (const auto& [key, o] : st.orphans)
    if (o.round == round)
      due.emplace_back(key, o.why);
  for (auto& [key, why] : due)
    orphan_lost(self, key, std::move(why), true);
}

// A node that joins reports the attempts it kept (`hello.running`): an
// orphan of that node with the same attempt number and incarnation is taken
// over (a new task actor; its end counts); any other report is stale and the
// node is told to kill it. Every other orphan of that node is dead: a new
// incarnation means the old process is gone (and its cgroups killed), and
// the same one no longer runs what it did not report.
void fence(supervisor_pointer self, const node_hello& hello,
           const std::string& name) {
  auto& st = self->state;
  auto* n = st.nodes.find(name);
  for (const auto& key : hello.running) {
    auto* b = st.jobs.find(key.job);
    const task_record* t = b ? b->find(key.task) : nullptr;
    auto i = st.orphans.find({key.job, key.task});
    if (n == nullptr || t == nullptr || i == st.orphans.end()
        || b->live.count(key.task) == 0 || b->live.at(key.task) != key.attempt
        || t->attempts != key.attempt
        || (!i->second.node.empty() && i->second.node != name)
        || (i->second.incarnation != 0
            && i->second.incarnation != hello.incarnation)) {
      self->send(hello.node, signal_attempt{key, stop_mode::kill});
      // A number this head does not know (its placement was not journaled
      // before a crash) is not used again while that node may still have
      // it: the node would take a new start under the same key for a
      // duplicate.
      if (auto* mt = b ? b->find(key.task) : nullptr;
          mt != nullptr && b->live.count(key.task) == 0)
        st.jobs.skip_attempts(*b, *mt, key.attempt);
      continue;
    }
    st.orphans.erase(i);
    st.nodes.occupy(*n, key);
    // A held attempt its node kept: it started there.
    if (is_held(*b, key))
      promote(self, *b, key, name);
    auto msg = make_run_task(*b, *t, *n);
    msg.adopt = true;
    auto& job = actor_of(self, *b);
    self->send(job, std::move(msg));
    // Cancelled or requeued while its node was away: stop it now.
    if (t->status != task_status::running)
      self->send(job, stop_tasks{key.job, {key.task}, stop_mode::kill});
  }
  std::vector<std::pair<std::pair<job_id, task_id>, std::string>> dead;
  for (const auto& [key, o] : st.orphans) {
    const auto* b = st.jobs.find(key.first);
    const task_record* t = b ? b->find(key.second) : nullptr;
    auto node = o.node.empty() && t != nullptr ? t->node : o.node;
    if (node != name)
      continue;
    std::string why;
    if (o.incarnation == 0)
      why = "the head restarted and node " + name
            + " no longer ran the attempt when it joined";
    else if (o.incarnation != hello.incarnation)
      why = "node " + name + " was lost; it came back as a new process";
    else
      why = "node " + name
            + " was lost; it no longer ran the attempt when it came back";
    dead.emplace_back(key, std::move(why));
  }
  for (auto& [key, why] : dead)
    orphan_lost(self, key, std::move(why), true);
}

// Returns a refusal of an authentication step.
authenticate_reply auth_refused(std::string why) {
  return authenticate_reply{
      result_code::permission_denied, std::move(why), {}, {}};
}

// Hands out a nonce for the sending process to sign (with TLS); the
// authenticator keeps it for that process's node id only.
caf::result<authenticate_reply> run_challenge(supervisor_pointer self) {
  auto& st = self->state;
  if (from_here(self))
    return authenticate_reply{result_code::ok, "in-process", {}, {}};
  if (!self->current_sender())
    return auth_refused("an anonymous message cannot authenticate");
  if (!st.opts.authenticator)
    return auth_refused("this head accepts no remote identities");
  // Before the promise: making it takes the sender out of the message.
  auto peer = self->current_sender()->node();
  auto rp = self->make_response_promise<authenticate_reply>();
  self->request(st.opts.authenticator, std::chrono::seconds{10},
                auth_challenge{peer})
      .then([rp](authenticate_reply& reply) mutable { rp.deliver(reply); },
            [rp](caf::error& err) mutable {
              rp.deliver(
                  auth_refused("cannot make a challenge: " + render(err)));
            });
  return rp;
}

// Tells the observer (the head's log) how an authentication of a remote peer
// ended: the identity bound, or the refusal and why.
void note_authentication(supervisor_pointer self, const authenticate_reply& r,
                         const std::string& peer) {
  auto detail = r.code == result_code::ok ? "bound as " + to_string(r.who.role)
                                          : r.detail;
  if (!peer.empty())
    detail += " (peer " + peer + ")";
  std::optional<identity> who;
  if (r.code == result_code::ok)
    who = r.who;
  note(self, "authenticate", who, invalid_id, invalid_id, r.code, detail);
}

// Binds the identity of a remote peer to its process (node id) once the
// authenticator found who is behind its connection (or checked the proof of
// its certificate); the binding lasts as long as the peer's session actor.
// Each outcome is noted for the head's log.
caf::result<authenticate_reply> run_authenticate(supervisor_pointer self,
                                                 const authenticate& req) {
  auto& st = self->state;
  if (from_here(self))
    return authenticate_reply{
        result_code::ok,
        "in-process",
        identity{{}, st.opts.local_admin ? peer_role::admin : peer_role::user},
        {}};
  auto refuse = [self](std::string why, const std::string& peer) {
    auto out = auth_refused(std::move(why));
    note_authentication(self, out, peer);
    return out;
  };
  if (!self->current_sender())
    return refuse("an anonymous message cannot authenticate", {});
  auto peer = self->current_sender()->node();
  auto peer_name = to_string(peer);
  if (!req.session || req.session->node() != peer)
    return refuse("the session actor must live in the authenticating "
                  "process",
                  peer_name);
  if (!st.opts.authenticator)
    return refuse("this head accepts no remote identities", peer_name);
  auto rp = self->make_response_promise<authenticate_reply>();
  auto session = req.session;
  self->request(st.opts.authenticator, std::chrono::seconds{10},
                verify_peer{peer, req.certificate, req.signature})
      .then(
          [self, rp, peer, peer_name,
           session](authenticate_reply& reply) mutable {
            if (reply.code == result_code::ok) {
              self->state.peers[peer]
                  = supervisor_state::bound_peer{reply.who, session->address()};
              self->monitor(session);
            }
            note_authentication(self, reply, peer_name);
            rp.deliver(std::move(reply));
          },
          [self, rp, peer_name](caf::error& err) mutable {
            auto out = auth_refused("cannot verify the peer: " + render(err));
            note_authentication(self, out, peer_name);
            rp.deliver(std::move(out));
          });
  return rp;
}

// Checks an add_job for `who`; returns its refusal, or ok.
add_job_reply check_add_job(const add_job& req,
                            const std::optional<identity>& who) {
  if (!who)
    return {result_code::permission_denied, unauthenticated, invalid_id};
  if (who->role == peer_role::node)
    return {result_code::permission_denied,
            who->name + " has the node role, which submits no jobs",
            invalid_id};
  if (auto d = validate(req.spec); !d)
    return {d.code, d.detail, invalid_id};
  return {result_code::ok, {}, invalid_id};
}

// With a journal: takes back jobs `ids`, just added, whose batch `number`
// was not written: they leave the writer's batches and memory, and the
// request is refused. Returns false when the writer wrote them meanwhile
// (then they stay and are acknowledged).
bool take_back_jobs(supervisor_pointer self, uint64_t number,
                    const std::vector<job_id>& ids) {
  auto& st = self->state;
  if (!st.opts.log->undo(number, [&](journal_batch& b) {
        for (auto id : ids)
          b.drop(id);
      }))
    return false;
  for (auto id : ids) {
    st.unwritten_jobs.erase(id);
    st.next.settle.erase(id);
    retire(self, id);
  }
  return true;
}

// Adds jobs for `who`, in order, until the first refusal (`out.code`);
// with a journal, written before the reply and taken back if that fails.
add_job_batch_reply add_jobs(supervisor_pointer self,
                             std::vector<job_spec>& specs,
                             const std::string& asked,
                             const std::optional<identity>& who) {
  auto& st = self->state;
  add_job_batch_reply out;
  if (auto why = refusal(self); !why.empty())
    return {result_code::unavailable, why, {}, 0};
  if (st.opts.log) {
    // What is under way first: if it fails, nothing is added.
    settle_writes(self);
    if (auto why = refusal(self); !why.empty())
      return {result_code::unavailable, why, {}, 0};
  }
  for (auto& spec : specs) {
    add_job one{std::move(spec), asked};
    auto checked = check_add_job(one, who);
    if (checked.code != result_code::ok) {
      out.code = checked.code;
      out.detail = std::move(checked.detail);
      break;
    }
    out.jobs.push_back(
        st.jobs.add_job(std::move(one.spec), who->name, caf::make_timestamp()));
  }
  if (!st.opts.log || out.jobs.empty())
    return out;
  auto number = write_now(self);
  if (number == 0 || st.opts.log->progress().written >= number)
    return out;
  if (!take_back_jobs(self, number, out.jobs))
    return out;
  return {result_code::unavailable, refusal(self), {}, 0};
}

// Serves an add_job for `who`.
add_job_reply serve_add_job(supervisor_pointer self, add_job& req,
                            const std::optional<identity>& who) {
  if (auto why = refusal(self); !why.empty())
    return {result_code::unavailable, why, invalid_id};
  if (auto checked = check_add_job(req, who); checked.code != result_code::ok)
    return checked;
  std::vector<job_spec> specs;
  specs.push_back(std::move(req.spec));
  auto added = add_jobs(self, specs, req.who, who);
  if (added.code != result_code::ok)
    return {added.code, added.detail, invalid_id};
  return {result_code::ok, {}, added.jobs.front()};
}

// Serves an add_job_batch: each spec as an add_job, in order, until the
// first refusal, in one journal write; then, when asked, submits them.
caf::result<add_job_batch_reply>
serve_add_job_batch(supervisor_pointer self, add_job_batch& req,
                    const std::optional<identity>& who) {
  auto out = add_jobs(self, req.specs, req.who, who);
  for (auto id : out.jobs)
    note(self, "add_job", who, id, invalid_id, result_code::ok, {});
  if (out.code != result_code::ok)
    note(self, "add_job", who, invalid_id, invalid_id, out.code, out.detail);
  if (!req.submit || out.jobs.empty())
    return out;
  event_scope scope{self};
  // Added and written: the submits now, acknowledged once written too.
  for (auto id : out.jobs) {
    auto sent = run_job_request(self, submit_job{id, req.who});
    if (sent.code != result_code::ok) {
      out.code = sent.code;
      out.detail = std::move(sent.detail);
      break;
    }
    ++out.submitted;
  }
  // Even with a refusal, the reply acknowledges the jobs submitted before.
  auto acknowledges = out.submitted > 0;
  return durably(self, std::move(out), true, acknowledges);
}

// Serves an add_task for `who`.
add_task_reply serve_add_task(supervisor_pointer self, add_task& req,
                              const std::optional<identity>& who) {
  if (auto why = refusal(self); !why.empty())
    return {result_code::unavailable, why, invalid_id};
  if (!who)
    return {result_code::permission_denied, unauthenticated, invalid_id};
  req.who = who->name;
  auto found = find_job(self, req.job);
  if (found.b == nullptr)
    return {found.code, found.detail, invalid_id};
  auto* b = found.b;
  if (std::string why; check_manage(b->job, *who, why) != result_code::ok)
    return {result_code::permission_denied, why, invalid_id};
  if (auto d = decide(*b, req); !d)
    return {d.code, d.detail, invalid_id};
  auto& st = self->state;
  if (st.opts.log) {
    settle_writes(self);
    if (auto why = refusal(self); !why.empty())
      return {result_code::unavailable, why, invalid_id};
  }
  auto appended = req.assessment == b->job.assessments.size();
  auto job = b->job.id;
  auto id = st.jobs.add_task(*b, req.assessment, std::move(req.spec),
                             caf::make_timestamp());
  if (!st.opts.log)
    return {result_code::ok, {}, id};
  auto number = write_now(self);
  if (number == 0 || st.opts.log->progress().written >= number)
    return {result_code::ok, {}, id};
  // Not written: the task leaves the writer's batches and memory (unless a
  // retry of the writer wrote it meanwhile: then it stays).
  b = st.jobs.find(job);
  auto row = row_of(b->job);
  if (appended)
    row.assessments.pop_back();
  if (!st.opts.log->undo(number, [&](journal_batch& x) {
        x.drop(job, id);
        x.replace(row);
      }))
    return {result_code::ok, {}, id};
  st.jobs.forget_task(*b, id, appended);
  return {result_code::unavailable, refusal(self), invalid_id};
}

// Serves a cancel_tasks for `who`.
cancel_tasks_reply serve_cancel_tasks(supervisor_pointer self, cancel_tasks req,
                                      const std::optional<identity>& who) {
  std::vector<result_code> none(req.tasks.size(), result_code::not_attempted);
  if (!who)
    return {result_code::permission_denied, unauthenticated, none};
  req.who = who->name;
  auto found = find_job(self, req.job);
  if (found.b == nullptr)
    return {found.code, found.detail, none};
  auto* b = found.b;
  if (std::string why; check_manage(b->job, *who, why) != result_code::ok)
    return {result_code::permission_denied, why, none};
  decision d;
  auto reply = run_request<cancel_tasks_reply>(self, *b, req, d);
  reply.codes = std::move(d.codes);
  return reply;
}

supervisor_actor::behavior_type supervisor_impl(supervisor_pointer self,
                                                supervisor_options opts) {
  self->state.opts = opts;
  self->state.plan = placement{opts.max_running_jobs};
  if (opts.log) {
    // The writer tells of each transaction with a message to the
    // supervisor, from the supervisor (from_self), while it lives.
    caf::weak_actor_ptr weak{self->ctrl()};
    opts.log->on_written([weak] {
      if (auto strong = weak.lock()) {
        auto hdl = caf::actor_cast<supervisor_actor>(strong);
        caf::send_as(hdl, hdl, reconcile_deadline{journal_tick});
      }
    });
    recover(self);
  }
  self->set_exit_handler([self](const caf::exit_msg& msg) {
    auto& st = self->state;
    if (st.opts.log) {
      // What was accepted is written before its reply goes, as always.
      hand_over(self);
      if (!st.unwritten.empty())
        take_progress(self, st.opts.log->wait(st.unwritten.back().batch));
    }
    // Nobody waits forever: every pending request learns the runtime left.
    self->state.replies.fail_all("the supervisor is shutting down");
    for (auto& [id, a] : self->state.actors)
      if (a)
        self->send_exit(a, caf::exit_reason::user_shutdown);
    for (auto& a : self->state.idle_jobs)
      self->send_exit(a, caf::exit_reason::user_shutdown);
    self->quit(msg.reason);
  });
  self->set_down_handler([self](const caf::down_msg& dm) {
    auto& subs = self->state.subscribers;
    subs.erase(std::remove_if(subs.begin(), subs.end(),
                              [&](const event_sink_actor& a) {
                                return a.address() == dm.source;
                              }),
               subs.end());
    // Its task actors report their attempts lost.
    self->state.nodes.lost(dm.source);
    // A peer's session ended (or its connection was lost): so does the
    // identity bound to it.
    auto& peers = self->state.peers;
    for (auto i = peers.begin(); i != peers.end();)
      i = i->second.session == dm.source ? peers.erase(i) : std::next(i);
  });
  return {
      [=](add_job& req) -> add_job_reply {
        // The owner is who asked, as the head knows it.
        auto who = requester(self, req.who);
        auto reply = serve_add_job(self, req, who);
        note(self, "add_job", who, reply.job, invalid_id, reply.code,
             reply.detail);
        return reply;
      },
      [=](add_job_batch& req) -> caf::result<add_job_batch_reply> {
        return serve_add_job_batch(self, req, requester(self, req.who));
      },
      [=](add_task& req) -> add_task_reply {
        auto who = requester(self, req.who);
        auto reply = serve_add_task(self, req, who);
        note(self, "add_task", who, req.job, reply.task, reply.code,
             reply.detail);
        return reply;
      },
      [=](const submit_job& req) -> caf::result<op_reply> {
        if (auto why = refusal(self); !why.empty())
          return op_reply{result_code::unavailable, why};
        return durably(self, run_job_request(self, req), true);
      },
      [=](const cancel_job& req) -> caf::result<op_reply> {
        return durably(self, run_job_request(self, req));
      },
      [=](const cancel_assessment& req) -> caf::result<op_reply> {
        return durably(self, run_job_request(self, req));
      },
      [=](const terminate_job& req) {
        // Who asks is read before the promise takes the sender away.
        auto who = requester(self, req.who);
        auto rp = self->make_response_promise<op_reply>();
        run_terminate(self, req, who, rp);
        make_durable(self);
        return rp;
      },
      [=](const cancel_task& req) -> caf::result<task_op_reply> {
        return durably(self, run_task_request(self, req));
      },
      [=](const cancel_tasks& req) -> caf::result<cancel_tasks_reply> {
        auto who = requester(self, req.who);
        auto reply = serve_cancel_tasks(self, req, who);
        note(self, "cancel_tasks", who, req.job, invalid_id, reply.code,
             reply.detail);
        return durably(self, std::move(reply));
      },
      [=](const requeue_task& req) -> caf::result<task_op_reply> {
        if (auto why = refusal(self); !why.empty())
          return task_op_reply{result_code::unavailable, why,
                               task_status::not_submitted};
        return durably(self, run_task_request(self, req), true);
      },
      [=](const requeue_job& req) -> caf::result<op_reply> {
        if (auto why = refusal(self); !why.empty())
          return op_reply{result_code::unavailable, why};
        return durably(self, run_job_request(self, req), true);
      },
      [=](const list_jobs& req) {
        auto who = requester(self, {});
        note(self, "list_jobs", who, invalid_id, invalid_id,
             who ? result_code::ok : result_code::permission_denied, {}, true);
        if (!who)
          return job_list{result_code::permission_denied, {}, false};
        auto& st = self->state;
        if (!req.history)
          return st.jobs.list(req);
        try {
          return list_with_history(st.jobs, st.opts.log.get(), req);
        } catch (const journal_error& e) {
          std::cerr << "quiesce: " << e.what() << std::endl;
          return job_list{result_code::unavailable, {}, false};
        }
      },
      [=](const list_tasks& req) {
        auto who = requester(self, {});
        if (!who)
          return task_list{result_code::permission_denied, {}, {}};
        job_books tmp;
        auto found = read_job(self, req.job, true, tmp);
        task_list out;
        if (found.b != nullptr)
          out = tasks_of(*found.b, req);
        else
          out = task_list{found.code, {}, found.detail};
        note(self, "list_tasks", who, req.job, invalid_id, out.code, {}, true);
        // Environments hold secrets: only the owner and admins see them.
        if (found.b != nullptr)
          redact_for(out, found.b->job, *who);
        return out;
      },
      [=](const get_job_status& req) {
        auto who = requester(self, {});
        if (!who)
          return job_status_reply{result_code::permission_denied, {}, {}};
        job_books tmp;
        auto found = read_job(self, req.job, false, tmp);
        auto out = found.b != nullptr
                       ? job_status_reply{result_code::ok, found.b->job, {}}
                       : job_status_reply{found.code, {}, found.detail};
        note(self, "job_status", who, req.job, invalid_id, out.code, {}, true);
        return out;
      },
      [=](const get_task_status& req) {
        auto who = requester(self, {});
        if (!who)
          return task_status_reply{result_code::permission_denied, {}, {}};
        job_books tmp;
        auto found = read_job(self, req.job, true, tmp);
        task_status_reply out{found.code, {}, found.detail};
        if (found.b != nullptr) {
          if (const auto* t = found.b->find(req.task))
            out = task_status_reply{result_code::ok, *t, {}};
          else
            out = task_status_reply{result_code::task_not_found, {}, {}};
        }
        note(self, "task_status", who, req.job, req.task, out.code, {}, true);
        if (found.b != nullptr && !may_manage(found.b->job, *who))
          redact(out.task);
        return out;
      },
      [=](const wait_job& req) {
        auto who = requester(self, {});
        note(self, "wait_job", who, req.job, invalid_id,
             who ? result_code::ok : result_code::permission_denied, {}, true);
        auto rp = self->make_response_promise<job_status_reply>();
        if (!who)
          rp.deliver(job_status_reply{result_code::permission_denied, {}, {}});
        else if (const auto* b = self->state.jobs.find(req.job))
          self->state.replies.wait(*b, rp);
        else {
          // Retired: terminal, so answered at once from the journal.
          job_books tmp;
          auto found = read_job(self, req.job, false, tmp);
          rp.deliver(found.b != nullptr
                         ? job_status_reply{result_code::ok, found.b->job, {}}
                         : job_status_reply{found.code, {}, found.detail});
        }
        return rp;
      },
      [=](const subscribe& req) -> op_reply {
        auto who = requester(self, {});
        note(self, "subscribe", who, invalid_id, invalid_id,
             who ? result_code::ok : result_code::permission_denied, {}, true);
        if (!who)
          return {result_code::permission_denied, unauthenticated};
        if (!req.sink)
          return {result_code::invalid_argument, "no subscriber given"};
        self->monitor(req.sink);
        self->state.subscribers.push_back(req.sink);
        return {};
      },
      [=](const list_nodes&) {
        if (!requester(self, {}))
          return node_list{result_code::permission_denied, unauthenticated, {}};
        return node_list{result_code::ok, {}, self->state.nodes.records()};
      },
      [=](node_hello& hello) -> caf::result<node_list> {
        // In-process: the head's own local node, named by its hello.
        std::optional<identity> who{identity{hello.name, peer_role::node}};
        if (!from_here(self)) {
          who = requester(self, {});
          if (!who)
            return node_list{
                result_code::permission_denied, unauthenticated, {}};
          if (!may_join_as_node(*who))
            return node_list{
                result_code::permission_denied,
                who->name + " has the " + to_string(who->role)
                    + " role; joining as a node needs node or admin",
                {}};
          if (!hello.node
              || hello.node.node() != self->current_sender()->node())
            return node_list{result_code::permission_denied,
                             "a node joins with an actor of its own process",
                             {}};
        }
        auto hdl = hello.node;
        auto name = hello.name;
        auto out = self->state.nodes.join(hello);
        note(self, "node_hello", who, invalid_id, invalid_id, out.code,
             out.code == result_code::ok ? hello.name : out.detail);
        if (out.code != result_code::ok)
          return out;
        self->monitor(hdl);
        // A remote node's starts and ends cross the wire in batches,
        // through its port (docs/distributed.md, "Batches").
        if (hdl.node() != self->node())
          if (auto* n = self->state.nodes.find(name))
            n->port = spawn_port(self->system(), self, hdl);
        fence(self, hello, name);
        schedule(self);
        out.nodes = self->state.nodes.records();
        return durably(self, std::move(out));
      },
      // Reports of the execution tree come from this process only: a remote
      // peer cannot end or advance attempts by sending them here.
      [=](const attempt_ended& end) {
        if (from_here(self)) {
          run_end(self, end);
          make_durable(self);
        }
      },
      [=](const attempt_progress& p) {
        if (!from_here(self))
          return;
        auto& st = self->state;
        if (!st.nodes.from_placed(p.key, p.incarnation)) {
          const auto* b = st.jobs.find(p.key.job);
          const auto* t = b ? b->find(p.key.task) : nullptr;
          ignore_stale(self, p.key, p.incarnation, t ? t->node : std::string{},
                       "progress report");
          return;
        }
        if (auto ev = st.jobs.progress(p, caf::make_timestamp()))
          publish(self, *ev);
        make_durable(self);
      },
      [=](const attempt_running& r) {
        if (!from_here(self))
          return;
        auto& st = self->state;
        auto* b = st.jobs.find(r.key.job);
        const auto* t = b ? b->find(r.key.task) : nullptr;
        if (!st.nodes.from_placed(r.key, r.incarnation)) {
          ignore_stale(self, r.key, r.incarnation, t ? t->node : std::string{},
                       "start report");
          return;
        }
        // A request that took the task out of `queued` first won: the
        // attempt was withdrawn, and its end only ends it.
        if (b == nullptr || t == nullptr || t->status != task_status::queued
            || !is_held(*b, r.key))
          return;
        promote(self, *b, r.key, t->node);
        make_durable(self);
      },
      [=](const attempt_output& o) {
        if (!from_here(self))
          return;
        auto& st = self->state;
        auto* b = st.jobs.find(o.key.job);
        auto* t = b ? b->find(o.key.task) : nullptr;
        if (!st.nodes.from_placed(o.key, o.incarnation)) {
          ignore_stale(self, o.key, o.incarnation, t ? t->node : std::string{},
                       "output directory");
          return;
        }
        if (b != nullptr && st.jobs.set_output_dir(*b, o))
          make_durable(self);
      },
      [=](const terminate_deadline& msg) {
        if (!from_here(self) && !from_self(self))
          return;
        if (const auto* b = self->state.jobs.find(msg.job))
          self->state.replies.deadline(*b, self->clock().now());
        make_durable(self);
      },
      [=](const reconcile_deadline& msg) {
        if (!from_here(self) && !from_self(self))
          return;
        if (msg.round == journal_tick) {
          if (self->state.opts.log)
            take_progress(self, self->state.opts.log->progress());
        } else if (msg.round == retire_tick)
          self->state.retire_pending = false;
        else
          reconcile(self, msg.round);
        make_durable(self);
      },
      [=](const authenticate& req) -> caf::result<authenticate_reply> {
        return run_authenticate(self, req);
      },
      [=](const auth_challenge&) -> caf::result<authenticate_reply> {
        return run_challenge(self);
      },
  };
}

} // namespace

supervisor_actor spawn_supervisor(caf::actor_system& sys,
                                  supervisor_options opts) {
  return sys.spawn(supervisor_impl, opts);
}

} // namespace quiesce
