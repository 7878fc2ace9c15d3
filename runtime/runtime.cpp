#include "runtime/runtime.hpp"

#include "actors/interfaces.hpp"
#include "actors/node.hpp"
#include "actors/supervisor.hpp"
#include "config/job_file.hpp"
#include "execution/launcher.hpp"
#include "execution/work_registry.hpp"
#include "runtime/runtime_impl.hpp"
#include "runtime/system_config.hpp"

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <stdexcept>
#include <thread>
#include <typeinfo>

namespace quiesce {

namespace {

/// The state of the runtime's event sink: hands events to the event thread.
struct sink_state {
  std::shared_ptr<event_queue> queue;
  static inline const char* name = "quiesce.event_sink";
};

event_sink_actor::behavior_type
sink_impl(event_sink_actor::stateful_pointer<sink_state> self,
          std::shared_ptr<event_queue> queue) {
  self->state.queue = std::move(queue);
  return {
      [=](event& ev) { self->state.queue->push(std::move(ev)); },
  };
}

runtime_options resolve(runtime_options opts) {
  if (opts.threads == 0)
    opts.threads = default_threads();
  if (opts.slots == 0) {
    auto n = std::thread::hardware_concurrency();
    opts.slots = n == 0 ? 1 : n;
  }
  return opts;
}

/// Bounds the wait for the runtime's own actors at shutdown.
constexpr auto actors_bound = std::chrono::seconds{10};

/// Returns whether `sys` knows every message type of Quiesce, checked on
/// the first and the last type of the block.
bool has_quiesce_types(caf::actor_system& sys) {
  return sys.types().make_value(typeid(job_spec)) != nullptr
         && sys.types().make_value(typeid(attempt_timer)) != nullptr;
}

/// Returns a reply-delivering function that fulfils a promise.
template <class Reply>
std::pair<std::future<Reply>, std::function<void(Reply)>> make_future() {
  auto promise = std::make_shared<std::promise<Reply>>();
  auto future = promise->get_future();
  return {std::move(future), [promise](Reply x) {
            promise->set_value(std::move(x));
          }};
}

} // namespace

// -- event_queue
// ------------------------------------------------------------------

void event_queue::push(event ev) {
  {
    std::lock_guard<std::mutex> guard{mtx};
    items.push_back(std::move(ev));
  }
  cv.notify_one();
}

bool event_queue::post(std::function<void()>& fn) {
  {
    std::lock_guard<std::mutex> guard{mtx};
    if (closed)
      return false;
    calls.push_back(std::move(fn));
  }
  cv.notify_one();
  return true;
}

void event_queue::close() {
  {
    std::lock_guard<std::mutex> guard{mtx};
    closed = true;
  }
  cv.notify_all();
}

// -- actor_tracker
// ----------------------------------------------------------------

void actor_tracker::reserve_helper() {
  std::lock_guard<std::mutex> guard{mtx};
  ++alive;
  ++pending_helpers;
  ++unsent_helpers;
}

void actor_tracker::request_sent() {
  {
    std::lock_guard<std::mutex> guard{mtx};
    --unsent_helpers;
  }
  cv.notify_all();
}

bool actor_tracker::wait_requests_sent(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> guard{mtx};
  return cv.wait_for(guard, timeout, [this] { return unsent_helpers == 0; });
}

bool actor_tracker::wait_helpers(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> guard{mtx};
  return cv.wait_for(guard, timeout, [this] { return pending_helpers == 0; });
}

void actor_tracker::add_helper(caf::actor_id id, caf::actor_addr addr) {
  std::lock_guard<std::mutex> guard{mtx};
  helpers.emplace(id, std::move(addr));
}

void actor_tracker::remove_helper(caf::actor_id id) {
  {
    std::lock_guard<std::mutex> guard{mtx};
    helpers.erase(id);
    --pending_helpers;
  }
  release();
}

void actor_tracker::release() {
  {
    std::lock_guard<std::mutex> guard{mtx};
    --alive;
  }
  cv.notify_all();
}

void actor_tracker::kill_helpers() {
  std::vector<caf::actor_addr> addrs;
  {
    std::lock_guard<std::mutex> guard{mtx};
    for (auto& [id, addr] : helpers)
      addrs.push_back(addr);
  }
  for (auto& addr : addrs)
    caf::anon_send_exit(addr, caf::exit_reason::user_shutdown);
}

bool actor_tracker::wait_all(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> guard{mtx};
  return cv.wait_for(guard, timeout, [this] { return alive == 0; });
}

// -- impl
// -------------------------------------------------------------------------

runtime::impl::impl(runtime_options options)
    : opts(resolve(std::move(options))),
      owned_sys(std::make_unique<caf::actor_system>(make_config(opts))),
      sys(*owned_sys), actors(std::make_shared<actor_tracker>()),
      registry(std::make_shared<work_registry>()),
      launcher(std::make_shared<process::launcher>(opts.kill_bound)),
      events(std::make_shared<event_queue>()) {
  start();
}

runtime::impl::impl(caf::actor_system& host, runtime_options options)
    : opts(resolve(std::move(options))), sys(host),
      actors(std::make_shared<actor_tracker>()),
      registry(std::make_shared<work_registry>()),
      launcher(std::make_shared<process::launcher>(opts.kill_bound)),
      events(std::make_shared<event_queue>()) {
  if (!has_quiesce_types(sys))
    throw std::invalid_argument(
        "quiesce: the actor system lacks Quiesce's message types; call "
        "quiesce::add_message_types(cfg) before creating the system");
  // Report what the host's configuration decided.
  opts.threads
      = static_cast<uint32_t>(caf::get_or(sys.config(), "scheduler.max-threads",
                                          static_cast<size_t>(opts.threads)));
  opts.network = sys.has_middleman();
  start();
}

void runtime::impl::start() {
  try {
    supervisor_options sopts;
    sopts.max_running_jobs = opts.max_running_jobs;
    sopts.terminate_bound = opts.terminate_bound;
    {
      std::lock_guard<std::mutex> guard{handles_mtx};
      supervisor = spawn_supervisor(sys, sopts);
    }
    actor_tracker::watch(actors, supervisor);
    sink = sys.spawn(sink_impl, events);
    actor_tracker::watch(actors, sink);
    event_thread = std::thread{[this] {
      deliver_events();
    }};
    if (opts.local_node) {
      node_options nopts;
      nopts.name = opts.node_name;
      nopts.slots = opts.slots;
      nopts.labels = opts.labels;
      nopts.run_dir = opts.run_dir;
      nopts.kill_bound = opts.kill_bound;
      local_node = spawn_node(sys, nopts, registry, launcher);
      actor_tracker::watch(actors, local_node);
      auto reply = call<node_list>(
          quiesce::node_hello{protocol_version, opts.node_name, opts.slots,
                              opts.labels, local_node});
      if (reply.code != result_code::ok)
        throw std::runtime_error("quiesce: the local node was refused: "
                                 + reply.detail);
    }
  } catch (...) {
    // Without this, an owned system's destructor would wait forever for the
    // actors spawned so far.
    shutdown();
    throw;
  }
}

caf::actor_system_config& runtime::impl::make_config(const runtime_options& o) {
  configure(cfg, o.threads, o.scheduler);
  if (o.network)
    configure_network(cfg, o.heartbeat_interval, o.connection_timeout);
  return cfg;
}

runtime::impl::~impl() {
  shutdown();
}

void runtime::impl::deliver_events() {
  for (;;) {
    std::deque<event> batch;
    std::deque<std::function<void()>> calls;
    {
      std::unique_lock<std::mutex> guard{events->mtx};
      events->cv.wait(guard, [&] {
        return events->closed || !events->items.empty()
               || !events->calls.empty();
      });
      if (events->items.empty() && events->calls.empty() && events->closed)
        return;
      batch.swap(events->items);
      calls.swap(events->calls);
    }
    std::vector<std::pair<subscription_id, event_callback>> cbs;
    {
      std::lock_guard<std::mutex> guard{callbacks_mtx};
      cbs = callbacks;
    }
    for (auto& ev : batch)
      for (auto& [id, cb] : cbs) {
        try {
          cb(ev);
        } catch (...) {
          // A throwing callback must not end delivery to the others.
        }
      }
    for (auto& fn : calls) {
      try {
        fn();
      } catch (...) {
        // Same for a throwing reply callback.
      }
    }
  }
}

supervisor_actor runtime::impl::current_supervisor() {
  std::lock_guard<std::mutex> guard{handles_mtx};
  return supervisor;
}

void runtime::impl::shutdown() {
  std::lock_guard<std::mutex> guard{shutdown_mtx};
  if (stopped)
    return;
  stopped = true;
  // An asynchronous call made before shutdown() sends its request from a
  // helper actor that may not have run yet (seen under ASan and load: the
  // request reached a supervisor already gone). Once every such request is
  // in the supervisor's mailbox, it is served before anything sent below.
  actors->wait_requests_sent(std::chrono::seconds{2});
  // Stop running work first, so no task is left without a final status.
  auto jobs = call<job_list>(quiesce::list_jobs{});
  for (auto& j : jobs.jobs)
    if (!is_terminal(j.status))
      call<op_reply>(quiesce::terminate_job{j.id, "shutdown"});
  // Let the last events reach the sink before it goes.
  call<job_list>(quiesce::list_jobs{true, job_status::not_submitted});
  supervisor_actor sup;
  {
    std::lock_guard<std::mutex> handles_guard{handles_mtx};
    sup.swap(supervisor);
  }
  if (sup)
    caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  if (local_node)
    caf::anon_send_exit(local_node, caf::exit_reason::user_shutdown);
  if (sink)
    caf::anon_send_exit(sink, caf::exit_reason::user_shutdown);
  // Every job is terminal now, so pending waits have their replies on the
  // way: let the helpers deliver them (an exit would overtake a reply still
  // in a helper's mailbox), then stop the rest, which deliver `unavailable`.
  actors->wait_helpers(std::chrono::seconds{2});
  actors->kill_helpers();
  sup = nullptr;
  local_node = nullptr;
  sink = nullptr;
  // Wait for our own actors only: a host's system runs others, and with an
  // owned system, the children (jobs, tasks) follow their parents.
  actors->wait_all(actors_bound);
  if (owned_sys)
    sys.await_all_actors_done();
  events->close();
  if (event_thread.joinable())
    event_thread.join();
}

// -- runtime
// ----------------------------------------------------------------------

runtime::runtime(runtime_options opts)
    : impl_(std::make_unique<impl>(std::move(opts))) {
  // nop
}

runtime::runtime(caf::actor_system& sys, runtime_options opts)
    : impl_(std::make_unique<impl>(sys, std::move(opts))) {
  // nop
}

runtime::~runtime() {
  impl_->shutdown();
}

const runtime_options& runtime::options() const noexcept {
  return impl_->opts;
}

runtime::impl& runtime::internals() noexcept {
  return *impl_;
}

bool runtime::register_work(std::string name, work_function fn) {
  return impl_->registry->add(std::move(name), std::move(fn));
}

add_job_reply runtime::add_job(job_spec spec) {
  return impl_->call<add_job_reply>(quiesce::add_job{std::move(spec), "api"});
}

add_jobs_reply runtime::add_jobs(std::vector<job_spec> specs) {
  add_jobs_reply out;
  for (auto& spec : specs) {
    auto reply = add_job(std::move(spec));
    if (reply.code != result_code::ok) {
      out.code = reply.code;
      out.detail = std::move(reply.detail);
      break;
    }
    out.jobs.push_back(reply.job);
  }
  return out;
}

add_jobs_reply runtime::load_jobs(const std::string& path) {
  auto loaded = config::load_job_file(path);
  if (!loaded.ok()) {
    add_jobs_reply out;
    out.code = result_code::invalid_argument;
    out.detail = config::to_string(loaded.errors.front());
    out.errors = std::move(loaded.errors);
    return out;
  }
  return add_jobs(std::move(loaded.file.jobs));
}

add_task_reply runtime::add_task(job_id job, assessment_index index,
                                 task_spec spec) {
  return impl_->call<add_task_reply>(
      quiesce::add_task{job, index, std::move(spec), "api"});
}

op_reply runtime::submit(job_id job) {
  return impl_->call<op_reply>(submit_job{job, "api"});
}

op_reply runtime::cancel_job(job_id job, std::string message) {
  return impl_->call<op_reply>(
      quiesce::cancel_job{job, std::move(message), "api"});
}

op_reply runtime::cancel_assessment(job_id job, assessment_index index) {
  return impl_->call<op_reply>(quiesce::cancel_assessment{job, index, "api"});
}

op_reply runtime::terminate_job(job_id job) {
  // Bounded by the supervisor's terminate bound, plus slack for the reply.
  return impl_->call<op_reply>(quiesce::terminate_job{job, "api"},
                               impl_->opts.terminate_bound
                                   + impl_->opts.request_timeout);
}

task_op_reply runtime::cancel_task(job_id job, task_id task,
                                   std::string message) {
  return impl_->call<task_op_reply>(
      quiesce::cancel_task{job, task, std::move(message), "api"});
}

cancel_tasks_reply runtime::cancel_tasks(job_id job, std::vector<task_id> tasks,
                                         std::string message) {
  return impl_->call<cancel_tasks_reply>(
      quiesce::cancel_tasks{job, std::move(tasks), std::move(message), "api"});
}

task_op_reply runtime::requeue_task(job_id job, task_id task) {
  return impl_->call<task_op_reply>(quiesce::requeue_task{job, task, "api"});
}

op_reply runtime::requeue_job(job_id job) {
  return impl_->call<op_reply>(quiesce::requeue_job{job, "api"});
}

job_list runtime::list_jobs(std::optional<quiesce::job_status> status) {
  return impl_->call<job_list>(quiesce::list_jobs{
      status.has_value(), status.value_or(job_status::not_submitted)});
}

task_list runtime::list_tasks(job_id job,
                              std::optional<quiesce::task_status> status) {
  return impl_->call<task_list>(quiesce::list_tasks{
      job, status.has_value(), status.value_or(task_status::not_submitted)});
}

job_status_reply runtime::job_status(job_id job) {
  return impl_->call<job_status_reply>(get_job_status{job});
}

task_status_reply runtime::task_status(job_id job, task_id task) {
  return impl_->call<task_status_reply>(get_task_status{job, task});
}

node_list runtime::nodes() {
  return impl_->call<node_list>(list_nodes{});
}

job_status_reply runtime::wait(job_id job, std::chrono::milliseconds timeout) {
  return impl_->call<job_status_reply>(wait_job{job}, timeout);
}

std::future<op_reply> runtime::submit_async(job_id job) {
  auto [future, deliver] = make_future<op_reply>();
  impl_->call_async<op_reply>(submit_job{job, "api"},
                              impl_->opts.request_timeout, std::move(deliver));
  return std::move(future);
}

void runtime::submit_async(job_id job, reply_callback<op_reply> cb) {
  impl_->call_async<op_reply>(submit_job{job, "api"},
                              impl_->opts.request_timeout,
                              impl_->on_event_thread(std::move(cb)));
}

std::future<job_status_reply>
runtime::wait_async(job_id job, std::chrono::milliseconds timeout) {
  auto [future, deliver] = make_future<job_status_reply>();
  impl_->call_async<job_status_reply>(wait_job{job}, timeout,
                                      std::move(deliver));
  return std::move(future);
}

void runtime::wait_async(job_id job, std::chrono::milliseconds timeout,
                         reply_callback<job_status_reply> cb) {
  impl_->call_async<job_status_reply>(wait_job{job}, timeout,
                                      impl_->on_event_thread(std::move(cb)));
}

std::future<op_reply> runtime::terminate_job_async(job_id job) {
  auto [future, deliver] = make_future<op_reply>();
  impl_->call_async<op_reply>(quiesce::terminate_job{job, "api"},
                              impl_->opts.terminate_bound
                                  + impl_->opts.request_timeout,
                              std::move(deliver));
  return std::move(future);
}

void runtime::terminate_job_async(job_id job, reply_callback<op_reply> cb) {
  impl_->call_async<op_reply>(quiesce::terminate_job{job, "api"},
                              impl_->opts.terminate_bound
                                  + impl_->opts.request_timeout,
                              impl_->on_event_thread(std::move(cb)));
}

subscription_id runtime::subscribe(event_callback cb) {
  std::lock_guard<std::mutex> guard{impl_->callbacks_mtx};
  if (!impl_->sink_subscribed) {
    // Events flow to the sink from the first subscription on: publishing
    // every change of every task to nobody costs throughput.
    auto reply = impl_->call<op_reply>(quiesce::subscribe{impl_->sink});
    // Fails only once the runtime is shut down: then no event comes anyway.
    impl_->sink_subscribed = reply.code == result_code::ok;
  }
  auto id = ++impl_->next_subscription;
  impl_->callbacks.emplace_back(id, std::move(cb));
  return id;
}

void runtime::unsubscribe(subscription_id id) {
  std::lock_guard<std::mutex> guard{impl_->callbacks_mtx};
  auto& cbs = impl_->callbacks;
  for (auto i = cbs.begin(); i != cbs.end(); ++i) {
    if (i->first == id) {
      cbs.erase(i);
      return;
    }
  }
}

void runtime::shutdown() {
  impl_->shutdown();
}

} // namespace quiesce
