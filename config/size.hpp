#pragma once

// Byte sizes and log levels as the settings write them: `log_max_size`
// ("10MiB") and `log_level` ("info"), read the same way from a runtime file
// and from the command line.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace quiesce::config {

/// Returns the size written in `text`: digits, optionally followed by `K`,
/// `M` or `G` (also written `KiB`, `MiB`, `GiB`; binary multiples), e.g.
/// "4096", "512K", "10MiB"; nothing for anything else (empty text, another
/// unit, signs, fractions, spaces, overflow).
std::optional<uint64_t> parse_size(std::string_view text);

/// Returns `x` in the largest unit of `parse_size` that divides it ("10MiB",
/// "1536KiB", "1000").
std::string format_size(uint64_t x);

/// The smallest and largest log file sizes a setting accepts.
constexpr uint64_t min_log_size = 1024;
constexpr uint64_t max_log_size = uint64_t{1} << 40;

/// Bounds of `max_message_size` (BASP announces a payload in 32 bits).
constexpr uint64_t min_message_bound = uint64_t{1} << 20;
constexpr uint64_t max_message_bound = (uint64_t{1} << 32) - 1;

/// Returns whether `x` is a `max_message_size` a head accepts: within the
/// bounds, the least of which a full batch of ends needs
/// (messages/internal.hpp, max_batch_bytes).
constexpr bool is_message_bound(uint64_t x) noexcept {
  return x >= min_message_bound && x <= max_message_bound;
}

/// Returns the log level names, from the most verbose: trace, debug, info,
/// warn, error, off.
const std::vector<std::string>& log_levels();

/// Returns whether `x` is one of `log_levels()`.
bool is_log_level(std::string_view x);

} // namespace quiesce::config
