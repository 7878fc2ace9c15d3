#include "config/limits.hpp"

#include "config/toml_reader.hpp"

#include <cmath>
#include <limits>
#include <optional>

namespace quiesce::config {

bool parse_memory_size(std::string_view text, uint64_t& bytes,
                       std::string& why) {
  uint64_t value = 0;
  size_t i = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    auto digit = static_cast<uint64_t>(text[i] - '0');
    if (value > (std::numeric_limits<uint64_t>::max() - digit) / 10) {
      why = "too large";
      return false;
    }
    value = value * 10 + digit;
  }
  if (i == 0) {
    why = "expected digits with an optional suffix K, M, G or T, such as "
          "\"512M\"";
    return false;
  }
  int shift = 0;
  if (i + 1 == text.size()) {
    switch (text[i]) {
      case 'K':
      case 'k':
        shift = 10;
        break;
      case 'M':
      case 'm':
        shift = 20;
        break;
      case 'G':
      case 'g':
        shift = 30;
        break;
      case 'T':
      case 't':
        shift = 40;
        break;
      default:
        why = "unknown suffix '" + std::string{text.substr(i)}
              + "': expected K, M, G or T (powers of 1024)";
        return false;
    }
  } else if (i != text.size()) {
    why = "expected digits with an optional suffix K, M, G or T, such as "
          "\"512M\"";
    return false;
  }
  if (shift > 0 && value > (std::numeric_limits<uint64_t>::max() >> shift)) {
    why = "too large";
    return false;
  }
  bytes = value << shift;
  return true;
}

std::string format_memory_size(uint64_t bytes) {
  static constexpr char suffixes[] = {'T', 'G', 'M', 'K'};
  for (int i = 0; i < 4; ++i) {
    auto shift = 40 - 10 * i;
    auto unit = uint64_t{1} << shift;
    if (bytes != 0 && bytes % unit == 0)
      return std::to_string(bytes >> shift) + suffixes[i];
  }
  return std::to_string(bytes);
}

std::string format_cpus(uint32_t millis) {
  auto out = std::to_string(millis / 1000);
  if (auto frac = millis % 1000; frac != 0) {
    auto digits = std::to_string(1000 + frac).substr(1);
    while (digits.back() == '0')
      digits.pop_back();
    out += '.' + digits;
  }
  return out;
}

namespace detail {

void read_limits(reader& in, const toml::table& table,
                 process::resource_limits& limits) {
  if (auto node = table.get("memory_max")) {
    uint64_t bytes = 0;
    std::string why;
    bool parsed = false;
    if (auto integer = node->as_integer()) {
      if (integer->get() < 0)
        why = "a negative size";
      else
        bytes = static_cast<uint64_t>(integer->get()), parsed = true;
    } else if (auto text = node->as_string()) {
      parsed = parse_memory_size(text->get(), bytes, why);
    } else {
      why = "expected a size such as \"512M\" or an integer of bytes, found "
            + std::string{describe_type(*node)};
    }
    if (parsed && bytes < min_memory_max) {
      parsed = false;
      why = "at least 1M is needed (less kills a command as it starts), "
            "found "
            + std::to_string(bytes) + " bytes";
    }
    if (parsed)
      limits.memory_max = bytes;
    else
      in.error(*node, "'memory_max': " + why);
  }
  if (auto node = table.get("cpus")) {
    std::optional<double> value;
    if (auto real = node->as_floating_point())
      value = real->get();
    else if (auto integer = node->as_integer())
      value = static_cast<double>(integer->get());
    if (!value) {
      in.error(*node, "'cpus': expected a number of CPUs such as 0.5 or 2, "
                      "found "
                          + std::string{describe_type(*node)});
    } else if (!(*value >= 0.01 && *value <= 1024)) {
      // The smallest CFS quota is 1 ms per period of 100 ms.
      in.error(*node, "'cpus': expected a number from 0.01 to 1024, found "
                          + std::to_string(*value));
    } else {
      limits.cpu_millis = static_cast<uint32_t>(std::lround(*value * 1000));
    }
  }
  if (auto x = in.read_integer(table, "pids_max", 1, max_pids_max))
    limits.pids_max = static_cast<uint32_t>(*x);
}

} // namespace detail

} // namespace quiesce::config
