// Fingerprint: a deterministic 128-bit digest (XXH3-128) of a sequence of fields, for ids that
// must be the same on every run and machine (alert ids, rule-set versions). Not cryptographic.
// Each Add() is length-prefixed, so ("ab","c") and ("a","bc") differ.
// Tested by fingerprint_test.cc.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace kestrel::base {

class Fingerprint {
 public:
  Fingerprint();
  ~Fingerprint();
  Fingerprint(const Fingerprint&) = delete;
  Fingerprint& operator=(const Fingerprint&) = delete;

  Fingerprint& Add(std::string_view bytes);
  Fingerprint& Add(int64_t v);
  Fingerprint& Add(uint64_t v);

  // 32 lowercase hex digits; the state may not be used afterwards.
  std::string Hex();

 private:
  void* state_;  // XXH3_state_t, kept out of the header
};

}  // namespace kestrel::base
