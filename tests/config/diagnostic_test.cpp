#include "config/diagnostic.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace quiesce::config;

TEST_CASE("diagnostic renders as file:line:column: error: message",
          "[config][diagnostic]") {
  CHECK(to_string(diagnostic{"jobs.toml", 12, 5, "unknown key 'comand'"})
        == "jobs.toml:12:5: error: unknown key 'comand'");
  CHECK(to_string(diagnostic{"x/jobs.toml", 0, 0, "cannot read file: gone"})
        == "x/jobs.toml: error: cannot read file: gone");
}

TEST_CASE("edit_distance counts edits including adjacent transpositions",
          "[config][diagnostic]") {
  CHECK(edit_distance("", "") == 0);
  CHECK(edit_distance("abc", "") == 3);
  CHECK(edit_distance("command", "command") == 0);
  CHECK(edit_distance("comand", "command") == 1);
  CHECK(edit_distance("nmae", "name") == 1);
  CHECK(edit_distance("kitten", "sitting") == 3);
}

TEST_CASE("closest_match suggests near keys only", "[config][diagnostic]") {
  const std::vector<std::string_view> keys{"name",       "command", "env",
                                           "time_limit", "workdir", "work"};
  CHECK(closest_match("comand", keys) == "command");
  CHECK(closest_match("nmae", keys) == "name");
  CHECK(closest_match("timelimit", keys) == "time_limit");
  CHECK(closest_match("envs", keys) == "env");
  CHECK(closest_match("workdr", keys) == "workdir");
  CHECK(closest_match("x", keys).empty());
  CHECK(closest_match("id", keys).empty());
  CHECK(closest_match("stop_on_error", keys).empty());
  CHECK(closest_match("", keys).empty());
  CHECK(closest_match(std::string(1000, 'a'), keys).empty());
}
