// Process identity as Elastic Defend reports it on Linux: the ECS fields of a process's relatives
// (process.parent, process.session_leader, process.group_leader, process.entry_leader, all with
// the same sub-fields), capability names, the environment allow-list, and how an entry leader
// (the process that started a session from outside: an ssh login, a console or terminal login,
// a container, a service started by init) is recognised.
//
// Used by RecordDecoder (decoder.h) on every event and by ProcessTable (process_table.h) when a
// process execs, calls setsid or is read from /proc. Field ids are resolved once, at
// construction (RelativeFields), never per event. Thread safety: none needed (pure functions
// and constant tables). Tested by process_identity_test.cc.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kestrel/event/event.h"
#include "kestrel/schema/schema.h"

namespace kestrel::sources::ebpf {

struct ProcessInfo;

// The default allow-list of process.env_vars (docs/collection.md).
std::vector<std::string> DefaultEnvAllowList();
inline constexpr size_t kDefaultEnvValueMax = 256;  // bytes of one value kept; longer: cut

// "NAME=value" strings of `env` (NUL-separated, as the kernel's env area) whose NAME is in
// `allow`, in the order met, each value cut to `value_max` bytes. At most allow.size() entries
// (the first occurrence of a name wins). `*ssh_client` gets the value of SSH_CLIENT whether or
// not it is allowed (the ssh entry leader's source address), "" when absent.
std::vector<std::string> FilterEnv(std::string_view env, const std::vector<std::string>& allow,
                                   size_t value_max, std::string* ssh_client);

// The first word of an SSH_CLIENT value ("192.0.2.1 51234 22" -> "192.0.2.1"), "" if none.
std::string_view SshClientAddress(std::string_view ssh_client);

// "CAP_CHOWN", ... for capability `bit` (0..40); "" above the known ones.
std::string_view CapabilityName(unsigned bit);
// The names of the bits set in `mask`, lowest first, appended to `*out` (cleared first); their
// strings are static (an event may hold them without copying).
void CapabilityNames(uint64_t mask, std::vector<event::Value>* out);

// The entry type when a session leader whose parent is `parent` starts a session, or "" when
// that parent is not an entry point (the session belongs to the parent's entry leader).
// pid 1 -> "init"; kthreadd (pid 2) or no parent -> "kthread"; sshd -> "sshd"; login, getty ->
// "console"; terminal emulators, tmux, screen -> "terminal"; container runtimes (runc, crun,
// conmon, containerd-shim*) -> "container"; ssm-session-worker -> "ssm"; teleport -> "teleport".
std::string_view EntryTypeForParent(uint32_t parent_pid, std::string_view parent_name);

// ECS process.start of a process that started `unix_ns` after the epoch, written into `buf`
// (no allocation): RFC 3339 in UTC with milliseconds, "2026-12-07T12:04:33.123Z". Empty for
// a time before the epoch.
std::string_view FormatProcessStart(int64_t unix_ns, char (&buf)[32]);

// Field ids of one relative ("process.parent", "process.session_leader", ...). `role`: its
// index among the four (ProcessInfo::Snapshots); command_line: set for the parent only.
struct RelativeFields {
  schema::FieldId pid, entity_id, name, executable, args, args_count, working_directory, start,
      interactive, tty_major, tty_minor, user_id, user_name, group_id, group_name, real_user_id,
      real_user_name, real_group_id, real_group_name, same_as_process, command_line;
  size_t role = 0;
  static RelativeFields For(schema::Schema& schema, std::string_view prefix, size_t role,
                            bool with_command_line = false);
};

}  // namespace kestrel::sources::ebpf
