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

// Opens (creating it, mode 0600 whatever the umask) a file Kestrel writes evidence to, so that
// another local user cannot redirect or read the write: `flags` (O_WRONLY / O_RDWR, O_APPEND,
// O_TRUNC, O_EXCL) get O_CREAT | O_NOFOLLOW | O_CLOEXEC, and the file opened must be a regular
// file owned by this process's user with one link (a symbolic link, a FIFO, a file another user
// planted or a hard link to someone else's file is refused, FAILED_PRECONDITION, naming the path
// and why; it is not written). An existing file keeps its mode. Returns the descriptor.
// `allow_devices` (an output the operator names, e.g. `--output /dev/null`): a character device
// (only root can make one) and a FIFO of this user's with a reader are accepted too.
absl::StatusOr<int> OpenPrivateFile(const std::string& path, int flags, bool allow_devices = false);

// Paths under `path` (itself included, directories recursed, symbolic links not followed) that a
// user other than root or this process's user could change: writable by group or others (a
// sticky directory such as /tmp included), or owned by someone else. Each entry says why, e.g.
// "/etc/kestrel/rules/x.eql: writable by others". At most `limit` entries.
std::vector<std::string> WritableByOthers(const std::string& path, size_t limit = 16);

}  // namespace kestrel::base
