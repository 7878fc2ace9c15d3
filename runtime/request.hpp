#pragma once

#include "actors/interfaces.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/system_messages.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <string>
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

/// Returns a reply carrying `code` and, where the reply type has a detail,
/// `text`.
template <class Reply>
Reply reply_with(result_code code, std::string text) {
  Reply out;
  out.code = code;
  if constexpr (detail::has_detail<Reply>::value)
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
/// `timeout` for the reply. A transport failure or a timeout becomes the
/// reply's code (`unavailable`, `request_timeout`), with a readable detail
/// where the reply has one. Blocks the calling thread: never call it from
/// an actor.
template <class Reply, class Request>
Reply blocking_request(caf::actor_system& sys, const supervisor_actor& sup,
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
  if (!sup)
    return reply_with<Reply>(result_code::unavailable, "no supervisor");
  // Exactly one of reply, error, down message and termination delivers.
  auto promise = std::make_shared<std::promise<Reply>>();
  auto result = promise->get_future();
  auto deliver = std::make_shared<deliver_once<Reply>>();
  deliver->fn = [promise](Reply x) {
    promise->set_value(std::move(x));
  };
  auto failed = [](result_code code, std::string text) {
    return reply_with<Reply>(code, std::move(text));
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
    // CAF 0.17 keeps a dead observer's monitor attached to the observed
    // actor (and with it the observer's memory), so undo it before quitting.
    self->request(sup, timeout, std::move(req))
        .then(
            [self, sup, deliver](Reply& reply) {
              (*deliver)(std::move(reply));
              self->demonitor(sup.address());
              self->quit();
            },
            [self, sup, deliver](caf::error& err) {
              (*deliver)(reply_from<Reply>(err));
              self->demonitor(sup.address());
              self->quit();
            });
  });
  return result.get();
}

} // namespace quiesce
