#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace quiesce::config {

/// One problem found in a job or runtime file.
struct diagnostic {
  /// The file as the user named it.
  std::string file;
  /// Line of the offending text, from 1; 0 when the problem concerns the
  /// whole file (e.g. it cannot be read).
  uint32_t line = 0;
  /// Column of the offending text, from 1; 0 together with `line == 0`.
  uint32_t column = 0;
  /// What was expected and what was found.
  std::string message;
};

/// Returns `x` as "FILE:LINE:COLUMN: error: MESSAGE", or "FILE: error:
/// MESSAGE" when `x.line` is 0.
std::string to_string(const diagnostic& x);

/// Returns the edit distance (insertions, deletions, substitutions and
/// transpositions of adjacent characters) between `x` and `y`.
size_t edit_distance(std::string_view x, std::string_view y);

/// Returns the candidate closest to `key` by edit distance when it is close
/// enough to be a likely typo, or an empty string.
std::string_view closest_match(std::string_view key,
                               const std::vector<std::string_view>& candidates);

} // namespace quiesce::config
