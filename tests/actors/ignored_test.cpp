// The lines an actor writes when it ignores a message (actors/ignored.hpp):
// at most a burst per window, with the rest counted and said.

#include "actors/ignored.hpp"

#include <caf/actor_control_block.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <sstream>
#include <string>
#include <vector>

using namespace quiesce;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);)
    out.push_back(line);
  return out;
}

} // namespace

TEST_CASE("a rate-limited log writes a burst per window and says how many "
          "lines it held back",
          "[ignored][security]") {
  std::ostringstream out;
  rate_limited_log log{out, 3, 1s};
  auto t0 = rate_limited_log::clock::time_point{} + 10s;
  std::vector<bool> written;
  for (int i = 1; i <= 5; ++i)
    written.push_back(log.write("line " + std::to_string(i), t0));
  CHECK(written == std::vector<bool>{true, true, true, false, false});
  CHECK(log.held_back() == 2);
  CHECK(lines_of(out.str())
        == std::vector<std::string>{"line 1", "line 2", "line 3"});
  // Still the same window just before its end: held back.
  CHECK_FALSE(log.write("line 6", t0 + 999ms));
  // A new window: the count comes first, once.
  CHECK(log.write("line 7", t0 + 1s));
  CHECK(log.write("line 8", t0 + 1s));
  const std::string count = "quiesce: 3 more such lines were held back "
                            "(at most 3 are written in a window)";
  CHECK(lines_of(out.str())
        == std::vector<std::string>{"line 1", "line 2", "line 3", count,
                                    "line 7", "line 8"});
  CHECK(log.held_back() == 3);
}

TEST_CASE("a rate-limited log with nothing held back adds no count line",
          "[ignored]") {
  std::ostringstream out;
  rate_limited_log log{out, 2, 1s};
  auto t0 = rate_limited_log::clock::time_point{} + 10s;
  CHECK(log.write("a", t0));
  CHECK(log.write("b", t0 + 2s));
  CHECK(log.write("c", t0 + 2s));
  CHECK(lines_of(out.str()) == std::vector<std::string>{"a", "b", "c"});
  CHECK(log.held_back() == 0);
}

TEST_CASE("an ignored message names its attempt and its sender", "[ignored]") {
  CHECK(attempt_name(attempt_key{4, 7, 2}) == "job 4 task 7 attempt 2");
  CHECK(sender_name(caf::strong_actor_ptr{}) == "nobody");
}
