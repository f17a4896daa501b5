// Fuzz target for the binary event log reader (docs/log-format.md). The first byte picks a mode:
//  0: the input is a whole log file (header, blocks, footer) read as `kestrel replay` reads it;
//  1: the input is a block payload (field definitions and records) given to the decoder, then
//     again with a projection (BlockDecoder::OnlyFields: a few fields, then none), as a counting
//     `kestrel query` decodes it;
//  2: the input is a payload wrapped in a valid file and block (correct checksums, codec none),
//     so the fuzzer reaches the decoder through the reader without forging checksums.
// Properties: no crash, no over-read (ASan), every decoded event re-encodes, and every line that
// `kestrel log cat` (the event as JSON) or replay (an alert holding the event) would write from it
// is one valid JSON object (simdjson's validating parser: structure, UTF-8, escapes) without a
// line break: a log's bytes can neither break the output stream nor forge a line of it. A
// violation aborts, so libFuzzer reports it.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include <simdjson.h>

#include "kestrel/engine/alert.h"
#include "kestrel/event/json_encoder.h"
#include "kestrel/log/log_format.h"
#include "kestrel/log/log_reader.h"
#include "kestrel/log/record_codec.h"
#include "xxhash.h"

namespace {

using namespace kestrel;

schema::Schema& SharedSchema() {
  static auto* schema = new schema::Schema();
  return *schema;
}

const std::string& ScratchPath() {
  static const std::string path = "/tmp/kestrel_event_log_fuzz." + std::to_string(::getpid());
  return path;
}

// Aborts unless `line` is exactly one JSON object, valid to a strict parser, on one line.
void CheckLine(const std::string& line, const char* what) {
  static auto* parser = new simdjson::dom::parser();
  simdjson::dom::element root;
  simdjson::error_code err = parser->parse(line).get(root);
  if (err || !root.is_object() || line.find('\n') != std::string::npos ||
      line.find('\r') != std::string::npos) {
    std::fprintf(stderr, "%s is not one JSON object on one line (%s): %s\n", what,
                 err ? simdjson::error_message(err) : "not an object or has a line break",
                 line.c_str());
    std::abort();
  }
}

// The lines `kestrel log cat` and replay would write for `e`.
void CheckOutput(const event::Event& e) {
  std::string line;
  event::AppendEventJson(e, SharedSchema(), &line, event::EventJsonOptions{.add_timestamp = true});
  CheckLine(line, "log cat line");
  engine::Alert alert;
  alert.rule_id = "fuzz";
  alert.rule_name = "fuzz";
  alert.events.push_back(std::make_shared<const event::Event>(e));
  engine::FinalizeAlert(SharedSchema(), &alert);
  line.clear();
  engine::AppendAlertJson(SharedSchema(), alert, &line);
  CheckLine(line, "alert");
}

void DecodeAll(log::BlockDecoder& decoder, std::string_view payload, uint32_t events) {
  if (!decoder.Start(payload, events).ok()) return;
  event::Event e;
  log::BlockEncoder encoder(SharedSchema());
  while (true) {
    auto next = decoder.Next(&e);
    if (!next.ok() && next.status().code() == absl::StatusCode::kDataLoss) continue;  // refused
    if (!next.ok() || !*next) return;
    encoder.Add(e);  // whatever decodes must encode again
    CheckOutput(e);
  }
}

void ReadFile(std::string_view bytes) {
  FILE* f = std::fopen(ScratchPath().c_str(), "wb");
  if (f == nullptr) return;
  std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
  auto reader = log::LogFileReader::Open(ScratchPath(), nullptr);
  if (!reader.ok()) return;
  log::BlockDecoder decoder(&SharedSchema());
  log::BlockInfo block;
  for (int blocks = 0; blocks < 1000; ++blocks) {
    auto more = (*reader)->NextBlock(&block);
    if (!more.ok() || !*more) return;
    auto payload = (*reader)->LoadPayload(true);
    if (!payload.ok()) return;
    if (payload->has_value()) DecodeAll(decoder, **payload, block.header.event_count);
  }
}

std::string Wrap(std::string_view payload, uint32_t events) {
  std::string body;
  log::PutBytes(&body, "fuzz");
  log::PutBytes(&body, "host");
  log::PutBytes(&body, "");
  log::PutSigned(&body, 0);
  log::PutVarint(&body, 0);
  log::PutU64(&body, 0);
  std::string file(log::kFileMagic, sizeof log::kFileMagic);
  log::PutU16(&file, log::kFormatVersion);
  log::PutU16(&file, log::kMinReaderVersion);
  log::PutU32(&file, static_cast<uint32_t>(body.size()));
  file.append(body);
  log::PutU64(&file, XXH64(file.data(), file.size(), 0));
  std::string header(log::kBlockMagic, 4);
  log::PutU32(&header, static_cast<uint32_t>(log::Codec::kNone));
  log::PutU32(&header, static_cast<uint32_t>(payload.size()));
  log::PutU32(&header, static_cast<uint32_t>(payload.size()));
  log::PutU32(&header, std::min<uint32_t>(events, static_cast<uint32_t>(payload.size())));
  log::PutU32(&header, 0);
  log::PutU64(&header, 0);
  log::PutU64(&header, 1);
  log::PutU64(&header, 0);
  log::PutU64(&header, XXH64(payload.data(), payload.size(), 0));
  log::PutU64(&header, XXH64(header.data(), header.size(), 0));
  file.append(header);
  file.append(payload);
  return file;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);
  uint32_t events = data[1];
  switch (data[0] % 3) {
    case 0:
      ReadFile(input);
      break;
    case 1: {
      // An exact-size heap copy, so ASan sees any over-read.
      std::string exact(input);
      log::BlockDecoder decoder(&SharedSchema());
      DecodeAll(decoder, exact, events);
      decoder.OnlyFields({schema::FieldId{0}, schema::FieldId{3}, schema::FieldId{7}});
      DecodeAll(decoder, exact, events);
      decoder.OnlyFields({});
      DecodeAll(decoder, exact, events);
      break;
    }
    case 2:
      ReadFile(Wrap(input, events));
      break;
  }
  return 0;
}
