#pragma once

// The runtime's internals, for layers built on it (the CLI, the head and node
// processes, tests). Hosts use runtime.hpp only.

#include "actors/interfaces.hpp"
#include "runtime/request.hpp"
#include "runtime/runtime.hpp"

#include <caf/actor_addr.hpp>
#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <unordered_map>

namespace quiesce {

class work_registry;

namespace process {
class launcher;
} // namespace process

/// Events on their way from the sink actor to the event thread, and reply
/// callbacks of asynchronous calls on their way to the same thread.
struct event_queue {
  std::mutex mtx;
  std::condition_variable cv;
  std::deque<event> items;
  bool closed = false;
  /// Reply callbacks, run after the events queued before them.
  std::deque<std::function<void()>> calls;

  /// Appends an event and wakes the event thread.
  void push(event ev);

  /// Appends a call for the event thread; returns false (and drops nothing:
  /// the caller keeps `fn` to run it itself) once the queue is closed.
  bool post(std::function<void()>& fn);

  /// Lets the event thread finish once the queue is empty.
  void close();
};

/// The runtime's own actors (supervisor, local node, sink, helpers of
/// asynchronous calls), counted until they terminate, so that shutdown can
/// wait for exactly them: an attached host system runs other actors too.
struct actor_tracker {
  std::mutex mtx;
  std::condition_variable cv;
  /// Tracked actors not yet terminated (helpers count from before spawn).
  size_t alive = 0;
  /// The helpers of asynchronous calls, by actor id.
  std::unordered_map<caf::actor_id, caf::actor_addr> helpers;
  /// Helpers spawned (or about to be) and not yet terminated.
  size_t pending_helpers = 0;
  /// Helpers spawned (or about to be) that have not sent their request yet.
  size_t unsent_helpers = 0;

  /// Counts `hdl` until it terminates.
  template <class Handle>
  static void watch(const std::shared_ptr<actor_tracker>& self,
                    const Handle& hdl) {
    {
      std::lock_guard<std::mutex> guard{self->mtx};
      ++self->alive;
    }
    auto ptr = caf::actor_cast<caf::strong_actor_ptr>(hdl);
    ptr->get()->attach_functor([self] { self->release(); });
  }

  /// Counts one more helper about to be spawned.
  void reserve_helper();

  /// Waits until every helper terminated on its own or `timeout` passed;
  /// returns whether they all did.
  bool wait_helpers(std::chrono::milliseconds timeout);

  /// Counts a helper's request as sent.
  void request_sent();

  /// Waits until every helper reserved so far has sent its request or
  /// `timeout` passed; returns whether they all did.
  bool wait_requests_sent(std::chrono::milliseconds timeout);

  /// Records the running helper `id`.
  void add_helper(caf::actor_id id, caf::actor_addr addr);

  /// Forgets helper `id` and counts it terminated.
  void remove_helper(caf::actor_id id);

  /// Counts one actor terminated.
  void release();

  /// Sends an exit to every running helper.
  void kill_helpers();

  /// Waits until every tracked actor terminated or `timeout` passed;
  /// returns whether they all did.
  bool wait_all(std::chrono::milliseconds timeout);
};

/// The members of a runtime. The actor system is declared before every
/// member holding an actor handle: its destructor waits for all actors.
struct runtime::impl {
  /// Builds everything, in an actor system of its own, and registers the
  /// local node.
  explicit impl(runtime_options options);

  /// Builds everything in the host's system `host` and registers the local
  /// node. Throws `std::invalid_argument` if `host` lacks Quiesce's type IDs.
  impl(caf::actor_system& host, runtime_options options);

  /// Shuts down.
  ~impl();

  /// Sends `req` to the supervisor and waits for the reply; transport
  /// failures and timeouts become the reply's code.
  template <class Reply, class Request>
  Reply call(Request req, std::chrono::milliseconds timeout) {
    return blocking_request<Reply>(sys, current_supervisor(), std::move(req),
                                   timeout);
  }

