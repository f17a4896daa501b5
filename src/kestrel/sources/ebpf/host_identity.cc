// HostIdentity and HostWatcher; see host_identity.h.
#include "kestrel/sources/ebpf/host_identity.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/utsname.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#if defined(__linux__)
#include <linux/if_packet.h>
#endif

#include <fmt/format.h>

#include "kestrel/base/files.h"
#include "kestrel/base/fingerprint.h"
#include "kestrel/event/value.h"

namespace kestrel::sources::ebpf {
namespace {

constexpr size_t kMaxIdentityFileBytes = 64 << 10;  // os-release and machine-id are tiny

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string Unquote(std::string_view v) {
  v = Trim(v);
  if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front()) {
    v = v.substr(1, v.size() - 2);
  }
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '\\' && i + 1 < v.size()) ++i;  // os-release escapes: \" \\ \$ \`
    out.push_back(v[i]);
  }
  return out;
}

std::string FirstFile(const std::string& root, std::initializer_list<const char*> paths) {
  for (const char* p : paths) {
    std::string path = root;
    if (!path.empty() && path.back() == '/') path.pop_back();
    path += p;
    auto text = base::ReadFileBounded(path, kMaxIdentityFileBytes);
    if (text.ok()) return *text;
  }
  return {};
}

// Six bytes separated by ':' or '-' to the ECS form; "" when it is not one.
std::string NormaliseMac(std::string_view text) {
  uint8_t bytes[6];
  size_t n = 0, i = 0;
  while (n < 6) {
    if (i + 2 > text.size()) return {};
    unsigned v = 0;
    for (size_t k = 0; k < 2; ++k) {
      char c = text[i + k];
      if (!std::isxdigit(static_cast<unsigned char>(c))) return {};
      v = v * 16 +
          static_cast<unsigned>(std::isdigit(static_cast<unsigned char>(c))
                                    ? c - '0'
                                    : std::tolower(static_cast<unsigned char>(c)) - 'a' + 10);
    }
    bytes[n++] = static_cast<uint8_t>(v);
    i += 2;
    if (n < 6) {
      if (i >= text.size() || (text[i] != ':' && text[i] != '-')) return {};
      ++i;
    }
  }
  if (i != text.size()) return {};
  return FormatMac(bytes);
}

template <typename T>
void SetIf(const std::optional<T>& v, T* out) {
  if (v.has_value()) *out = *v;
}

}  // namespace

bool HostOverrides::empty() const {
  return !id && !name && !hostname && !architecture && !ip && !mac && !os_name && !os_version &&
         !os_kernel && !os_family && !os_platform && !os_full && !agent_id;
}

absl::Status ValidateHostOverrides(const HostOverrides& o) {
  if (o.ip) {
    for (const std::string& a : *o.ip) {
      if (!event::IpAddress::Parse(a)) {
        return absl::InvalidArgumentError(fmt::format("host.ip '{}' is not an IP address", a));
      }
    }
  }
  if (o.mac) {
    for (const std::string& m : *o.mac) {
      if (NormaliseMac(m).empty()) {
        return absl::InvalidArgumentError(fmt::format(
            "host.mac '{}' is not a MAC address (six hex bytes, e.g. 00-00-5E-00-53-23)", m));
      }
    }
  }
  return absl::OkStatus();
}

OsRelease ParseOsRelease(std::string_view text) {
  OsRelease r;
  std::string id, id_like;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = Trim(text.substr(pos, end - pos));
    pos = end + 1;
    if (line.empty() || line[0] == '#') continue;
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view key = Trim(line.substr(0, eq));
    std::string value = Unquote(line.substr(eq + 1));
    if (key == "NAME") {
      r.name = value;
    } else if (key == "VERSION_ID") {
      r.version = value;
    } else if (key == "ID") {
      id = value;
    } else if (key == "ID_LIKE") {
      id_like = value;
    } else if (key == "PRETTY_NAME") {
      r.full = value;
    }
  }
  r.platform = id;
  std::string_view like = Trim(id_like);
  r.family = like.empty() ? id : std::string(like.substr(0, like.find(' ')));
  return r;
}

