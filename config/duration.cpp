#include "config/duration.hpp"

#include <array>
#include <cstdint>
#include <limits>

namespace quiesce::config {

namespace {

struct unit {
  std::string_view name;
  int64_t nanoseconds;
};

// Ordered from largest to smallest: parts must follow this order.
constexpr std::array<unit, 4> units{{
    {"h", int64_t{3'600'000'000'000}},
    {"m", int64_t{60'000'000'000}},
    {"s", int64_t{1'000'000'000}},
    {"ms", int64_t{1'000'000}},
}};

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_letter(char c) {
  return c >= 'a' && c <= 'z';
}

} // namespace

std::optional<caf::timespan> parse_duration(std::string_view text) {
  constexpr auto max = std::numeric_limits<int64_t>::max();
  if (text.empty())
    return std::nullopt;
  int64_t total = 0;
  size_t next_unit = 0; // index of the largest unit still allowed
  size_t pos = 0;
  while (pos < text.size()) {
    if (!is_digit(text[pos]))
      return std::nullopt;
    int64_t number = 0;
    while (pos < text.size() && is_digit(text[pos])) {
      auto digit = text[pos] - '0';
      if (number > (max - digit) / 10)
        return std::nullopt;
      number = number * 10 + digit;
      ++pos;
    }
    auto unit_begin = pos;
    while (pos < text.size() && is_letter(text[pos]))
      ++pos;
    auto name = text.substr(unit_begin, pos - unit_begin);
    size_t index = next_unit;
    while (index < units.size() && units[index].name != name)
      ++index;
    if (index == units.size())
      return std::nullopt;
    auto factor = units[index].nanoseconds;
    if (number > max / factor || number * factor > max - total)
      return std::nullopt;
    total += number * factor;
    next_unit = index + 1;
  }
  return caf::timespan{total};
}

std::string format_duration(caf::timespan x) {
  auto ns = x.count();
  if (ns == 0)
    return "0s";
  std::string result;
  // The most negative value has no positive counterpart; it is never a
  // configured duration, so writing it approximately is fine.
  if (ns < 0) {
    result += '-';
    ns = ns == std::numeric_limits<int64_t>::min()
             ? std::numeric_limits<int64_t>::max()
             : -ns;
  }
  constexpr std::array<unit, 6> parts{{
      {"h", int64_t{3'600'000'000'000}},
      {"m", int64_t{60'000'000'000}},
      {"s", int64_t{1'000'000'000}},
      {"ms", int64_t{1'000'000}},
      {"us", int64_t{1'000}},
      {"ns", int64_t{1}},
  }};
  for (const auto& part : parts) {
    auto count = ns / part.nanoseconds;
    if (count > 0) {
      result += std::to_string(count);
      result += part.name;
      ns -= count * part.nanoseconds;
    }
  }
  return result;
}

} // namespace quiesce::config
