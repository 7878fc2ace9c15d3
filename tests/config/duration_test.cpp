#include "config/duration.hpp"
#include "config/signal.hpp"
#include "config/size.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <string>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using namespace quiesce::config;

TEST_CASE("parse_duration reads each unit and combinations of them",
          "[config][duration]") {
  const std::vector<std::pair<std::string, caf::timespan>> table{
      {"0s", 0s},
      {"0ms", 0ms},
      {"250ms", 250ms},
      {"30s", 30s},
      {"5m", 5min},
      {"1h", 1h},
      {"1m30s", 90s},
      {"1h30m", 90min},
      {"2h3m4s5ms", 2h + 3min + 4s + 5ms},
      {"1s500ms", 1500ms},
      {"90s", 90s},
      {"007s", 7s},
      {"2562047h", 2562047h},
      {"153722867m16s", 153722867min + 16s},
  };
  for (const auto& [text, expected] : table) {
    INFO(text);
    auto x = parse_duration(text);
    REQUIRE(x);
    CHECK(*x == expected);
  }
}

TEST_CASE("parse_duration rejects malformed and overflowing text",
          "[config][duration]") {
  for (auto text : {"",
                    "5",
                    "-1s",
                    "+1s",
                    "5x",
                    "s",
                    "1.5s",
                    " 5s",
                    "5s ",
                    "5 s",
                    "5S",
                    "1s1m",
                    "1m1m",
                    "1ms1s",
                    "1h1h",
                    "1d",
                    "1us",
                    "5sec",
                    "1m30",
                    "2562048h",
                    "9223372036854775808ms",
                    "99999999999999999999s",
                    "153722867m17s",
                    "1s\n"}) {
    INFO('"' << text << '"');
    CHECK_FALSE(parse_duration(text));
  }
}

TEST_CASE("format_duration writes what parse_duration reads",
          "[config][duration]") {
  CHECK(format_duration(0s) == "0s");
  CHECK(format_duration(250ms) == "250ms");
  CHECK(format_duration(90s) == "1m30s");
  CHECK(format_duration(3h + 1s) == "3h1s");
  CHECK(format_duration(1500us) == "1ms500us");
  CHECK(format_duration(-2s) == "-2s");
  for (auto text : {"1h", "5m", "1m30s", "2h3m4s5ms", "999ms"})
    CHECK(format_duration(*parse_duration(text)) == text);
}

TEST_CASE("parse_signal reads names, short names and numbers",
          "[config][signal]") {
  const std::vector<std::pair<std::string, int>> table{
      {"SIGTERM", SIGTERM},
      {"TERM", SIGTERM},
      {"15", 15},
      {"sigterm", SIGTERM},
      {"SIGINT", SIGINT},
      {"INT", SIGINT},
      {"SIGKILL", SIGKILL},
      {"SIGHUP", SIGHUP},
      {"SIGUSR1", SIGUSR1},
      {"SIGUSR2", SIGUSR2},
      {"SIGQUIT", SIGQUIT},
      {"SIGALRM", SIGALRM},
      {"1", 1},
      {"31", 31},
      {"09", 9},
  };
  for (const auto& [text, expected] : table) {
    INFO(text);
    auto x = parse_signal(text);
    REQUIRE(x);
    CHECK(*x == expected);
  }
}

TEST_CASE("parse_signal rejects unknown names and numbers",
          "[config][signal]") {
  for (auto text :
       {"", "SIG", "SIGFOO", "FOO", "0", "32", "99", "100", "-15", "+15", "15 ",
        " 15", "SIGTERM ", "SIG TERM", "1.5", "SIGSIGTERM"}) {
    INFO('"' << text << '"');
    CHECK_FALSE(parse_signal(text));
  }
}

TEST_CASE("signal_name names known signals and numbers the rest",
          "[config][signal]") {
  CHECK(signal_name(SIGTERM) == "SIGTERM");
  CHECK(signal_name(SIGKILL) == "SIGKILL");
  CHECK(signal_name(SIGHUP) == "SIGHUP");
  CHECK(signal_name(7) == "7");
  for (auto text : {"SIGINT", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGALRM"})
    CHECK(signal_name(*parse_signal(text)) == text);
}

TEST_CASE("parse_size reads bytes and binary units, and nothing else",
          "[config][size]") {
  CHECK(parse_size("0") == 0u);
  CHECK(parse_size("4096") == 4096u);
  CHECK(parse_size("512K") == 512u << 10);
  CHECK(parse_size("512KiB") == 512u << 10);
  CHECK(parse_size("10M") == 10u << 20);
  CHECK(parse_size("10MiB") == 10u << 20);
  CHECK(parse_size("2GiB") == uint64_t{2} << 30);
  for (const char* bad : {"", "K", "-1", "1.5M", "10 MiB", "10MB", "10k",
                          "99999999999999999999", "17179869184G"}) {
    INFO(bad);
    CHECK_FALSE(parse_size(bad));
  }
  CHECK(format_size(10u << 20) == "10MiB");
  CHECK(format_size(1536u << 10) == "1536KiB");
  CHECK(format_size(1000) == "1000");
  CHECK(parse_size(format_size(uint64_t{3} << 30)) == uint64_t{3} << 30);
}
