// A command's environment (execution/command.hpp): a sorted vector of
// (name, value) pairs that behaves as the std::map it replaced.

#include "execution/command.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

using quiesce::process::environment;

namespace {

std::vector<std::string> names(const environment& env) {
  std::vector<std::string> out;
  for (const auto& [name, value] : env)
    out.push_back(name);
  return out;
}

} // namespace

TEST_CASE("environment: entries are kept sorted by name, each name once") {
  environment env{{"PATH", "/bin"}, {"HOME", "/root"}, {"PATH", "/usr/bin"}};
  CHECK(names(env) == std::vector<std::string>{"HOME", "PATH"});
  // Of equal names given at once, the last wins.
  CHECK(env.at("PATH") == "/usr/bin");
  env["A"] = "1";
  env["Z"] = "26";
  env["HOME"] = "/home/x";
  CHECK(names(env) == std::vector<std::string>{"A", "HOME", "PATH", "Z"});
  CHECK(env.at("HOME") == "/home/x");
  CHECK(env.size() == 4);
}

TEST_CASE("environment: lookups as a map's") {
  environment env{{"CC", "gcc"}};
  CHECK(env.count("CC") == 1);
  CHECK(env.count("CX") == 0);
  CHECK(env.find("CX") == env.end());
  REQUIRE(env.find("CC") != env.end());
  CHECK(env.find("CC")->second == "gcc");
  CHECK_THROWS_AS(env.at("CX"), std::out_of_range);
  // operator[] adds a missing name, empty.
  CHECK(env["CX"].empty());
  CHECK(env.count("CX") == 1);
  CHECK_FALSE(environment{}.count("CC"));
  CHECK(environment{}.empty());
}

TEST_CASE("environment: made from a map, equal when the entries are") {
  std::map<std::string, std::string> m{{"B", "2"}, {"A", "1"}};
  environment env{m};
  CHECK(names(env) == std::vector<std::string>{"A", "B"});
  CHECK(env == environment{{"B", "2"}, {"A", "1"}});
  CHECK(env != environment{{"A", "1"}});
}
