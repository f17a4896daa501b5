// Suggestions; see suggest.h.
#include "kestrel/base/suggest.h"

#include <algorithm>

namespace kestrel::base {

size_t EditDistance(std::string_view a, std::string_view b) {
  // Optimal string alignment: three rows (the one before the previous for transpositions).
  std::vector<size_t> before(b.size() + 1), prev(b.size() + 1), row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      row[j] = std::min({prev[j] + 1, row[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        row[j] = std::min(row[j], before[j - 2] + 1);
      }
    }
    std::swap(before, prev);
    std::swap(prev, row);
  }
  return prev[b.size()];
}

size_t TypoDistance(std::string_view name) {
  if (name.size() <= 3) return 1;
  return std::max<size_t>(2, name.size() / 3);
}

std::optional<std::string_view> ClosestMatch(std::string_view name,
                                             const std::vector<std::string_view>& candidates) {
  std::optional<std::string_view> best;
  size_t best_distance = TypoDistance(name) + 1;
  for (std::string_view c : candidates) {
    size_t d = EditDistance(name, c);
    if (d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  return best;
}

}  // namespace kestrel::base
