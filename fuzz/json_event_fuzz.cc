// Fuzz target for the ECS JSON event decoder (one line, and the JSON-array form), with a
// round-trip property: whatever decodes must encode to JSON that decodes again to the same fields.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "kestrel/event/json_decoder.h"
#include "kestrel/event/json_encoder.h"

namespace {

using kestrel::event::Event;
using kestrel::event::JsonDecoder;

// One schema for the whole run, as in a real process (it also exercises its field budget).
kestrel::schema::Schema& SharedSchema() {
  static auto* schema = new kestrel::schema::Schema();
  return *schema;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  kestrel::schema::Schema& schema = SharedSchema();
  static JsonDecoder* decoder = new JsonDecoder(&schema);
  std::string buffer(reinterpret_cast<const char*>(data), size);
  buffer.append(JsonDecoder::kPadding, '\0');
  std::string_view input(buffer.data(), size);

  Event event;
  if (decoder->Decode(input, buffer.size(), &event).ok()) {
    std::string encoded;
    kestrel::event::AppendEventJson(event, schema, &encoded);
    Event again;
    if (!decoder->Decode(encoded, &again).ok()) {
      std::fprintf(stderr, "re-decoding the encoder's output failed: %s\n", encoded.c_str());
      std::abort();
    }
    std::string encoded_again;
    kestrel::event::AppendEventJson(again, schema, &encoded_again);
    if (encoded != encoded_again) {
      std::fprintf(stderr, "round trip changed the event:\n%s\n%s\n", encoded.c_str(),
                   encoded_again.c_str());
      std::abort();
    }
  }

  Event scratch;
  (void)decoder->DecodeArray(
      input, buffer.size(), &scratch, [](Event&) {}, [](size_t, const absl::Status&) {});
  return 0;
}
