#pragma once

// The client's transport (internal): how a request reaches the supervisor
// and how its reply, the events and a lost connection come back. One
// mechanism serves both transports: in-process (the runtime's own
// supervisor) and remote (a head's supervisor behind CAF's middleman). The
// only difference is `remote`: a remote supervisor can vanish silently (CAF
// 0.17 drops messages to a lost peer's proxy and never answers a request in
// flight), so remote calls also watch it.

#include "actors/interfaces.hpp"
#include "runtime/client.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/system_messages.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace quiesce::detail {

template <class T, class = void>
struct has_detail : std::false_type {};

template <class T>
struct has_detail<T, std::void_t<decltype(std::declval<T&>().detail)>>
    : std::true_type {};

/// Returns a reply carrying `code` and, where the reply type has a detail,
/// `text`.
template <class Reply>
Reply reply_with(result_code code, std::string text) {
  Reply out;
  out.code = code;
  if constexpr (has_detail<Reply>::value)
    out.detail = std::move(text);
  return out;
}

/// Returns the reply a failed request stands for: a transport failure or a
/// timeout becomes its code (`unavailable`, `request_timeout`, ...).
template <class Reply>
Reply reply_from(const caf::error& err) {
  return reply_with<Reply>(to_result_code(err), render(err));
}

/// Calls a function with the first value given to it and ignores the rest:
/// for replies that a reply, an error, a down message and a termination
/// race to deliver.
template <class Reply>
struct deliver_once {
  std::function<void(Reply)> fn;
  std::atomic<bool> done{false};

  /// Passes `x` on if nothing was delivered yet.
  void operator()(Reply x) {
    if (!done.exchange(true))
      fn(std::move(x));
  }
};

/// Sends `req` to `sup` from a temporary scoped actor and waits at most
/// `timeout` for the reply; failures become the reply's code. For an
/// in-process supervisor, or a first request right after connecting.
/// Blocks the calling thread: never call it from an actor.
template <class Reply, class Request>
Reply request_blocking(caf::actor_system& sys, const supervisor_actor& sup,
                       Request req, std::chrono::milliseconds timeout) {
  if (!sup)
    return reply_with<Reply>(result_code::unavailable, "no supervisor");
  Reply out;
  caf::scoped_actor self{sys};
  // The bound is the receive's own timeout, not a request timeout: CAF 0.17
  // hands every request timeout to its clock thread, waking it once per
  // call, which cost a synchronous call about a third of its latency.
  auto mid = self->request(sup, caf::infinite, std::move(req)).id();
  caf::blocking_actor::accept_one_cond cond;
  self->varargs_receive(
      cond, mid, [&](Reply& reply) { out = std::move(reply); },
      [&](caf::error& err) { out = reply_from<Reply>(err); },
      caf::after(timeout) >>
          [&] {
            out = reply_from<Reply>(caf::make_error(caf::sec::request_timeout));
          });
  return out;
}

/// Events on their way from the sink actor to the event thread, and reply
/// callbacks of asynchronous calls on their way to the same thread.
struct event_queue {
  std::mutex mtx;
  std::condition_variable cv;
  std::deque<event> items;
  bool closed = false;
  /// Reply callbacks, run after the events queued before them.
  std::deque<std::function<void()>> calls;
  /// Set once the supervisor is known gone (a remote head was lost).
  std::atomic<bool> lost{false};

  /// Appends an event and wakes the event thread.
  void push(event ev);

  /// Appends events in order and wakes the event thread once.
  void push_all(std::vector<event> evs);

  /// Appends a call for the event thread; returns false (and drops nothing:
  /// the caller keeps `fn` to run it itself) once the queue is closed.
  bool post(std::function<void()>& fn);

  /// Lets the event thread finish once the queue is empty.
  void close();
};

/// The transport's own actors (supervisor when in-process, local node, sink,
/// helpers of asynchronous calls), counted until they terminate, so that
/// closing can wait for exactly them: a host's system runs other actors too.
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

/// How a client reaches its supervisor. Owns the actor system when the
/// client made it (remote clients, runtimes without a host system); that
/// system is declared first, so it goes last.
struct transport {
  /// Uses the host's system `host` (not owned).
  transport(caf::actor_system& host, bool remote);

  /// Creates and owns a system from `config`.
  transport(std::unique_ptr<caf::actor_system_config> config, bool remote);

  /// Closes (bounded) and stops an owned system.
  ~transport();

  transport(const transport&) = delete;
  transport& operator=(const transport&) = delete;

  /// Sets the supervisor (once, before any call) and starts the event
  /// thread and its sink actor (which watches a remote supervisor).
  void start(supervisor_actor sup);

