#pragma once

// The runtime's internals, for layers built on it (the CLI, the head and node
// processes, tests). Hosts use runtime.hpp only.

#include "actors/interfaces.hpp"
#include "runtime/runtime.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <type_traits>

namespace quiesce {

class work_registry;

namespace process {
class launcher;
} // namespace process

/// Events on their way from the sink actor to the event thread.
struct event_queue {
  std::mutex mtx;
  std::condition_variable cv;
  std::deque<event> items;
  bool closed = false;

  /// Appends an event and wakes the event thread.
  void push(event ev);

  /// Lets the event thread finish once the queue is empty.
  void close();
};

/// The members of a runtime. The actor system is declared before every
/// member holding an actor handle: its destructor waits for all actors.
struct runtime::impl {
  /// Builds everything and registers the local node.
  explicit impl(runtime_options options);

  /// Shuts down.
  ~impl();

  /// Sends `req` to the supervisor and waits for the reply; transport
  /// failures and timeouts become the reply's code.
  template <class Reply, class Request>
  Reply call(Request req, std::chrono::milliseconds timeout) {
    Reply out;
    if (!supervisor) {
      out.code = result_code::unavailable;
      return out;
    }
    caf::scoped_actor self{sys};
    self->request(supervisor, timeout, std::move(req))
        .receive([&](Reply& reply) { out = std::move(reply); },
                 [&](caf::error& err) {
                   out.code = to_result_code(err);
                   if constexpr (has_detail<Reply>::value)
                     out.detail = render(err);
                 });
    return out;
  }

  /// Sends `req` with the default request timeout.
  template <class Reply, class Request>
  Reply call(Request req) {
    return call<Reply>(std::move(req), opts.request_timeout);
  }

  /// Stops everything (bounded); idempotent.
  void shutdown();

  /// The event thread's loop.
  void deliver_events();

  /// Returns `cfg` configured from `o`.
  caf::actor_system_config& make_config(const runtime_options& o);

  template <class T, class = void>
  struct has_detail : std::false_type {};

  template <class T>
  struct has_detail<T, std::void_t<decltype(std::declval<T&>().detail)>>
      : std::true_type {};

  runtime_options opts;
  caf::actor_system_config cfg;
  caf::actor_system sys;
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
  std::mutex shutdown_mtx;
  bool stopped = false;
};

} // namespace quiesce
