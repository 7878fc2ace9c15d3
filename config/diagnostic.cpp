#include "config/diagnostic.hpp"

#include <algorithm>
#include <limits>

namespace quiesce::config {

std::string to_string(const diagnostic& x) {
  std::string result = x.file;
  if (x.line > 0) {
    result += ':';
    result += std::to_string(x.line);
    result += ':';
    result += std::to_string(x.column);
  }
  result += ": error: ";
  result += x.message;
  return result;
}

size_t edit_distance(std::string_view x, std::string_view y) {
  // Optimal string alignment: Levenshtein plus adjacent transpositions, the
  // most common typo ("nmae").
  const size_t n = x.size();
  const size_t m = y.size();
  std::vector<std::vector<size_t>> d(n + 1, std::vector<size_t>(m + 1));
  for (size_t i = 0; i <= n; ++i)
    d[i][0] = i;
  for (size_t j = 0; j <= m; ++j)
    d[0][j] = j;
  for (size_t i = 1; i <= n; ++i) {
    for (size_t j = 1; j <= m; ++j) {
      size_t cost = x[i - 1] == y[j - 1] ? 0 : 1;
      d[i][j] = std::min(
          {d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && x[i - 1] == y[j - 2] && x[i - 2] == y[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[n][m];
}

std::string_view
closest_match(std::string_view key,
              const std::vector<std::string_view>& candidates) {
  // Keys are short; computing the full table for each candidate is cheap.
  // Comparing very long keys would be quadratic for nothing.
  if (key.empty() || key.size() > 64)
    return {};
  std::string_view best;
  size_t best_distance = std::numeric_limits<size_t>::max();
  for (auto candidate : candidates) {
    auto distance = edit_distance(key, candidate);
    if (distance < best_distance) {
      best = candidate;
      best_distance = distance;
    }
  }
  // A third of the shorter word, at least one edit: "comand" -> "command",
  // but never "id" -> "env".
  auto shorter = std::min(key.size(), best.size());
  auto limit = std::max<size_t>(1, shorter / 3);
  if (best_distance <= limit && best_distance < key.size())
    return best;
  return {};
}

} // namespace quiesce::config
