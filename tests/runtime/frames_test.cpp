// The gate's BASP frame check (runtime/frames.hpp): frames built with CAF's
// own serializer, as CAF 0.17.6's BASP writes them.

#include "runtime/frames.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/error.hpp>
#include <caf/exit_reason.hpp>
#include <caf/forwarding_actor_proxy.hpp>
#include <caf/group.hpp>
#include <caf/io/basp/message_type.hpp>
#include <caf/make_actor.hpp>
#include <caf/message.hpp>
#include <caf/system_messages.hpp>
#include <caf/type_id.hpp>

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

namespace {

using caf::io::basp::header;
using caf::io::basp::message_type;

caf::node_id node(uint8_t n) {
  caf::node_id::default_data::host_id_type host{};
  host.fill(n);
  return caf::make_node_id(1000u + n, host);
}

/// A peer's BASP frames: header, then payload, as separate chunks.
struct peer {
  quiesce::basp_frames frames;
  caf::node_id head = node(1);
  /// When set, the check deserializes message contents with it.
  caf::actor_system* checking = nullptr;

  /// Sends a frame `op` whose payload is `payload` as it is.
  std::string send_raw(message_type op, const std::vector<char>& payload) {
    header hdr{op, 0, static_cast<uint32_t>(payload.size()), 0, 7, 9};
    std::vector<char> bytes;
    caf::binary_serializer sink{static_cast<caf::execution_unit*>(nullptr),
                                bytes};
    REQUIRE(!sink(hdr));
    auto why = frames.check(head, bytes.data(), bytes.size(), checking);
    if (!why.empty() || payload.empty())
      return why;
    return frames.check(head, payload.data(), payload.size(), checking);
  }

  template <class... Ts>
  std::string send(message_type op, Ts&&... payload_fields) {
    return send_with(nullptr, op, std::forward<Ts>(payload_fields)...);
  }

  /// Sends a frame whose payload needs an actor system to serialize (a
  /// message).
  template <class... Ts>
  std::string send_with(caf::actor_system* sys, message_type op,
                        Ts&&... payload_fields) {
    std::vector<char> payload;
    if constexpr (sizeof...(Ts) > 0) {
      if (sys != nullptr) {
        caf::binary_serializer sink{*sys, payload};
        REQUIRE(!sink(payload_fields...));
      } else {
        caf::binary_serializer sink{static_cast<caf::execution_unit*>(nullptr),
                                    payload};
        REQUIRE(!sink(payload_fields...));
      }
    }
    return send_raw(op, payload);
  }
};

} // namespace

TEST_CASE("gate: a peer's frames from its own node to the head pass") {
  peer p;
  auto a = node(2);
  auto head = p.head;
  CHECK(p.send(message_type::client_handshake, a).empty());
  CHECK(p.frames.peer() == a);
  CHECK(p.send(message_type::heartbeat).empty());
  CHECK(p.send(message_type::routed_message, a, head).empty());
  CHECK(p.send(message_type::monitor_message, a, head).empty());
  CHECK(p.send(message_type::down_message, a, head, caf::error{}).empty());
  // CAF's handshake again on the same connection (selecting it) is fine.
  CHECK(p.send(message_type::client_handshake, a).empty());
}

TEST_CASE("gate: a frame naming another node as its source is refused") {
  auto a = node(2);
  auto b = node(3);
  for (auto op : {message_type::routed_message, message_type::monitor_message,
                  message_type::down_message}) {
    peer p;
    auto head = p.head;
    REQUIRE(p.send(message_type::client_handshake, a).empty());
    auto why = p.send(op, b, head);
    CHECK(why.find("naming node " + to_string(b) + " as its source")
          != std::string::npos);
    CHECK(why.find("connection of node " + to_string(a)) != std::string::npos);
  }
  SECTION("the head's own node too") {
    peer p;
    auto head = p.head;
    REQUIRE(p.send(message_type::client_handshake, a).empty());
    CHECK_FALSE(p.send(message_type::routed_message, head, head).empty());
  }
}

TEST_CASE("gate: a frame for the head to forward is refused") {
  peer p;
  auto a = node(2);
  auto c = node(4);
  REQUIRE(p.send(message_type::client_handshake, a).empty());
  auto why = p.send(message_type::routed_message, a, c);
  CHECK(why
        == "a frame to forward to node " + to_string(c)
               + " (the head forwards nothing)");
}

TEST_CASE("gate: frames before the handshake, a server handshake and a "
          "second node's handshake are refused") {
  auto a = node(2);
  auto b = node(3);
  {
    peer p;
    CHECK(p.send(message_type::heartbeat)
          == "a frame before the peer's handshake");
  }
  {
    peer p;
    CHECK(p.send(message_type::server_handshake, a)
          == "a server handshake from a peer that connected to the head");
  }
  {
    peer p;
    REQUIRE(p.send(message_type::client_handshake, a).empty());
    CHECK(p.send(message_type::client_handshake, b)
          == "a second handshake naming node " + to_string(b)
                 + " on the connection of node " + to_string(a));
  }
}

