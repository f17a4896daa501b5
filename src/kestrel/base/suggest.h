// "Did you mean" suggestions: the edit distance of two names and the closest of a set of
// candidates that is plausibly a typo of a name (event categories, subcommands, config keys).
// Cost: O(|a| * |b|) per comparison, one row of memory; for diagnostics, never hot paths.
// Tested by suggest_test.cc.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

namespace kestrel::base {

// Edit distance in bytes: insertions, deletions, substitutions and transpositions of adjacent
// bytes ("rnu" is one edit from "run"), each counting 1 (optimal string alignment).
size_t EditDistance(std::string_view a, std::string_view b);

// The most a typo of `name` may differ from what was meant: a third of its length, at least 2
// (at least 1 for names of up to 3 bytes, so that "a" does not suggest "api").
size_t TypoDistance(std::string_view name);

// The candidate closest to `name` within TypoDistance(name) (the first such among ties), or
// nullopt; a candidate equal to `name` is returned as is.
std::optional<std::string_view> ClosestMatch(std::string_view name,
                                             const std::vector<std::string_view>& candidates);

}  // namespace kestrel::base