  /// Sends `req` with the default request timeout.
  template <class Reply, class Request>
  Reply call(Request req) {
    return call<Reply>(std::move(req), opts.request_timeout);
  }

  /// Sends `req` to the supervisor from a short-lived helper actor and
  /// returns at once. `deliver` receives the reply (transport failures and
  /// timeouts become its code, a shutdown before the reply `unavailable`)
  /// exactly once, on a CAF thread, or on the calling thread if the runtime
  /// is stopped; it must not block.
  template <class Reply, class Request>
  void call_async(Request req, std::chrono::milliseconds timeout,
                  std::function<void(Reply)> deliver) {
    auto hdl = current_supervisor();
    if (!hdl) {
      deliver(reply_with<Reply>(result_code::unavailable,
                                "the runtime is shut down"));
      return;
    }
    // Exactly one of reply, error and termination delivers.
    auto out = std::make_shared<deliver_once<Reply>>();
    out->fn = std::move(deliver);
    auto tracker = actors;
    tracker->reserve_helper();
    sys.spawn([hdl, timeout, out, tracker,
               req = std::move(req)](caf::event_based_actor* self) mutable {
      auto id = self->id();
      tracker->add_helper(id, self->address());
      self->attach_functor([out, tracker, id] {
        (*out)(reply_with<Reply>(result_code::unavailable,
                                 "the runtime shut down before the reply"));
        tracker->remove_helper(id);
      });
      self->request(hdl, timeout, std::move(req))
          .then([out](Reply& reply) { (*out)(std::move(reply)); },
                [out](caf::error& err) { (*out)(reply_from<Reply>(err)); });
      tracker->request_sent();
    });
  }

  /// Returns a callback for `call_async` that hands the reply to `cb` on the
  /// event thread (or calls `cb` at once if the event thread has stopped).
  template <class Reply>
  std::function<void(Reply)> on_event_thread(std::function<void(Reply)> cb) {
    return [queue = events, cb = std::move(cb)](Reply reply) {
      std::function<void()> fn = [cb, reply = std::move(reply)] {
        cb(reply);
      };
      if (!queue->post(fn))
        fn();
    };
  }

  /// Returns the supervisor, or an invalid handle once shutdown began.
  supervisor_actor current_supervisor();

  /// Stops everything (bounded); idempotent.
  void shutdown();

  /// Spawns the supervisor, the sink and the event thread, and registers
  /// the local node (both constructors).
  void start();

  /// The event thread's loop.
  void deliver_events();

  /// Returns `cfg` configured from `o`.
  caf::actor_system_config& make_config(const runtime_options& o);

  runtime_options opts;
  /// The configuration of the owned system (unused when attached).
  caf::actor_system_config cfg;
  /// The owned system; null when attached to a host's system.
  std::unique_ptr<caf::actor_system> owned_sys;
  /// The system in use: `*owned_sys` or the host's.
  caf::actor_system& sys;
  /// The runtime's own actors, for a shutdown that waits for them only.
  std::shared_ptr<actor_tracker> actors;
  /// Guards `supervisor` against a concurrent shutdown.
  std::mutex handles_mtx;
  std::shared_ptr<work_registry> registry;
  std::shared_ptr<process::launcher> launcher;
  std::shared_ptr<event_queue> events;
  supervisor_actor supervisor;
  node_actor local_node;
  event_sink_actor sink;
  std::thread event_thread;
  std::mutex callbacks_mtx;
  std::vector<std::pair<subscription_id, event_callback>> callbacks;
  subscription_id next_subscription = 0;
  /// Whether the sink receives events: only once a callback was registered,
  /// so a runtime nobody listens to publishes to no one.
  bool sink_subscribed = false;
  std::mutex shutdown_mtx;
  bool stopped = false;
};

} // namespace quiesce
