// JSON text output helpers; see json_writer.h. Tested by json_encoder_test.cc.
#include "kestrel/event/json_writer.h"

#include <charconv>
#include <cmath>

namespace kestrel::event {
namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 if it is not valid.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  size_t n;
  uint32_t cp;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  // Reject overlong forms, surrogates and values past U+10FFFF.
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
      cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  return n;
}

}  // namespace

void AppendJsonString(std::string* out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t i = 0;
  while (i < s.size()) {
    // Copy the longest run that needs no escaping in one go.
    size_t run = i;
    while (run < s.size()) {
      unsigned char c = static_cast<unsigned char>(s[run]);
      if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) break;
      ++run;
    }
    out->append(s.data() + i, run - i);
    i = run;
    if (i >= s.size()) break;
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      size_t n = Utf8SequenceLength(s, i);
      if (n == 0) {
        out->append("\xEF\xBF\xBD");  // U+FFFD
        ++i;
      } else {
        out->append(s.data() + i, n);
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      default:
        out->append("\\u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 0xF]);
    }
    ++i;
  }
  out->push_back('"');
}

void AppendJsonInt(std::string* out, int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, r.ptr);
}

void AppendJsonUint(std::string* out, uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, r.ptr);
}

void AppendJsonDouble(std::string* out, double v) {
  if (!std::isfinite(v)) {
    out->append("null");
    return;
  }
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  std::string_view text(buf, static_cast<size_t>(r.ptr - buf));
  if (text.find_first_of(".eE") == std::string_view::npos) {
    // Keep a double recognisably a double, so it decodes back to the same kind: "1.0", not "1";
    // large integral values in exponent form ("1.8446744073709552e+19"), which every parser
    // reads exactly (simdjson 3.0 misreads "18446744073709551616.0" as 0).
    if (text.size() > 15) {
      r = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
      out->append(buf, r.ptr);
      return;
    }
    out->append(text);
    out->append(".0");
    return;
  }
  out->append(text);
}

void AppendJsonValue(std::string* out, const Value& v) {
  switch (v.kind()) {
    case ValueKind::kNull:
      out->append("null");
      break;
    case ValueKind::kBool:
      out->append(v.as_bool() ? "true" : "false");
      break;
    case ValueKind::kInt:
      AppendJsonInt(out, v.as_int());
      break;
    case ValueKind::kUint:
      AppendJsonUint(out, v.as_uint());
      break;
    case ValueKind::kDouble:
      AppendJsonDouble(out, v.as_double());
      break;
    case ValueKind::kString:
      AppendJsonString(out, v.as_string());
      break;
    case ValueKind::kRawJson:
      out->append(v.as_string());
      break;
    case ValueKind::kIp:
      AppendJsonString(out, v.as_ip().ToString());
      break;
    case ValueKind::kArray: {
      out->push_back('[');
      bool first = true;
      for (const Value& e : v.as_array()) {
        if (!first) out->push_back(',');
        first = false;
        AppendJsonValue(out, e);
      }
      out->push_back(']');
      break;
    }
  }
}

}  // namespace kestrel::event