TEST_CASE("gate: chunks that are not BASP headers are left to CAF") {
  peer p;
  char one = 'x';
  CHECK(p.frames.check(p.head, &one, 1).empty());
}

TEST_CASE("gate: system messages and link requests as a message's content "
          "are refused; other messages pass") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto a = node(2);
  std::vector<caf::strong_actor_ptr> stages;
  auto send = [&](caf::message content, bool routed) {
    peer p;
    auto head = p.head;
    REQUIRE(p.send(message_type::client_handshake, a).empty());
    if (routed)
      return p.send_with(&sys, message_type::routed_message, a, head, stages,
                         content);
    return p.send_with(&sys, message_type::direct_message, stages, content);
  };
  for (auto routed : {false, true}) {
    CAPTURE(routed);
    // One message kills any actor it reaches: CAF traps no `kill`.
    CHECK(send(caf::make_message(
                   caf::exit_msg{caf::actor_addr{}, caf::exit_reason::kill}),
               routed)
          == "a system message (@exit) as a message's content");
    CHECK(send(caf::make_message(
                   caf::down_msg{caf::actor_addr{}, caf::exit_reason::kill}),
               routed)
          == "a system message (@down) as a message's content");
    CHECK(
        send(caf::make_message(caf::link_atom::value, caf::strong_actor_ptr{}),
             routed)
        == "a link request from a peer");
    CHECK(send(caf::make_message(caf::unlink_atom::value,
                                 caf::strong_actor_ptr{}),
               routed)
          == "a link request from a peer");
    // A group handle (looked up while deserializing) or a nested message.
    CHECK(send(caf::make_message(std::string{"x"}, caf::group{}), routed)
          == "a message holding a group (Quiesce sends none)");
    CHECK(
        send(caf::make_message(std::string{"x"}, caf::make_message(1)), routed)
        == "a message holding a message (Quiesce sends none)");
    // Anything else is the head's actors' to judge.
    CHECK(send(caf::make_message(caf::get_atom::value, caf::strong_actor_ptr{}),
               routed)
              .empty());
    CHECK(send(caf::make_message(std::string{"hello"}, 42), routed).empty());
  }
}

TEST_CASE("gate: a message that does not deserialize as CAF will is refused; "
          "one that does passes, remote actors and all") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto a = node(2);
  auto serialize = [&](auto&&... fields) {
    std::vector<char> out;
    caf::binary_serializer sink{sys, out};
    REQUIRE(!sink(fields...));
    return out;
  };
  auto open = [&] {
    auto p = std::make_unique<peer>();
    p->checking = &sys;
    REQUIRE(p->send(message_type::client_handshake, a).empty());
    return p;
  };
  std::vector<caf::strong_actor_ptr> stages;
  // A message naming an actor of the peer's node: CAF makes a proxy for it;
  // the check makes a stand-in and drops it.
  {
    caf::actor_config acfg;
    auto remote
        = caf::make_actor<caf::forwarding_actor_proxy, caf::strong_actor_ptr>(
            42, a, &sys, acfg, caf::actor{});
    auto p = open();
    CHECK(p->send_raw(
               message_type::direct_message,
               serialize(stages, caf::make_message(std::string{"hi"}, remote)))
              .empty());
  }
  // Cut short: the last value's bytes are missing.
  {
    auto whole = serialize(stages, caf::make_message(std::string{"hello"}));
    whole.resize(whole.size() - 3);
    auto p = open();
    auto why = p->send_raw(message_type::direct_message, whole);
    CHECK_THAT(why, Catch::StartsWith("a message that does not deserialize"));
  }
  // A type the head does not know.
  {
    std::vector<char> bytes;
    caf::binary_serializer sink{sys, bytes};
    uint16_t zero = 0;
    std::string types = "@<>+quiesce.no_such_type";
    REQUIRE(!sink(stages));
    REQUIRE(!sink.begin_object(zero, types));
    REQUIRE(!sink(uint64_t{7}));
    REQUIRE(!sink.end_object());
    auto p = open();
    auto why = p->send_raw(message_type::direct_message, bytes);
    CHECK_THAT(why, Catch::StartsWith("a message that does not deserialize"));
  }
  // The same cut-short message routed: its nodes first.
  {
    auto p = open();
    auto whole = serialize(a, p->head, stages,
                           caf::make_message(std::string{"hello"}));
    whole.resize(whole.size() - 3);
    auto why = p->send_raw(message_type::routed_message, whole);
    CHECK_THAT(why, Catch::StartsWith("a message that does not deserialize"));
  }
}
