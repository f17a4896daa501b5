// HostIdentity: who this machine and this agent are, for the host.* and agent.* fields of every
// live event (emitted.h kCommonFields). docs/collection.md "Host and agent" and
// docs/configuration.md (`run.host`, `run.agent`) describe the values and the overrides.
//
// Read from the machine: host.id from /etc/machine-id (else /var/lib/dbus/machine-id), host.name
// and host.hostname from uname(2)'s nodename, host.architecture and host.os.kernel from uname,
// host.os.{name,version,family,platform,full} from /etc/os-release (else /usr/lib/os-release),
// host.ip and host.mac from the addresses of the non-loopback interfaces that are up
// (getifaddrs), sorted. agent.id is derived, not stored: a UUID-shaped digest of host.id, so it is
// stable across restarts and reinstalls and needs no state file (a cloned golden image that keeps
// its machine-id keeps its agent.id too: override both). agent.type is "kestrel", agent.version
// the build's version.
// Overrides (config) replace single values after reading and after every refresh.
//
// Refresh: HostWatcher::Refresh() re-reads the machine (not the files, which identify the
// installation and only change with a reboot) when asked; the eBPF source asks every
// kHostRefreshInterval of event time, between two events, and the decoder swaps its precomputed
// values only when something changed. Host fields are data: no decision depends on when they
// change.
// Thread safety: none. Tested by host_identity_test.cc (a temporary root, no root needed).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace kestrel::sources::ebpf {

inline constexpr int64_t kHostRefreshIntervalNs = int64_t{30} * 1'000'000'000;

struct HostIdentity {
  std::string id, name, hostname, architecture;
  std::vector<std::string> ip;   // textual addresses, sorted
  std::vector<std::string> mac;  // ECS form "00-00-5E-00-53-23", sorted
  std::string os_type = "linux", os_name, os_version, os_kernel, os_family, os_platform, os_full;
  std::string agent_id, agent_type = "kestrel", agent_version;

  friend bool operator==(const HostIdentity&, const HostIdentity&) = default;
};

// Config overrides (`run.host`, `run.agent`): a set value replaces what was read.
struct HostOverrides {
  std::optional<std::string> id, name, hostname, architecture;
  std::optional<std::vector<std::string>> ip, mac;
  std::optional<std::string> os_name, os_version, os_kernel, os_family, os_platform, os_full;
  std::optional<std::string> agent_id;

  bool empty() const;
};

// Checks override values: each ip an IPv4/IPv6 address, each mac six hex bytes (separated by
// ':' or '-'; normalised to the ECS form by ApplyHostOverrides). INVALID_ARGUMENT names the value.
absl::Status ValidateHostOverrides(const HostOverrides& overrides);

struct OsRelease {
  std::string name, version, family, platform, full;
};
// The os-release(5) keys NAME, VERSION_ID, ID_LIKE (its first word; else ID), ID, PRETTY_NAME;
// values unquoted. Lines it cannot read are ignored.
OsRelease ParseOsRelease(std::string_view text);

// A machine-id file's content: 32 hex digits (lowercased), else "" (empty, "uninitialized").
std::string ParseMachineId(std::string_view text);

// "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" from a digest of `host_id` ("" for an empty id).
std::string DeriveAgentId(std::string_view host_id);

// "00-00-5E-00-53-23" from 6 bytes.
std::string FormatMac(const uint8_t bytes[6]);

class HostWatcher {
 public:
  // `root`: the directory holding etc/ (and var/lib/dbus/, usr/lib/), "/" on a real machine.
  HostWatcher(std::string root, std::string agent_version, HostOverrides overrides);

  // Reads everything (files, uname, interfaces) and applies the overrides.
  const HostIdentity& Read();
  // Re-reads uname and the interfaces; true when the identity changed.
  bool Refresh();
  const HostIdentity& identity() const { return identity_; }

  // Tests: replace the live parts (uname and interfaces) with fixed values.
  struct Machine {
    std::string nodename, release, machine;
    std::vector<std::string> ip, mac;
  };
  void SetMachineForTest(Machine m) { fake_ = std::move(m); }

 private:
  Machine ReadMachine() const;
  HostIdentity Compose(const Machine& m) const;

  std::string root_;
  std::string agent_version_;
  HostOverrides overrides_;
  std::string machine_id_;
  OsRelease os_;
  std::optional<Machine> fake_;
  HostIdentity identity_;
};

}  // namespace kestrel::sources::ebpf
