#include "actors/supervisor.hpp"

#include "actors/job.hpp"
#include "actors/rules.hpp"
#include "messages/text.hpp"

#include <caf/actor_clock.hpp>
#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <algorithm>
#include <deque>
#include <map>
#include <vector>

namespace quiesce {

namespace {

/// A job's books plus what the supervisor needs to drive it.
struct job_entry {
  job_books books;
  /// The job's actor, from its start until its end.
  job_actor actor;
  /// Queued tasks of the current assessment, in dispatch order (entries that
  /// stopped being dispatchable are skipped when reached).
  std::deque<task_id> ready;
  /// Whether the job is in the supervisor's ready ring.
  bool in_ring = false;
  /// The node actor each live attempt was placed on, by task: a report that
  /// an attempt was lost with its node tells which node it was.
  std::map<task_id, caf::actor_addr> placed;
  /// Pending wait_job requests.
  std::vector<caf::typed_response_promise<job_status_reply>> waiters;
  /// Pending terminate_job requests.
  std::vector<caf::typed_response_promise<op_reply>> terminators;
  /// Some attempt ended without being confirmed dead since the terminate.
  bool unconfirmed = false;
  /// When the bound of the latest terminate_job expires: a deadline message
  /// left over from an earlier terminate of the same job fires too early.
  caf::actor_clock::time_point terminate_due{};
};

/// A node as the supervisor sees it.
struct node_entry {
  std::string name;
  node_actor hdl;
  uint32_t slots = 0;
  uint32_t running = 0;
  std::vector<std::string> labels;
  bool reachable = true;
};

/// The state of the supervisor.
struct supervisor_state {
  supervisor_options opts;
  std::map<job_id, job_entry> jobs;
  job_id next_job = 1;
  /// Submitted jobs waiting to start, in submission order.
  std::deque<job_id> start_queue;
  /// Jobs in `running` or `cancelling`.
  uint32_t running_jobs = 0;
  /// Running jobs with tasks to dispatch, served round-robin.
  std::deque<job_id> ring;
  std::vector<node_entry> nodes;
  std::vector<event_sink_actor> subscribers;
  uint64_t seq = 0;

