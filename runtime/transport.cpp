#include "runtime/transport.hpp"

#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace quiesce::detail {

namespace {

/// Bounds the wait for the transport's own actors when closing.
constexpr auto actors_bound = std::chrono::seconds{10};

/// Bounds the wait for helpers to send or deliver when closing.
constexpr auto helpers_bound = std::chrono::seconds{2};

/// The state of the event sink: hands events to the event thread.
struct sink_state {
  static inline const char* name = "quiesce.event_sink";
};

/// Hands every event to `queue`; with `watch`, also notes in `queue` when
/// `sup` goes away.
event_sink_actor::behavior_type
sink_impl(event_sink_actor::stateful_pointer<sink_state> self,
          std::shared_ptr<event_queue> queue, supervisor_actor sup,
          bool watch) {
  if (watch) {
    self->monitor(sup);
    self->set_down_handler([self, queue](caf::down_msg&) {
      queue->lost = true;
      // Wake the event thread; nothing more will come.
      queue->cv.notify_all();
      self->quit();
    });
    // CAF 0.17 keeps a dead observer's monitor (and its memory) on the
    // observed actor: undo it before quitting.
    self->set_exit_handler([self, addr = sup.address()](caf::exit_msg& msg) {
      self->demonitor(addr);
      self->quit(msg.reason);
    });
  }
  return {
      [queue](event& ev) { queue->push(std::move(ev)); },
      [queue](event_batch& batch) { queue->push_all(std::move(batch.events)); },
  };
}

} // namespace

// -- event_queue --------------------------------------------------------------

void event_queue::push(event ev) {
  {
    std::lock_guard<std::mutex> guard{mtx};
    items.push_back(std::move(ev));
  }
  cv.notify_one();
}

void event_queue::push_all(std::vector<event> evs) {
  {
    std::lock_guard<std::mutex> guard{mtx};
    for (auto& ev : evs)
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

// -- actor_tracker ------------------------------------------------------------

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

// -- transport ----------------------------------------------------------------

transport::transport(caf::actor_system& host, bool is_remote)
    : sys(host), remote(is_remote), actors(std::make_shared<actor_tracker>()),
      events(std::make_shared<event_queue>()) {
  // nop
}

transport::transport(std::unique_ptr<caf::actor_system_config> config,
                     bool is_remote)
    : cfg(std::move(config)),
      owned_sys(std::make_unique<caf::actor_system>(*cfg)), sys(*owned_sys),
      remote(is_remote), actors(std::make_shared<actor_tracker>()),
      events(std::make_shared<event_queue>()) {
  // nop
}

transport::~transport() {
  close();
}

void transport::start(supervisor_actor sup) {
  {
    std::lock_guard<std::mutex> guard{handles_mtx_};
    supervisor_ = sup;
  }
  sink_ = sys.spawn(sink_impl, events, sup, remote);
  actor_tracker::watch(actors, sink_);
  event_thread_ = std::thread{[this] {
    deliver_events();
  }};
}

caf::strong_actor_ptr transport::session() {
  std::lock_guard<std::mutex> guard{handles_mtx_};
  return caf::actor_cast<caf::strong_actor_ptr>(sink_);
}

supervisor_actor transport::current_supervisor() {
  std::lock_guard<std::mutex> guard{handles_mtx_};
  return supervisor_;
}

supervisor_actor transport::drop_supervisor() {
  supervisor_actor out;
  std::lock_guard<std::mutex> guard{handles_mtx_};
  out.swap(supervisor_);
  return out;
}

subscription_id transport::subscribe(event_callback cb,
                                     std::chrono::milliseconds timeout) {
  std::lock_guard<std::mutex> guard{callbacks_mtx_};
  if (!sink_subscribed_) {
    // Events flow to the sink from the first subscription on: publishing
    // every change of every task to nobody costs throughput.
    auto reply = call<op_reply>(quiesce::subscribe{sink_}, timeout);
    if (reply.code != result_code::ok)
      return 0;
    sink_subscribed_ = true;
  }
  auto id = ++next_subscription_;
  callbacks_.emplace_back(id, std::move(cb));
  return id;
}

void transport::unsubscribe(subscription_id id) {
  std::lock_guard<std::mutex> guard{callbacks_mtx_};
  for (auto i = callbacks_.begin(); i != callbacks_.end(); ++i) {
    if (i->first == id) {
      callbacks_.erase(i);
      return;
    }
  }
}

void transport::close() {
  {
    std::lock_guard<std::mutex> guard{close_mtx_};
    if (closed_)
      return;
    closed_ = true;
  }
  // An asynchronous call made before closing sends its request from a
  // helper that may not have run yet; once every such request is on its
  // way, it is served before the supervisor goes.
  actors->wait_requests_sent(helpers_bound);
  drop_supervisor();
  if (sink_)
    caf::anon_send_exit(sink_, caf::exit_reason::user_shutdown);
  // Let the helpers deliver the replies on their way (an exit would
  // overtake a reply still in a helper's mailbox), then stop the rest, which
  // deliver `unavailable`.
  actors->wait_helpers(helpers_bound);
  actors->kill_helpers();
  sink_ = nullptr;
  // Wait for our own actors only: a host's system runs others.
  actors->wait_all(actors_bound);
  if (owned_sys)
    sys.await_all_actors_done();
  events->close();
  if (event_thread_.joinable())
    event_thread_.join();
}

void transport::deliver_events() {
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
      std::lock_guard<std::mutex> guard{callbacks_mtx_};
      cbs = callbacks_;
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

} // namespace quiesce::detail
