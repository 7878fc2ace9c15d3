// Tests of the status enums' stable names (messages/status.hpp).

#include "messages/status.hpp"

#include <catch2/catch.hpp>

using namespace quiesce;

TEST_CASE("node statuses have the stable names ready and unreachable",
          "[messages][status]") {
  CHECK(to_name(node_status::ready) == "ready");
  CHECK(to_name(node_status::unreachable) == "unreachable");
  CHECK(to_string(node_status::unreachable) == "unreachable");
  for (auto x : {node_status::ready, node_status::unreachable}) {
    auto parsed = x == node_status::ready ? node_status::unreachable
                                          : node_status::ready;
    REQUIRE(from_name(to_name(x), parsed));
    CHECK(parsed == x);
  }
  auto unused = node_status::ready;
  CHECK_FALSE(from_name("down", unused));
  CHECK(to_name(static_cast<node_status>(7)) == "invalid");
}
