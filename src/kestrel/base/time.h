// Event time: parsing and formatting of RFC 3339 / ISO 8601 timestamps as nanoseconds since the
// Unix epoch, and the Windows FILETIME conversion used by Endgame-schema data.
//
// The parser is hand-written for the hot path (no allocation, no locale, ~20 ns): it accepts
// `YYYY-MM-DD[T| ]HH:MM:SS[.fraction][Z|±HH:MM|±HHMM]` and a bare date `YYYY-MM-DD`; a timestamp
// without a zone is UTC. Fractions longer than 9 digits are truncated to nanoseconds.
// Tested by time_test.cc.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kestrel::base {

// One second in event time's unit, nanoseconds.
inline constexpr int64_t kSecond = 1'000'000'000;

// Nanoseconds since 1970-01-01T00:00:00Z; nullopt when `text` is not a timestamp of the form above
// or lies outside years 1678..2261 (the range of int64 nanoseconds).
std::optional<int64_t> ParseTimestamp(std::string_view text);

// RFC 3339 in UTC with nanoseconds trimmed of trailing zeros: `2024-01-01T00:00:00.5Z`.
std::string FormatTimestamp(int64_t unix_ns);
// The same with exactly `digits` fraction digits (0..9, truncated; none and no dot for 0), for
// formats that want a fixed width: `2024-01-01T00:00:00.500000Z` with 6.
std::string FormatTimestamp(int64_t unix_ns, int digits);

// Windows FILETIME (100 ns ticks since 1601-01-01) to Unix nanoseconds, saturating at the ends of
// the int64 range.
int64_t FiletimeToUnixNanos(int64_t filetime);

// Days since 1970-01-01 of the proleptic Gregorian date y-m-d (m in 1..12, d in 1..31).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d);

}  // namespace kestrel::base
