#pragma once

#include <caf/timespan.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace quiesce::config {

/// Returns the duration written in `text` as one or more `<digits><unit>`
/// parts with units `h`, `m`, `s` and `ms` in decreasing order, each at most
/// once ("250ms", "30s", "1m30s", "0s"), or nothing for anything else (empty
/// text, a missing unit, signs, fractions, spaces, overflow).
std::optional<caf::timespan> parse_duration(std::string_view text);

/// Returns `x` in the notation `parse_duration` reads ("1m30s", "250ms",
/// "0s"); parts below a millisecond are written as "us" and "ns", and a
/// negative duration gets a leading '-'.
std::string format_duration(caf::timespan x);

} // namespace quiesce::config
