// Files and directories Kestrel creates hold what it saw (command lines, alerts): created for the
// owner only. CreatePrivateDirectories makes every missing directory of a path with mode 0700
// (existing ones are left as they are: an operator's choice).
// Files Kestrel reads are untrusted: ReadFileBounded reads a regular file of at most a given
// size, checked before anything is read (a FIFO, a device such as /dev/zero or a huge file is
// refused at once, never waited on or grown into).
// Tested by files_test.cc.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace kestrel::base {

// Creates `path` and its missing parents, each with mode 0700 (whatever the umask). OK when the
// path already is a directory. Errors: a component is not a directory, or mkdir failed (with the
// path and the reason).
absl::Status CreatePrivateDirectories(const std::string& path);

// The contents of the regular file `path`. Errors: NOT_FOUND / PERMISSION_DENIED (cannot open,
// with the reason), FAILED_PRECONDITION (not a regular file: a FIFO, a device, a directory),
// RESOURCE_EXHAUSTED (larger than `max_bytes`, or it grew past it while read).
absl::StatusOr<std::string> ReadFileBounded(const std::string& path, size_t max_bytes);

// Paths under `path` (itself included, directories recursed, symbolic links not followed) that a
// user other than root or this process's user could change: writable by group or others (a
// sticky directory such as /tmp included), or owned by someone else. Each entry says why, e.g.
// "/etc/kestrel/rules/x.eql: writable by others". At most `limit` entries.
std::vector<std::string> WritableByOthers(const std::string& path, size_t limit = 16);

}  // namespace kestrel::base
