// Fingerprint over xxHash's XXH3-128 streaming API; see fingerprint.h.
#include "kestrel/base/fingerprint.h"

#include <xxhash.h>

#include <cstdio>

namespace kestrel::base {

Fingerprint::Fingerprint() : state_(XXH3_createState()) {
  XXH3_128bits_reset(static_cast<XXH3_state_t*>(state_));
}

Fingerprint::~Fingerprint() { XXH3_freeState(static_cast<XXH3_state_t*>(state_)); }

Fingerprint& Fingerprint::Add(std::string_view bytes) {
  Add(static_cast<uint64_t>(bytes.size()));
  XXH3_128bits_update(static_cast<XXH3_state_t*>(state_), bytes.data(), bytes.size());
  return *this;
}

Fingerprint& Fingerprint::Add(int64_t v) { return Add(static_cast<uint64_t>(v)); }

Fingerprint& Fingerprint::Add(uint64_t v) {
  unsigned char le[8];
  for (int i = 0; i < 8; ++i) le[i] = static_cast<unsigned char>(v >> (8 * i));
  XXH3_128bits_update(static_cast<XXH3_state_t*>(state_), le, sizeof(le));
  return *this;
}

std::string Fingerprint::Hex() {
  XXH128_hash_t h = XXH3_128bits_digest(static_cast<XXH3_state_t*>(state_));
  char buf[33];
  std::snprintf(buf, sizeof(buf), "%016llx%016llx", static_cast<unsigned long long>(h.high64),
                static_cast<unsigned long long>(h.low64));
  return std::string(buf, 32);
}

}  // namespace kestrel::base
