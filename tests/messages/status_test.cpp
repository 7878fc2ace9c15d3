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

TEST_CASE("an entity status has the name of the status it holds",
          "[messages][status]") {
  for (int i = 0; i <= static_cast<int>(job_status::cancelling); ++i) {
    auto x = static_cast<job_status>(i);
    CHECK(to_name(entity_status{x}) == to_name(x));
    CHECK(to_string(entity_status{x}) == to_string(x));
  }
  for (int i = 0; i <= static_cast<int>(assessment_status::completed); ++i) {
    auto x = static_cast<assessment_status>(i);
    CHECK(to_name(entity_status{x}) == to_name(x));
  }
  for (int i = 0; i <= static_cast<int>(task_status::cancelled); ++i) {
    auto x = static_cast<task_status>(i);
    CHECK(to_name(entity_status{x}) == to_name(x));
  }
  // The default is the first status of a job.
  CHECK(to_name(entity_status{}) == "not_submitted");
  CHECK(is(entity_status{}, job_status::not_submitted));
}

TEST_CASE("is compares the type of an entity status as well as its value",
          "[messages][status]") {
  entity_status x = task_status::running;
  CHECK(is(x, task_status::running));
  CHECK_FALSE(is(x, task_status::queued));
  // job_status::running has the same number but another type.
  CHECK_FALSE(is(x, job_status::running));
  CHECK(x != entity_status{job_status::running});
  CHECK(x == entity_status{task_status::running});
}