  static inline const char* name = "quiesce.supervisor";
};

using supervisor_pointer = supervisor_actor::stateful_pointer<supervisor_state>;

bool is_active(job_status x) {
  return x == job_status::running || x == job_status::cancelling;
}

job_entry* find_job(supervisor_pointer self, job_id id) {
  auto i = self->state.jobs.find(id);
  return i != self->state.jobs.end() ? &i->second : nullptr;
}

std::string no_job(job_id id) {
  return "no job " + std::to_string(id);
}

node_entry* find_node(supervisor_pointer self, const std::string& name) {
  for (auto& n : self->state.nodes)
    if (n.name == name)
      return &n;
  return nullptr;
}

void publish(supervisor_pointer self, event ev) {
  auto& st = self->state;
  ev.seq = ++st.seq;
  for (auto& sub : st.subscribers)
    self->send(sub, ev);
}

void add_to_ring(supervisor_pointer self, job_entry& e) {
  if (e.in_ring || e.ready.empty())
    return;
  e.in_ring = true;
  self->state.ring.push_back(e.books.job.id);
}

// Applies one change to the books, publishes it and performs what follows
// from it in the execution tree.
void commit(supervisor_pointer self, job_entry& e, const transition& c,
            const std::string& who) {
  auto& st = self->state;
  auto now = caf::make_timestamp();
  auto was_active = is_active(e.books.job.status);
  apply(e.books, c, now);
  if (!st.subscribers.empty()) {
    event ev;
    ev.job = e.books.job.id;
    ev.kind = c.kind;
    ev.subject = c.subject;
    ev.previous = c.from;
    ev.current = c.to;
    ev.code = c.code;
    ev.message = c.message;
    ev.who = who;
    ev.time = now;
    publish(self, std::move(ev));
  } else {
    ++st.seq; // sequence numbers count every change, published or not
  }
  switch (c.kind) {
    case event_kind::job: {
      auto active = is_active(e.books.job.status);
      if (active && !was_active) {
        ++st.running_jobs;
        if (!e.actor)
          e.actor = spawn_job(self->system(), e.books.job.id, self);
      } else if (!active && was_active) {
        --st.running_jobs;
      }
      if (static_cast<job_status>(c.to) == job_status::queued)
        st.start_queue.push_back(e.books.job.id);
      break;
    }
    case event_kind::assessment:
      if (static_cast<assessment_status>(c.to) == assessment_status::running
          && static_cast<assessment_status>(c.from)
                 == assessment_status::not_yet_run) {
        self->send(e.actor,
                   begin_assessment{e.books.job.id,
                                    static_cast<assessment_index>(c.subject)});
        e.ready.clear();
        for (auto id : e.books.job.assessments[c.subject].tasks)
          if (e.books.tasks[id - 1].status == task_status::queued)
            e.ready.push_back(id);
        add_to_ring(self, e);
      }
      break;
    case event_kind::task:
      if (static_cast<task_status>(c.to) == task_status::queued) {
        const auto& t = e.books.tasks[c.subject - 1];
        if (dispatchable(e.books, t)) {
          e.ready.push_back(t.id);
          add_to_ring(self, e);
        }
      }
      break;
    case event_kind::progress:
      break;
  }
}

void commit_all(supervisor_pointer self, job_entry& e, const decision& d,
                const std::string& who) {
  for (const auto& c : d.changes)
    commit(self, e, c, who);
  if (!d.stop.empty() && e.actor)
    self->send(e.actor, stop_tasks{e.books.job.id, d.stop, d.mode});
}

op_reply terminate_result(const job_entry& e) {
  if (e.unconfirmed)
    return {result_code::terminate_failed,
            "some work of job " + std::to_string(e.books.job.id)
                + " could not be confirmed dead"};
  return {};
}

// Runs the job's rules forward (assessment ends, next begins, job ends) and
// answers whoever waits for its end.
void settle(supervisor_pointer self, job_entry& e) {
  for (int guard = 0; guard < 1 << 20; ++guard) {
    auto d = advance(e.books);
    if (d.changes.empty())
      break;
    commit_all(self, e, d, {});
  }
  if (!is_terminal(e.books.job.status))
    return;
  for (auto& rp : e.waiters)
    rp.deliver(job_status_reply{result_code::ok, e.books.job});
  e.waiters.clear();
  if (!e.books.live.empty())
    return;
  for (auto& rp : e.terminators)
    rp.deliver(terminate_result(e));
  e.terminators.clear();
  if (e.actor) {
    self->send(e.actor, end_job{e.books.job.id});
    e.actor = nullptr;
  }
}

node_entry* pick_node(supervisor_pointer self, const task_record& t) {
  node_entry* best = nullptr;
  for (auto& n : self->state.nodes) {
    if (!n.reachable || n.running >= n.slots)
      continue;
    if (!t.spec.label.empty()
        && std::find(n.labels.begin(), n.labels.end(), t.spec.label)
               == n.labels.end())
      continue;
    if (best == nullptr || n.slots - n.running > best->slots - best->running)
      best = &n;
  }
  return best;
}

bool has_free_slot(supervisor_pointer self) {
  for (auto& n : self->state.nodes)
    if (n.reachable && n.running < n.slots)
      return true;
  return false;
}

void dispatch(supervisor_pointer self, job_entry& e, task_record& t,
              node_entry& n) {
  commit(self, e, task_change(t.id, task_status::queued, task_status::running),
         n.name);
  t.node = n.name;
  e.books.live[t.id] = t.attempts;
  e.placed[t.id] = n.hdl.address();
  ++n.running;
  auto grace
      = t.spec.grace.count() >= 0 ? t.spec.grace : e.books.job.policy.grace;
  run_task msg;
  msg.key = attempt_key{e.books.job.id, t.id, t.attempts};
  msg.spec = t.spec;
  msg.grace = grace;
  msg.stop_commands_on_cancel = e.books.job.policy.stop_commands_on_cancel;
  msg.node = n.hdl;
  msg.node_name = n.name;
  self->send(e.actor, std::move(msg));
}

// Starts queued jobs (in submission order, within the limit) and places
// dispatchable tasks on nodes with free slots, one task per job per turn.
void schedule(supervisor_pointer self) {
  auto& st = self->state;
  while (!st.start_queue.empty()
         && (st.opts.max_running_jobs == 0
             || st.running_jobs < st.opts.max_running_jobs)) {
    auto id = st.start_queue.front();
    st.start_queue.pop_front();
    auto* e = find_job(self, id);
    if (e == nullptr || e->books.job.status != job_status::queued)
      continue; // cancelled while it waited
    commit_all(self, *e, start(e->books), {});
    settle(self, *e);
  }
  // Jobs whose next task fits no node right now wait in `blocked`.
  std::deque<job_id> blocked;
  while (!st.ring.empty() && has_free_slot(self)) {
    auto id = st.ring.front();
    st.ring.pop_front();
    auto* e = find_job(self, id);
    if (e == nullptr)
      continue;
    e->in_ring = false;
    while (!e->ready.empty()) {
      auto& t = e->books.tasks[e->ready.front() - 1];
      if (!dispatchable(e->books, t)) {
        e->ready.pop_front();
        continue;
      }
      auto* n = pick_node(self, t);
      if (n == nullptr) {
        blocked.push_back(id);
        e->in_ring = true;
        break;
      }
      e->ready.pop_front();
      dispatch(self, *e, t, *n);
      break;
    }
    if (!e->in_ring)
      add_to_ring(self, *e);
  }
  st.ring.insert(st.ring.end(), blocked.begin(), blocked.end());
}

// Applies a client request's decision, then settles and schedules.
template <class Reply, class Request>
Reply run_request(supervisor_pointer self, job_entry& e, const Request& req,
                  decision& d) {
  d = decide(e.books, req);
  commit_all(self, e, d, req.who);
  settle(self, e);
  schedule(self);
  Reply reply;
  reply.code = d.code;
  reply.detail = d.detail;
  return reply;
}

// Serves a request about a whole job that replies with a code only.
template <class Request>
op_reply run_job_request(supervisor_pointer self, const Request& req) {
  auto* e = find_job(self, req.job);
  if (e == nullptr)
    return {result_code::job_not_found, no_job(req.job)};
  decision d;
  return run_request<op_reply>(self, *e, req, d);
}

// Serves a request about one task; the reply names the task's status after
// the request (its current status when refused).
template <class Request>
task_op_reply run_task_request(supervisor_pointer self, const Request& req) {
  auto* e = find_job(self, req.job);
  if (e == nullptr)
    return {result_code::job_not_found, no_job(req.job),
            task_status::not_submitted};
  decision d;
  auto reply = run_request<task_op_reply>(self, *e, req, d);
  if (const auto* t = e->books.find(req.task))
    reply.status = t->status;
  return reply;
}

void fail_pending(supervisor_pointer self, const std::string& why) {
  for (auto& [id, e] : self->state.jobs) {
    for (auto& rp : e.waiters)
      rp.deliver(make_error(result_code::unavailable, why));
    e.waiters.clear();
    for (auto& rp : e.terminators)
      rp.deliver(make_error(result_code::unavailable, why));
    e.terminators.clear();
  }
}

supervisor_actor::behavior_type supervisor_impl(supervisor_pointer self,
                                                supervisor_options opts) {
  self->state.opts = opts;
  self->set_exit_handler([self](const caf::exit_msg& msg) {
    // Nobody waits forever: every pending request learns the runtime left.
    fail_pending(self, "the supervisor is shutting down");
    for (auto& [id, e] : self->state.jobs)
      if (e.actor)
        self->send_exit(e.actor, caf::exit_reason::user_shutdown);
    self->quit(msg.reason);
  });
  self->set_down_handler([self](const caf::down_msg& dm) {
    auto& st = self->state;
    auto& subs = st.subscribers;
    subs.erase(std::remove_if(subs.begin(), subs.end(),
                              [&](const event_sink_actor& a) {
                                return a.address() == dm.source;
                              }),
               subs.end());
    for (auto& n : st.nodes)
      if (n.hdl.address() == dm.source)
        n.reachable = false; // its task actors report their attempts lost
  });
  return {
      [=](add_job& req) -> add_job_reply {
        if (auto d = validate(req.spec); !d)
          return {d.code, d.detail, invalid_id};
        auto& st = self->state;
        auto id = st.next_job++;
        auto& e = st.jobs[id];
        auto now = caf::make_timestamp();
        auto& j = e.books.job;
        j.id = id;
        j.name = req.spec.name;
        j.created = now;
        j.owner = req.who;
        j.policy = req.spec.policy;
        task_id next_task = 1;
        for (auto& a : req.spec.assessments) {
          assessment_record rec;
          rec.index = static_cast<assessment_index>(j.assessments.size());
          rec.name = a.name;
          for (auto& spec : a.tasks) {
            task_record t;
            t.id = next_task++;
            t.job = id;
            t.assessment = rec.index;
            t.created = now;
            t.spec = std::move(spec);
            rec.tasks.push_back(t.id);
            e.books.tasks.push_back(std::move(t));
          }
          j.assessments.push_back(std::move(rec));
        }
        return {result_code::ok, {}, id};
      },
      [=](add_task& req) -> add_task_reply {
        auto* e = find_job(self, req.job);
        if (e == nullptr)
          return {result_code::job_not_found, no_job(req.job), invalid_id};
        if (auto d = decide(e->books, req); !d)
          return {d.code, d.detail, invalid_id};
        auto& j = e->books.job;
        if (req.assessment == j.assessments.size()) {
          assessment_record rec;
          rec.index = req.assessment;
          j.assessments.push_back(std::move(rec));
        }
        task_record t;
        t.id = e->books.tasks.size() + 1;
        t.job = req.job;
        t.assessment = req.assessment;
        t.created = caf::make_timestamp();
        t.spec = std::move(req.spec);
        j.assessments[req.assessment].tasks.push_back(t.id);
        auto id = t.id;
        e->books.tasks.push_back(std::move(t));
        return {result_code::ok, {}, id};
      },
      [=](const submit_job& req) { return run_job_request(self, req); },
      [=](const cancel_job& req) { return run_job_request(self, req); },
      [=](const cancel_assessment& req) { return run_job_request(self, req); },
      [=](const terminate_job& req) {
        auto rp = self->make_response_promise<op_reply>();
        auto* e = find_job(self, req.job);
        if (e == nullptr) {
          rp.deliver(op_reply{result_code::job_not_found, no_job(req.job)});
          return rp;
        }
        auto d = decide(e->books, req);
        if (!d) {
          rp.deliver(op_reply{d.code, d.detail});
          return rp;
        }
        e->unconfirmed = false;
        e->terminators.push_back(rp);
        commit_all(self, *e, d, req.who);
        settle(self, *e);
        schedule(self);
        if (!e->terminators.empty()) {
          e->terminate_due
              = self->clock().now() + self->state.opts.terminate_bound;
          self->delayed_send(self, self->state.opts.terminate_bound,
                             terminate_deadline{req.job});
        }
        return rp;
      },
      [=](const cancel_task& req) { return run_task_request(self, req); },
      [=](const cancel_tasks& req) -> cancel_tasks_reply {
        auto* e = find_job(self, req.job);
        if (e == nullptr)
          return {result_code::job_not_found, no_job(req.job),
                  std::vector<result_code>(req.tasks.size(),
                                           result_code::not_attempted)};
        decision d;
        auto reply = run_request<cancel_tasks_reply>(self, *e, req, d);
        reply.codes = std::move(d.codes);
        return reply;
      },
      [=](const requeue_task& req) { return run_task_request(self, req); },
      [=](const requeue_job& req) { return run_job_request(self, req); },
      [=](const list_jobs& req) -> job_list {
        job_list out;
        for (auto& [id, e] : self->state.jobs)
          if (!req.filter_by_status || e.books.job.status == req.status)
            out.jobs.push_back(e.books.job);
        return out;
      },
      [=](const list_tasks& req) -> task_list {
        task_list out;
        auto* e = find_job(self, req.job);
        if (e == nullptr) {
          out.code = result_code::job_not_found;
          return out;
        }
        for (auto& t : e->books.tasks)
          if (!req.filter_by_status || t.status == req.status)
            out.tasks.push_back(t);
        return out;
      },
      [=](const get_job_status& req) -> job_status_reply {
        auto* e = find_job(self, req.job);
        if (e == nullptr)
          return {result_code::job_not_found, {}};
        return {result_code::ok, e->books.job};
      },
      [=](const get_task_status& req) -> task_status_reply {
        auto* e = find_job(self, req.job);
        if (e == nullptr)
          return {result_code::job_not_found, {}};
        const auto* t = e->books.find(req.task);
        if (t == nullptr)
          return {result_code::task_not_found, {}};
        return {result_code::ok, *t};
      },
      [=](const wait_job& req) {
        auto rp = self->make_response_promise<job_status_reply>();
        auto* e = find_job(self, req.job);
        if (e == nullptr)
          rp.deliver(job_status_reply{result_code::job_not_found, {}});
        else if (is_terminal(e->books.job.status))
          rp.deliver(job_status_reply{result_code::ok, e->books.job});
        else
          e->waiters.push_back(rp);
        return rp;
      },
      [=](const subscribe& req) -> op_reply {
        if (!req.sink)
          return {result_code::invalid_argument, "no subscriber given"};
        self->monitor(req.sink);
        self->state.subscribers.push_back(req.sink);
        return {};
      },
      [=](const list_nodes&) -> node_list {
        node_list out;
        for (auto& n : self->state.nodes)
          out.nodes.push_back(node_record{
              n.name, n.slots, n.running, n.labels,
              n.reachable ? node_status::ready : node_status::unreachable});
        return out;
      },
      [=](node_hello& hello) -> node_list {
        node_list out;
        if (hello.version != protocol_version) {
          out.code = result_code::protocol_mismatch;
          out.detail = "node " + hello.name + " speaks protocol version "
                       + std::to_string(hello.version) + ", this head speaks "
                       + std::to_string(protocol_version);
          return out;
        }
        if (!hello.node || hello.name.empty() || hello.slots == 0) {
          out.code = result_code::invalid_argument;
          out.detail = "a node needs a handle, a name and at least one slot";
          return out;
        }
        auto* n = find_node(self, hello.name);
        if (n != nullptr && n->reachable) {
          out.code = result_code::invalid_argument;
          out.detail = "a node named " + hello.name + " is already registered";
          return out;
        }
        if (n == nullptr) {
          self->state.nodes.emplace_back();
          n = &self->state.nodes.back();
        }
        n->name = std::move(hello.name);
        n->hdl = hello.node;
        n->slots = hello.slots;
        n->running = 0;
        n->labels = std::move(hello.labels);
        n->reachable = true;
        self->monitor(n->hdl);
        schedule(self);
        for (auto& x : self->state.nodes)
          out.nodes.push_back(node_record{
              x.name, x.slots, x.running, x.labels,
              x.reachable ? node_status::ready : node_status::unreachable});
        return out;
      },
      [=](attempt_ended& end) {
        auto* e = find_job(self, end.key.job);
        if (e == nullptr)
          return;
        auto i = e->books.live.find(end.key.task);
        if (i == e->books.live.end() || i->second != end.key.attempt)
          return; // a duplicate report
        e->books.live.erase(i);
        auto placed = e->placed[end.key.task];
        e->placed.erase(end.key.task);
        if (auto* n = find_node(self, end.node); n != nullptr) {
          if (n->running > 0)
            --n->running;
          // A task actor reports `lost` when its monitor of the node fired.
          // The supervisor's own down message for that node can come after
          // several such reports (seen with a SIGKILLed remote node: every
          // retry of its tasks was burnt on it within a millisecond); without
          // this, each requeued attempt would go to the dead node again.
          if (end.outcome == attempt_outcome::lost
              && n->hdl.address() == placed)
            n->reachable = false;
        }
        if (!end.confirmed_dead)
          e->unconfirmed = true;
        if (auto* t = e->books.find(end.key.task);
            t != nullptr && t->attempts == end.key.attempt) {
          t->exit_code = end.exit_code;
          t->node = end.node;
        }
        auto d = decide(e->books, end);
        commit_all(self, *e, d, end.node);
        // A task requeued while its previous attempt was live may go now.
        if (auto* t = e->books.find(end.key.task);
            t != nullptr && dispatchable(e->books, *t)) {
          e->ready.push_back(t->id);
          add_to_ring(self, *e);
        }
        settle(self, *e);
        schedule(self);
      },
      [=](attempt_progress& p) {
        auto* e = find_job(self, p.key.job);
        if (e == nullptr)
          return;
        const auto* t = e->books.find(p.key.task);
        if (t == nullptr || t->status != task_status::running
            || t->attempts != p.key.attempt)
          return;
        event ev;
        ev.job = p.key.job;
        ev.kind = event_kind::progress;
        ev.subject = p.key.task;
        ev.previous = ev.current = static_cast<uint8_t>(t->status);
        ev.message = std::move(p.text);
        ev.who = t->node;
        ev.percent = p.percent;
        ev.time = caf::make_timestamp();
        publish(self, std::move(ev));
      },
      [=](const terminate_deadline& msg) {
        auto* e = find_job(self, msg.job);
        if (e == nullptr || e->terminators.empty()
            || self->clock().now() < e->terminate_due)
          return;
        for (auto& rp : e->terminators)
          rp.deliver(op_reply{
              result_code::terminate_failed,
              std::to_string(e->books.live.size()) + " attempts of job "
                  + std::to_string(msg.job) + " not confirmed dead in time"});
        e->terminators.clear();
      },
  };
}

} // namespace

supervisor_actor spawn_supervisor(caf::actor_system& sys,
                                  supervisor_options opts) {
  return sys.spawn(supervisor_impl, opts);
}

} // namespace quiesce
