// Small helpers that append JSON text to a std::string: escaped strings, numbers in their
// shortest round-trip form, and Values. Output is deterministic (no locale, no float printing
// differences between runs), which replay's byte-for-byte promise depends on.
// Tested by json_encoder_test.cc.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "kestrel/event/value.h"

namespace kestrel::event {

// Appends `s` as a JSON string literal. Bytes that are not valid UTF-8 are replaced by U+FFFD
// (the output is always valid JSON); control characters are escaped.
void AppendJsonString(std::string* out, std::string_view s);
void AppendJsonInt(std::string* out, int64_t v);
void AppendJsonUint(std::string* out, uint64_t v);
// Shortest representation that parses back to the same double; non-finite numbers as null.
void AppendJsonDouble(std::string* out, double v);
// kIp as its text, kRawJson verbatim, arrays as JSON arrays.
void AppendJsonValue(std::string* out, const Value& v);

}  // namespace kestrel::event
