// Fuzz target for the binary event log reader (docs/log-format.md). The first byte picks a mode:
//  0: the input is a whole log file (header, blocks, footer) read as `kestrel replay` reads it;
//  1: the input is a block payload (field definitions and records) given to the decoder;
//  2: the input is a payload wrapped in a valid file and block (correct checksums, codec none),
//     so the fuzzer reaches the decoder through the reader without forging checksums.
// Properties: no crash, no over-read (ASan), and every decoded event re-encodes.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

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

void DecodeAll(log::BlockDecoder& decoder, std::string_view payload, uint32_t events) {
  if (!decoder.Start(payload, events).ok()) return;
  event::Event e;
  log::BlockEncoder encoder(SharedSchema());
  while (true) {
    auto next = decoder.Next(&e);
    if (!next.ok() || !*next) return;
    encoder.Add(e);  // whatever decodes must encode again
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
      break;
    }
    case 2:
      ReadFile(Wrap(input, events));
      break;
  }
  return 0;
}
