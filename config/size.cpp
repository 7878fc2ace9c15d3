#include "config/size.hpp"

#include <algorithm>
#include <limits>

namespace quiesce::config {

std::optional<uint64_t> parse_size(std::string_view text) {
  size_t i = 0;
  uint64_t n = 0;
  constexpr auto max = std::numeric_limits<uint64_t>::max();
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    auto digit = static_cast<uint64_t>(text[i] - '0');
    if (n > (max - digit) / 10)
      return std::nullopt;
    n = n * 10 + digit;
  }
  if (i == 0)
    return std::nullopt;
  auto unit = text.substr(i);
  uint64_t factor = 1;
  if (unit.empty())
    factor = 1;
  else if (unit == "K" || unit == "KiB")
    factor = uint64_t{1} << 10;
  else if (unit == "M" || unit == "MiB")
    factor = uint64_t{1} << 20;
  else if (unit == "G" || unit == "GiB")
    factor = uint64_t{1} << 30;
  else
    return std::nullopt;
  if (n > max / factor)
    return std::nullopt;
  return n * factor;
}

std::string format_size(uint64_t x) {
  static constexpr std::pair<uint64_t, const char*> units[] = {
      {uint64_t{1} << 30, "GiB"},
      {uint64_t{1} << 20, "MiB"},
      {uint64_t{1} << 10, "KiB"},
  };
  for (const auto& [factor, name] : units)
    if (x != 0 && x % factor == 0)
      return std::to_string(x / factor) + name;
  return std::to_string(x);
}

const std::vector<std::string>& log_levels() {
  static const std::vector<std::string> names{"trace", "debug", "info",
                                              "warn",  "error", "off"};
  return names;
}

bool is_log_level(std::string_view x) {
  const auto& names = log_levels();
  return std::find(names.begin(), names.end(), x) != names.end();
}

} // namespace quiesce::config
