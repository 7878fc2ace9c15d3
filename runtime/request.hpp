#pragma once

#include "actors/interfaces.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/system_messages.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <type_traits>
#include <utility>

namespace quiesce {

namespace detail {

template <class T, class = void>
struct has_detail : std::false_type {};

template <class T>
struct has_detail<T, std::void_t<decltype(std::declval<T&>().detail)>>
    : std::true_type {};

} // namespace detail

/// Sends `req` to `sup` from a temporary scoped actor and waits at most
/// `timeout` for the reply. A transport failure or a timeout becomes the
/// reply's code (`unavailable`, `request_timeout`), with a readable detail
/// where the reply has one. Blocks the calling thread: never call it from
/// an actor.
template <class Reply, class Request>
Reply blocking_request(caf::actor_system& sys, const supervisor_actor& sup,
                       Request req, std::chrono::milliseconds timeout) {
  Reply out;
  if (!sup) {
    out.code = result_code::unavailable;
    return out;
  }
  caf::scoped_actor self{sys};
  self->request(sup, timeout, std::move(req))
      .receive([&](Reply& reply) { out = std::move(reply); },
               [&](caf::error& err) {
                 out.code = to_result_code(err);
                 if constexpr (detail::has_detail<Reply>::value)
                   out.detail = render(err);
               });
  return out;
}

/// Sends `req` to `sup` from a short-lived helper actor that also monitors
/// `sup`, and waits at most `timeout` for the reply. Unlike
/// `blocking_request`, a lost connection ends the wait at once with
/// `unavailable`: CAF 0.17 drops messages to the proxy of a lost peer
/// silently, and a request in flight when the peer died is never answered,
/// so only a monitor notices. Blocks the calling thread: never call it from
/// an actor.
template <class Reply, class Request>
Reply watched_request(caf::actor_system& sys, const supervisor_actor& sup,
                      Request req, std::chrono::milliseconds timeout) {
  Reply out;
  if (!sup) {
    out.code = result_code::unavailable;
    return out;
  }
  // Exactly one of reply, error, down message and termination delivers.
  struct once {
    std::promise<Reply> promise;
    std::atomic<bool> done{false};
    void operator()(Reply x) {
      if (!done.exchange(true))
        promise.set_value(std::move(x));
    }
  };
  auto deliver = std::make_shared<once>();
  auto result = deliver->promise.get_future();
  auto failed = [](result_code code, std::string text) {
    Reply r;
    r.code = code;
    if constexpr (detail::has_detail<Reply>::value)
      r.detail = std::move(text);
    return r;
  };
  sys.spawn([sup, timeout, deliver, failed,
             req = std::move(req)](caf::event_based_actor* self) mutable {
    self->attach_functor([deliver, failed] {
      (*deliver)(failed(result_code::unavailable,
                        "the client stopped before the reply"));
    });
    self->monitor(sup);
    self->set_down_handler([self, deliver, failed](caf::down_msg&) {
      (*deliver)(failed(result_code::unavailable,
                        "the connection to the head was lost"));
      self->quit();
    });
    self->request(sup, timeout, std::move(req))
        .then(
            [self, deliver](Reply& reply) {
              (*deliver)(std::move(reply));
              self->quit();
            },
            [self, deliver, failed](caf::error& err) {
              (*deliver)(failed(to_result_code(err), render(err)));
              self->quit();
            });
  });
  return result.get();
}

} // namespace quiesce