std::string ParseMachineId(std::string_view text) {
  std::string_view t = Trim(text);
  if (t.size() != 32) return {};
  std::string out;
  for (char c : t) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return {};
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

std::string DeriveAgentId(std::string_view host_id) {
  if (host_id.empty()) return {};
  base::Fingerprint fp;
  std::string h = fp.Add(std::string_view("kestrel agent.id v1")).Add(host_id).Hex();
  return fmt::format("{}-{}-{}-{}-{}", h.substr(0, 8), h.substr(8, 4), h.substr(12, 4),
                     h.substr(16, 4), h.substr(20, 12));
}

std::string FormatMac(const uint8_t b[6]) {
  return fmt::format("{:02X}-{:02X}-{:02X}-{:02X}-{:02X}-{:02X}", b[0], b[1], b[2], b[3], b[4],
                     b[5]);
}

HostWatcher::HostWatcher(std::string root, std::string agent_version, HostOverrides overrides)
    : root_(std::move(root)),
      agent_version_(std::move(agent_version)),
      overrides_(std::move(overrides)) {}

HostWatcher::Machine HostWatcher::ReadMachine() const {
  if (fake_) return *fake_;
  Machine m;
  struct utsname u;
  if (uname(&u) == 0) {
    m.nodename = u.nodename;
    m.release = u.release;
    m.machine = u.machine;
  }
  struct ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return m;
  for (struct ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || (a->ifa_flags & IFF_LOOPBACK) || !(a->ifa_flags & IFF_UP)) {
      continue;
    }
    int family = a->ifa_addr->sa_family;
    if (family == AF_INET || family == AF_INET6) {
      char buf[INET6_ADDRSTRLEN] = {};
      const void* addr =
          family == AF_INET
              ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr)
              : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(a->ifa_addr)->sin6_addr);
      if (inet_ntop(family, addr, buf, sizeof(buf)) != nullptr) m.ip.emplace_back(buf);
    }
#if defined(__linux__)
    if (family == AF_PACKET) {
      const auto* ll = reinterpret_cast<const sockaddr_ll*>(a->ifa_addr);
      static constexpr uint8_t kZero[6] = {};
      if (ll->sll_halen == 6 && std::memcmp(ll->sll_addr, kZero, 6) != 0) {
        m.mac.push_back(FormatMac(ll->sll_addr));
      }
    }
#endif
  }
  freeifaddrs(list);
  return m;
}

HostIdentity HostWatcher::Compose(const Machine& m) const {
  HostIdentity h;
  h.id = machine_id_;
  h.hostname = m.nodename;
  h.name = m.nodename;
  h.architecture = m.machine;
  h.os_kernel = m.release;
  h.ip = m.ip;
  h.mac = m.mac;
  h.os_name = os_.name;
  h.os_version = os_.version;
  h.os_family = os_.family;
  h.os_platform = os_.platform;
  h.os_full = os_.full;
  const HostOverrides& o = overrides_;
  SetIf(o.id, &h.id);
  SetIf(o.name, &h.name);
  SetIf(o.hostname, &h.hostname);
  SetIf(o.architecture, &h.architecture);
  SetIf(o.ip, &h.ip);
  if (o.mac) {
    h.mac.clear();
    for (const std::string& x : *o.mac) {
      std::string norm = NormaliseMac(x);
      if (!norm.empty()) h.mac.push_back(norm);
    }
  }
  SetIf(o.os_name, &h.os_name);
  SetIf(o.os_version, &h.os_version);
  SetIf(o.os_kernel, &h.os_kernel);
  SetIf(o.os_family, &h.os_family);
  SetIf(o.os_platform, &h.os_platform);
  SetIf(o.os_full, &h.os_full);
  h.agent_id = o.agent_id ? *o.agent_id : DeriveAgentId(h.id);
  h.agent_version = agent_version_;
  std::sort(h.ip.begin(), h.ip.end());
  h.ip.erase(std::unique(h.ip.begin(), h.ip.end()), h.ip.end());
  std::sort(h.mac.begin(), h.mac.end());
  h.mac.erase(std::unique(h.mac.begin(), h.mac.end()), h.mac.end());
  return h;
}

const HostIdentity& HostWatcher::Read() {
  machine_id_ = ParseMachineId(FirstFile(root_, {"/etc/machine-id", "/var/lib/dbus/machine-id"}));
  os_ = ParseOsRelease(FirstFile(root_, {"/etc/os-release", "/usr/lib/os-release"}));
  identity_ = Compose(ReadMachine());
  return identity_;
}

bool HostWatcher::Refresh() {
  HostIdentity next = Compose(ReadMachine());
  if (next == identity_) return false;
  identity_ = std::move(next);
  return true;
}

}  // namespace kestrel::sources::ebpf
