// Timestamp parsing and formatting; see time.h. Tested by time_test.cc.
#include "kestrel/base/time.h"

#include <algorithm>
#include <cstdio>
#include <limits>

namespace kestrel::base {
namespace {

constexpr int64_t kNanosPerSecond = 1'000'000'000;

// Reads exactly `n` decimal digits at `p`; false if any is not a digit.
bool Digits(std::string_view s, size_t pos, size_t n, int64_t* out) {
  if (pos + n > s.size()) return false;
  int64_t v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

}  // namespace

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  // Howard Hinnant's days_from_civil: shift the year to start in March so the leap day is last.
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

std::optional<int64_t> ParseTimestamp(std::string_view s) {
  int64_t year, month, day;
  if (!Digits(s, 0, 4, &year) || s.size() < 10 || s[4] != '-' || !Digits(s, 5, 2, &month) ||
      s[7] != '-' || !Digits(s, 8, 2, &day)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, static_cast<unsigned>(month))) {
    return std::nullopt;
  }
  if (year < 1678 || year > 2261) return std::nullopt;
  int64_t hour = 0, minute = 0, second = 0, nanos = 0, offset_seconds = 0;
  size_t pos = 10;
  if (pos < s.size()) {
    if (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ') return std::nullopt;
    if (!Digits(s, pos + 1, 2, &hour) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !Digits(s, pos + 4, 2, &minute) || pos + 6 >= s.size() || s[pos + 6] != ':' ||
        !Digits(s, pos + 7, 2, &second)) {
      return std::nullopt;
    }
    // 60 is a leap second; it is folded into the next minute like most parsers do.
    if (hour > 23 || minute > 59 || second > 60) return std::nullopt;
    pos += 9;
    if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
      ++pos;
      size_t digits = 0;
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
        if (digits < 9) nanos = nanos * 10 + (s[pos] - '0');
        ++digits;
        ++pos;
      }
      if (digits == 0) return std::nullopt;
      for (size_t i = digits; i < 9; ++i) nanos *= 10;
    }
    if (pos < s.size()) {
      char z = s[pos];
      if (z == 'Z' || z == 'z') {
        ++pos;
      } else if (z == '+' || z == '-') {
        int64_t oh, om;
        if (!Digits(s, pos + 1, 2, &oh)) return std::nullopt;
        size_t mpos = pos + 3;
        if (mpos < s.size() && s[mpos] == ':') ++mpos;
        if (!Digits(s, mpos, 2, &om) || oh > 23 || om > 59) return std::nullopt;
        offset_seconds = (oh * 3600 + om * 60) * (z == '+' ? 1 : -1);
        pos = mpos + 2;
      } else {
        return std::nullopt;
      }
    }
    if (pos != s.size()) return std::nullopt;
  }
  int64_t days = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  int64_t seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset_seconds;
  // Years 1678..2261 keep |seconds| below 9.2e9, so this cannot overflow except at the edges.
  int64_t result;
  if (__builtin_mul_overflow(seconds, kNanosPerSecond, &result) ||
      __builtin_add_overflow(result, nanos, &result)) {
    return std::nullopt;
  }
  return result;
}

namespace {

// `YYYY-MM-DDTHH:MM:SS` of `secs` (UTC) into `out`, and the nanoseconds past it.
int64_t AppendSeconds(int64_t unix_ns, std::string* out) {
  int64_t secs = unix_ns / kNanosPerSecond;
  int64_t nanos = unix_ns % kNanosPerSecond;
  if (nanos < 0) {
    nanos += kNanosPerSecond;
    --secs;
  }
  int64_t days = secs / 86400;
  int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  // civil_from_days (inverse of DaysFromCivil).
  int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
  char buf[64];
  int n = std::snprintf(buf, sizeof(buf), "%04lld-%02u-%02uT%02lld:%02lld:%02lld",
                        static_cast<long long>(y), m, d, static_cast<long long>(rem / 3600),
                        static_cast<long long>(rem % 3600 / 60), static_cast<long long>(rem % 60));
  out->append(buf, static_cast<size_t>(n));
  return nanos;
}

}  // namespace

std::string FormatTimestamp(int64_t unix_ns) {
  std::string out;
  int64_t nanos = AppendSeconds(unix_ns, &out);
  if (nanos != 0) {
    char frac[16];
    std::snprintf(frac, sizeof(frac), ".%09lld", static_cast<long long>(nanos));
    std::string_view f(frac);
    while (f.back() == '0') f.remove_suffix(1);
    out.append(f);
  }
  out.push_back('Z');
  return out;
}

std::string FormatTimestamp(int64_t unix_ns, int digits) {
  std::string out;
  int64_t nanos = AppendSeconds(unix_ns, &out);
  digits = std::clamp(digits, 0, 9);
  if (digits > 0) {
    char frac[16];
    std::snprintf(frac, sizeof(frac), ".%09lld", static_cast<long long>(nanos));
    out.append(frac, static_cast<size_t>(1 + digits));
  }
  out.push_back('Z');
  return out;
}

int64_t FiletimeToUnixNanos(int64_t filetime) {
  constexpr int64_t kEpochDelta = 116444736000000000;  // 1601-01-01 to 1970-01-01 in 100 ns
  if (filetime < std::numeric_limits<int64_t>::min() + kEpochDelta) {
    return std::numeric_limits<int64_t>::min();
  }
  int64_t ticks = filetime - kEpochDelta;
  int64_t out;
  if (__builtin_mul_overflow(ticks, int64_t{100}, &out)) {
    return ticks > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  }
  return out;
}

}  // namespace kestrel::base
