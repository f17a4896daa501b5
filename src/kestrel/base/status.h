// Status helpers shared by every layer. Fallible functions return absl::Status or
// absl::StatusOr<T>; these macros keep the early-return plumbing short.
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#include <string_view>

namespace kestrel::base {

// The status message as a std::string_view (Debian's Abseil has its own absl::string_view, which
// fmt and std APIs do not take).
inline std::string_view Message(const absl::Status& s) {
  return {s.message().data(), s.message().size()};
}

}  // namespace kestrel::base

// Evaluates `expr` (an absl::Status); returns it from the calling function if it is not OK.
#define KESTREL_RETURN_IF_ERROR(expr)                                                  \
  do {                                                                                 \
    if (::absl::Status kestrel_status_ = (expr); !kestrel_status_.ok()) [[unlikely]] { \
      return kestrel_status_;                                                          \
    }                                                                                  \
  } while (0)

#define KESTREL_STATUS_CONCAT_INNER_(a, b) a##b
#define KESTREL_STATUS_CONCAT_(a, b) KESTREL_STATUS_CONCAT_INNER_(a, b)

// `KESTREL_ASSIGN_OR_RETURN(auto x, Foo());` assigns the value of an absl::StatusOr or returns
// its error status from the calling function.
#define KESTREL_ASSIGN_OR_RETURN(lhs, expr) \
  KESTREL_ASSIGN_OR_RETURN_IMPL_(KESTREL_STATUS_CONCAT_(kestrel_statusor_, __LINE__), lhs, expr)
#define KESTREL_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) [[unlikely]] {                        \
    return std::move(tmp).status();                    \
  }                                                    \
  lhs = std::move(tmp).value()
