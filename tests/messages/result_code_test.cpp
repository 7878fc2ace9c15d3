#include "messages/result_code.hpp"

#include <caf/sec.hpp>

#include <catch2/catch.hpp>

#include <set>
#include <string>

using namespace quiesce;

TEST_CASE("result codes have unique stable names that parse back",
          "[messages][result_code]") {
  std::set<std::string> names;
  for (size_t i = 0; i < result_code_count; ++i) {
    auto code = static_cast<result_code>(i);
    auto name = std::string{to_name(code)};
    CHECK(names.insert(name).second);
    CHECK_FALSE(describe(code).empty());
    result_code parsed = result_code::internal_error;
    REQUIRE(from_name(name, parsed));
    CHECK(parsed == code);
  }
  result_code unused = result_code::ok;
  CHECK_FALSE(from_name("no_such_code", unused));
}

TEST_CASE("result code numbers are stable", "[messages][result_code]") {
  CHECK(static_cast<int>(result_code::ok) == 0);
  CHECK(static_cast<int>(result_code::invalid_state) == 4);
  CHECK(static_cast<int>(result_code::no_job_running) == 5);
  CHECK(static_cast<int>(result_code::message_too_long) == 7);
  CHECK(static_cast<int>(result_code::job_cancelled) == 12);
  CHECK(static_cast<int>(result_code::internal_error) == 27);
  CHECK(static_cast<int>(result_code::permission_denied) == 28);
  CHECK(static_cast<int>(result_code::memory_limit_exceeded) == 29);
}

TEST_CASE("result codes carry the reference HRESULTs",
          "[messages][result_code]") {
  CHECK(hresult(result_code::ok) == 0u);
  CHECK(hresult(result_code::job_cancelled) == 0x80041013u);
  CHECK(hresult(result_code::permission_denied) == 0x80070005u);
  CHECK(reference_name(result_code::permission_denied) == "E_ACCESSDENIED");
  CHECK(hresult(result_code::memory_limit_exceeded) == 0x8007000Eu);
  CHECK(reference_name(result_code::memory_limit_exceeded) == "E_OUTOFMEMORY");
  CHECK(hresult(result_code::assessment_cancelled) == 0x8004100Du);
  CHECK(hresult(result_code::assessment_terminated) == 0x8004100Fu);
  CHECK(hresult(result_code::no_job_running) == 0x80041006u);
  CHECK(reference_name(result_code::job_cancelled) == "AXE_E_JOB_CANCELED");
  CHECK(hresult(result_code::node_lost) == 0u);
  CHECK(reference_name(result_code::node_lost).empty());
}

TEST_CASE("result codes convert to and from caf::error",
          "[messages][result_code]") {
  for (size_t i = 1; i < result_code_count; ++i) {
    auto code = static_cast<result_code>(i);
    caf::error err = code;
    CHECK(err.category() == caf::atom("quiesce"));
    CHECK(to_result_code(err) == code);
  }
  CHECK(to_result_code(caf::error{}) == result_code::ok);
  CHECK(to_result_code(caf::make_error(caf::sec::request_timeout))
        == result_code::request_timeout);
  CHECK(to_result_code(caf::make_error(caf::sec::request_receiver_down))
        == result_code::unavailable);
}

TEST_CASE("render names quiesce codes and their context",
          "[messages][result_code]") {
  CHECK(render(caf::error{}) == "ok");
  CHECK(render(make_error(result_code::invalid_index))
        == "invalid_index: the assessment index is not the running "
           "assessment");
  CHECK(render(make_error(result_code::task_not_found, "task 9"))
        == "task_not_found: no task with that id is known in that job "
           "(task 9)");
  CHECK_FALSE(render(caf::make_error(caf::sec::request_timeout)).empty());
}
