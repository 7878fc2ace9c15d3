// Tests of node membership (actors/nodes.hpp): joining, losing and slots.

#include "actors/nodes.hpp"
#include "support/handles.hpp"

#include <catch2/catch.hpp>

using namespace quiesce;
using namespace quiesce::test;

namespace {

node_hello hello(std::string name, uint32_t slots, node_actor hdl,
                 std::vector<std::string> labels = {}) {
  return node_hello{protocol_version,
                    std::move(name),
                    slots,
                    std::move(labels),
                    std::move(hdl),
                    {},
                    0,
                    {}};
}

attempt_ended end_of(attempt_key key, std::string node,
                     attempt_outcome outcome = attempt_outcome::succeeded) {
  attempt_ended end;
  end.key = key;
  end.node = std::move(node);
  end.outcome = outcome;
  return end;
}

// Joins node "n1" with `slots`, places attempt {1, 1, 1} on it and loses it.
void join_and_lose(dummy_actors& dummies, node_table& nodes, uint32_t slots) {
  auto hdl = dummies.make<node_actor>();
  auto h = hello("n1", slots, hdl);
  REQUIRE(nodes.join(h).code == result_code::ok);
  nodes.occupy(*nodes.find("n1"), attempt_key{1, 1, 1});
  nodes.lost(hdl.address());
}

// join_and_lose, then node "n1" joins again as a new process with one
// slot; returns its entry.
node_entry& lose_and_rejoin(dummy_actors& dummies, node_table& nodes) {
  join_and_lose(dummies, nodes, 1);
  auto again = hello("n1", 1, dummies.make<node_actor>());
  REQUIRE(nodes.join(again).code == result_code::ok);
  return *nodes.find("n1");
}

} // namespace

TEST_CASE("node table registers a node and lists it as ready",
          "[actors][nodes]") {
  dummy_actors dummies;
  node_table nodes;
  CHECK_FALSE(nodes.has_free_slot());
  auto h = hello("n1", 2, dummies.make<node_actor>(), {"gpu"});
  auto out = nodes.join(h);
  CHECK(out.code == result_code::ok);
  CHECK(out.nodes.empty());
  CHECK(nodes.has_free_slot());
  auto records = nodes.records();
  REQUIRE(records.size() == 1);
  CHECK(records[0].name == "n1");
  CHECK(records[0].slots == 2);
  CHECK(records[0].running == 0);
  CHECK(records[0].labels == std::vector<std::string>{"gpu"});
  CHECK(records[0].status == node_status::ready);
}

TEST_CASE("node table refuses a wrong version, a missing field or a "
          "duplicate name",
          "[actors][nodes]") {
  dummy_actors dummies;
  node_table nodes;
  auto old = hello("n1", 1, dummies.make<node_actor>());
  old.version = protocol_version + 1;
  auto out = nodes.join(old);
  CHECK(out.code == result_code::protocol_mismatch);
  CHECK(out.detail.find("protocol version") != std::string::npos);
  auto no_handle = hello("n1", 1, node_actor{});
  CHECK(nodes.join(no_handle).code == result_code::invalid_argument);
  auto no_name = hello("", 1, dummies.make<node_actor>());
  CHECK(nodes.join(no_name).code == result_code::invalid_argument);
  auto no_slot = hello("n1", 0, dummies.make<node_actor>());
  CHECK(nodes.join(no_slot).code == result_code::invalid_argument);
  CHECK(nodes.records().empty());
  auto first = hello("n1", 1, dummies.make<node_actor>());
  REQUIRE(nodes.join(first).code == result_code::ok);
  auto second = hello("n1", 4, dummies.make<node_actor>());
  out = nodes.join(second);
  CHECK(out.code == result_code::invalid_argument);
  CHECK(out.detail == "a node named n1 is already registered");
  CHECK(nodes.records().at(0).slots == 1);
}

TEST_CASE("node table lets a lost node join again under its name",
          "[actors][nodes]") {
  dummy_actors dummies;
  node_table nodes;
  join_and_lose(dummies, nodes, 2);
  CHECK(nodes.records().at(0).status == node_status::unreachable);
  CHECK_FALSE(nodes.has_free_slot());
  auto again = hello("n1", 3, dummies.make<node_actor>());
  CHECK(nodes.join(again).code == result_code::ok);
  auto records = nodes.records();
  REQUIRE(records.size() == 1);
  CHECK(records[0].status == node_status::ready);
  CHECK(records[0].slots == 3);
  CHECK(records[0].running == 0);
}

TEST_CASE("node table frees slots and marks a node lost with its attempt",
          "[actors][nodes]") {
  dummy_actors dummies;
  node_table nodes;
  auto h = hello("n1", 2, dummies.make<node_actor>());
  REQUIRE(nodes.join(h).code == result_code::ok);
  auto& n = *nodes.find("n1");
  nodes.occupy(n, attempt_key{1, 1, 1});
  nodes.occupy(n, attempt_key{1, 2, 1});
  CHECK(n.running == 2);
  CHECK_FALSE(nodes.has_free_slot());
  nodes.release(end_of({1, 1, 1}, "n1"));
  CHECK(n.running == 1);
  CHECK(n.status == node_status::ready);
  nodes.release(end_of({1, 2, 1}, "n1", attempt_outcome::lost));
  CHECK(n.running == 0);
  CHECK(n.status == node_status::unreachable);
  // An end from an unknown node, or more ends than attempts, change nothing.
  nodes.release(end_of({1, 3, 1}, "elsewhere"));
  nodes.release(end_of({1, 3, 1}, "n1"));
  CHECK(n.running == 0);
}

TEST_CASE("node table keeps a rejoined node ready when an attempt of its "
          "old incarnation is lost",
          "[actors][nodes]") {
  dummy_actors dummies;
  node_table nodes;
  auto& n = lose_and_rejoin(dummies, nodes);
  nodes.release(end_of({1, 1, 1}, "n1", attempt_outcome::lost));
  CHECK(n.status == node_status::ready);
}

TEST_CASE("node table frees no slot of a rejoined node for the end of an "
          "attempt of its old process",
          "[actors][nodes][R13]") {
  dummy_actors dummies;
  node_table nodes;
  auto& n = lose_and_rejoin(dummies, nodes);
  nodes.occupy(n, attempt_key{1, 2, 1});
  REQUIRE_FALSE(nodes.has_free_slot());
  // The old process's attempt is reported lost (or ended) late: the new
  // process's only slot is still taken by its own attempt.
  nodes.release(end_of({1, 1, 1}, "n1", attempt_outcome::lost));
  CHECK(n.running == 1);
  CHECK_FALSE(nodes.has_free_slot());
  CHECK(n.status == node_status::ready);
  // Its own attempt's end frees it.
  nodes.release(end_of({1, 2, 1}, "n1"));
  CHECK(n.running == 0);
  CHECK(nodes.has_free_slot());
}
