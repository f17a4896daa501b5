// Files and directories Kestrel creates hold what it saw (command lines, alerts): created for the
// owner only. CreatePrivateDirectories makes every missing directory of a path with mode 0700
// (existing ones are left as they are: an operator's choice).
// Tested by files_test.cc.
#pragma once

#include <string>

#include "absl/status/status.h"

namespace kestrel::base {

// Creates `path` and its missing parents, each with mode 0700 (whatever the umask). OK when the
// path already is a directory. Errors: a component is not a directory, or mkdir failed (with the
// path and the reason).
absl::Status CreatePrivateDirectories(const std::string& path);

}  // namespace kestrel::base