  /// Returns the supervisor, or an invalid handle once closing began.
  supervisor_actor current_supervisor();

  /// Sends `req` and waits at most `timeout` for the reply; failures become
  /// the reply's code (`unavailable` at once when a remote head is lost).
  template <class Reply, class Request>
  Reply call(Request req, std::chrono::milliseconds timeout) {
    if (!remote)
      return request_blocking<Reply>(sys, current_supervisor(), std::move(req),
                                     timeout);
    auto promise = std::make_shared<std::promise<Reply>>();
    auto result = promise->get_future();
    call_async<Reply>(std::move(req), timeout,
                      [promise](Reply x) { promise->set_value(std::move(x)); });
    return result.get();
  }

  /// Sends `req` from a short-lived helper actor and returns at once.
  /// `deliver` receives the reply (transport failures and timeouts become
  /// its code, a close before the reply and a lost remote head
  /// `unavailable`) exactly once, on a CAF thread, or on the calling thread
  /// if the transport is closed; it must not block.
  template <class Reply, class Request>
  void call_async(Request req, std::chrono::milliseconds timeout,
                  std::function<void(Reply)> deliver) {
    auto hdl = current_supervisor();
    if (!hdl) {
      deliver(
          reply_with<Reply>(result_code::unavailable, "the client is closed"));
      return;
    }
    // Exactly one of reply, error, down message and termination delivers.
    auto out = std::make_shared<deliver_once<Reply>>();
    out->fn = std::move(deliver);
    auto tracker = actors;
    tracker->reserve_helper();
    sys.spawn([hdl, timeout, out, tracker, watch = remote,
               req = std::move(req)](caf::event_based_actor* self) mutable {
      auto id = self->id();
      tracker->add_helper(id, self->address());
      self->attach_functor([out, tracker, id] {
        (*out)(reply_with<Reply>(result_code::unavailable,
                                 "the client closed before the reply"));
        tracker->remove_helper(id);
      });
      if (watch) {
        self->monitor(hdl);
        self->set_down_handler([self, out](caf::down_msg&) {
          (*out)(reply_with<Reply>(result_code::unavailable,
                                   "the connection to the head was lost"));
          self->quit();
        });
      }
      // CAF 0.17 keeps a dead observer's monitor attached to the observed
      // actor (and with it the observer's memory), so undo it before
      // quitting.
      auto done = [self, hdl, watch] {
        if (watch)
          self->demonitor(hdl.address());
        self->quit();
      };
      self->request(hdl, timeout, std::move(req))
          .then(
              [out, done](Reply& reply) {
                (*out)(std::move(reply));
                done();
              },
              [out, done](caf::error& err) {
                (*out)(reply_from<Reply>(err));
                done();
              });
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

  /// Registers `cb` for every later event; subscribes the sink with the
  /// supervisor on the first call. Returns 0 when that subscription failed.
  subscription_id subscribe(event_callback cb,
                            std::chrono::milliseconds timeout);

  /// Forgets the callback of `id`.
  void unsubscribe(subscription_id id);

  /// Returns the actor whose end ends this process's identity binding at the
  /// head (the event sink): the `session` of `authenticate`.
  caf::strong_actor_ptr session();

  /// Takes the supervisor handle away: later calls answer `unavailable`.
  supervisor_actor drop_supervisor();

  /// The common end of closing: stops the sink, lets the helpers deliver
  /// the replies on their way (bounded), stops the rest, waits (bounded) for
  /// every tracked actor, then delivers the last events and joins the event
  /// thread. Idempotent.
  void close();

  /// The event thread's loop.
  void deliver_events();

  /// The configuration of an owned system (null when attached).
  std::unique_ptr<caf::actor_system_config> cfg;
  /// The owned system; null when attached to a host's system.
  std::unique_ptr<caf::actor_system> owned_sys;
  /// The system in use: `*owned_sys` or the host's.
  caf::actor_system& sys;
  /// Whether the supervisor is remote (calls then watch it).
  const bool remote;
  /// The transport's own actors, for a close that waits for them only.
  std::shared_ptr<actor_tracker> actors;
  std::shared_ptr<event_queue> events;

private:
  std::mutex handles_mtx_;
  supervisor_actor supervisor_;
  event_sink_actor sink_;
  std::thread event_thread_;
  std::mutex callbacks_mtx_;
  std::vector<std::pair<subscription_id, event_callback>> callbacks_;
  subscription_id next_subscription_ = 0;
  /// Whether the sink receives events: only once a callback was registered,
  /// so a supervisor nobody listens to publishes to no one.
  bool sink_subscribed_ = false;
  std::mutex close_mtx_;
  bool closed_ = false;
};

} // namespace quiesce::detail
