// String-keyed hash maps that can be searched with std::string_view without building a
// std::string.
//
// Why not absl's own heterogeneous lookup: Debian 12's Abseil is built with its own
// absl::string_view (ABSL_OPTION_USE_STD_STRING_VIEW is 0), which std::string_view does not
// convert to. Kestrel's APIs use std::string_view throughout; these transparent functors make
// absl::flat_hash_map<std::string, V> accept it directly. Keep string-keyed maps off hot paths.
#pragma once

#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"

namespace kestrel::base {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const {
    return absl::Hash<absl::string_view>()(absl::string_view(s.data(), s.size()));
  }
};

struct StringEq {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const { return a == b; }
};

template <typename V>
using StringMap = absl::flat_hash_map<std::string, V, StringHash, StringEq>;
using StringSet = absl::flat_hash_set<std::string, StringHash, StringEq>;
template <typename V>
using StringViewMap = absl::flat_hash_map<std::string_view, V, StringHash, StringEq>;
using StringViewSet = absl::flat_hash_set<std::string_view, StringHash, StringEq>;

// absl::string_view of a std::string_view (they are distinct types in Debian's Abseil).
inline absl::string_view ToAbsl(std::string_view s) { return {s.data(), s.size()}; }

}  // namespace kestrel::base
