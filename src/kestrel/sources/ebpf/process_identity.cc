// Process identity helpers; see process_identity.h.
#include "kestrel/sources/ebpf/process_identity.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <ctime>

namespace kestrel::sources::ebpf {
namespace {

// include/uapi/linux/capability.h, bit order.
constexpr std::array<std::string_view, 41> kCapabilities = {"CAP_CHOWN",
                                                            "CAP_DAC_OVERRIDE",
                                                            "CAP_DAC_READ_SEARCH",
                                                            "CAP_FOWNER",
                                                            "CAP_FSETID",
                                                            "CAP_KILL",
                                                            "CAP_SETGID",
                                                            "CAP_SETUID",
                                                            "CAP_SETPCAP",
                                                            "CAP_LINUX_IMMUTABLE",
                                                            "CAP_NET_BIND_SERVICE",
                                                            "CAP_NET_BROADCAST",
                                                            "CAP_NET_ADMIN",
                                                            "CAP_NET_RAW",
                                                            "CAP_IPC_LOCK",
                                                            "CAP_IPC_OWNER",
                                                            "CAP_SYS_MODULE",
                                                            "CAP_SYS_RAWIO",
                                                            "CAP_SYS_CHROOT",
                                                            "CAP_SYS_PTRACE",
                                                            "CAP_SYS_PACCT",
                                                            "CAP_SYS_ADMIN",
                                                            "CAP_SYS_BOOT",
                                                            "CAP_SYS_NICE",
                                                            "CAP_SYS_RESOURCE",
                                                            "CAP_SYS_TIME",
                                                            "CAP_SYS_TTY_CONFIG",
                                                            "CAP_MKNOD",
                                                            "CAP_LEASE",
                                                            "CAP_AUDIT_WRITE",
                                                            "CAP_AUDIT_CONTROL",
                                                            "CAP_SETFCAP",
                                                            "CAP_MAC_OVERRIDE",
                                                            "CAP_MAC_ADMIN",
                                                            "CAP_SYSLOG",
                                                            "CAP_WAKE_ALARM",
                                                            "CAP_BLOCK_SUSPEND",
                                                            "CAP_AUDIT_READ",
                                                            "CAP_PERFMON",
                                                            "CAP_BPF",
                                                            "CAP_CHECKPOINT_RESTORE"};

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

}  // namespace

std::vector<std::string> DefaultEnvAllowList() {
  return {"LD_PRELOAD",   "LD_LIBRARY_PATH", "HISTFILE",       "HISTSIZE",
          "HISTFILESIZE", "GLIBC_TUNABLES",  "PROMPT_COMMAND", "SSH_CLIENT"};
}

std::vector<std::string> FilterEnv(std::string_view env, const std::vector<std::string>& allow,
                                   size_t value_max, std::string* ssh_client) {
  std::vector<std::string> out;
  ssh_client->clear();
  bool have_ssh = false;
  size_t i = 0;
  while (i < env.size()) {
    size_t end = env.find('\0', i);
    if (end == std::string_view::npos) end = env.size();
    std::string_view var = env.substr(i, end - i);
    i = end + 1;
    size_t eq = var.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    std::string_view name = var.substr(0, eq), value = var.substr(eq + 1);
    if (!have_ssh && name == "SSH_CLIENT") {
      have_ssh = true;
      ssh_client->assign(value.substr(0, 128));
    }
    if (std::find(allow.begin(), allow.end(), name) == allow.end()) continue;
    bool seen = false;
    for (const std::string& o : out)
      seen = seen || (o.size() > eq && o[eq] == '=' && StartsWith(o, name));
    if (seen || out.size() >= allow.size()) continue;
    std::string kept(name);
    kept.push_back('=');
    kept.append(value.substr(0, value_max));
    out.push_back(std::move(kept));
  }
  return out;
}

std::string_view FormatProcessStart(int64_t unix_ns, char (&buf)[32]) {
  // Formatted by hand (no gmtime_r, no snprintf): it runs for up to five fields of every
  // process event. The date from the day number: the proleptic Gregorian calendar in 400-year
  // eras, years starting in March so that the leap day ends a year.
  if (unix_ns < 0) return {};
  const int64_t secs = unix_ns / 1'000'000'000;
  const int ms = static_cast<int>((unix_ns / 1'000'000) % 1000);
  const int64_t days = secs / 86'400;
  const int sod = static_cast<int>(secs % 86'400);
  const int64_t z = days + 719'468;  // days since 0000-03-01
  const int64_t era = z / 146'097;
  const int64_t doe = z - era * 146'097;                                        // [0, 146096]
  const int64_t yoe = (doe - doe / 1460 + doe / 36'524 - doe / 146'096) / 365;  // [0, 399]
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                  // [0, 365]
  const int64_t mp = (5 * doy + 2) / 153;                                       // March = 0
  const int day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const int month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  const int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  auto put = [&](size_t at, int64_t v, int width) {
    for (int i = width - 1; i >= 0; --i) {
      buf[at + static_cast<size_t>(i)] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
  };
  put(0, year, 4);
  buf[4] = '-';
  put(5, month, 2);
  buf[7] = '-';
  put(8, day, 2);
  buf[10] = 'T';
  put(11, sod / 3600, 2);
  buf[13] = ':';
  put(14, sod / 60 % 60, 2);
  buf[16] = ':';
  put(17, sod % 60, 2);
  buf[19] = '.';
  put(20, ms, 3);
  buf[23] = 'Z';
  return std::string_view(buf, 24);
}

std::string_view SshClientAddress(std::string_view ssh_client) {
  size_t sp = ssh_client.find(' ');
  return sp == std::string_view::npos ? ssh_client : ssh_client.substr(0, sp);
}

std::string_view CapabilityName(unsigned bit) {
  return bit < kCapabilities.size() ? kCapabilities[bit] : std::string_view();
}

void CapabilityNames(uint64_t mask, std::vector<event::Value>* out) {
  out->clear();
  for (unsigned bit = 0; bit < kCapabilities.size(); ++bit) {
    if (mask & (uint64_t{1} << bit)) out->push_back(event::Value::String(kCapabilities[bit]));
  }
}

std::string_view EntryTypeForParent(uint32_t parent_pid, std::string_view parent_name) {
  if (parent_pid == 1) return "init";
  if (parent_pid == 0 || parent_pid == 2 || parent_name == "kthreadd") return "kthread";
  if (parent_name == "sshd" || StartsWith(parent_name, "sshd-")) return "sshd";
  if (parent_name == "login" || parent_name == "agetty" || parent_name == "getty" ||
      parent_name == "mingetty") {
    return "console";
  }
  if (parent_name == "runc" || parent_name == "crun" || parent_name == "conmon" ||
      StartsWith(parent_name, "containerd-shim")) {
    return "container";
  }
  if (parent_name == "ssm-session-wor" || StartsWith(parent_name, "ssm-session-worker")) {
    return "ssm";
  }
  if (parent_name == "teleport") return "teleport";
  if (parent_name == "xterm" || parent_name == "konsole" || parent_name == "tmux: server" ||
      parent_name == "tmux" || parent_name == "screen" || parent_name == "SCREEN" ||
      StartsWith(parent_name, "gnome-terminal") || parent_name == "xfce4-terminal" ||
      parent_name == "alacritty" || parent_name == "kitty" || parent_name == "terminator" ||
      parent_name == "tilix" || parent_name == "wezterm-gui" || parent_name == "foot") {
    return "terminal";
  }
  return {};
}

RelativeFields RelativeFields::For(schema::Schema& schema, std::string_view prefix, size_t role,
                                   bool with_command_line) {
  using schema::FieldType;
  auto id = [&](std::string_view leaf, FieldType type, bool array = false) {
    std::string name(prefix);
    name.push_back('.');
    name.append(leaf);
    return schema.Intern(name, type, array).value_or(schema::FieldId{});
  };
  RelativeFields f;
  f.pid = id("pid", FieldType::kLong);
  f.entity_id = id("entity_id", FieldType::kKeyword);
  f.name = id("name", FieldType::kKeyword);
  f.executable = id("executable", FieldType::kKeyword);
  f.args = id("args", FieldType::kKeyword, true);
  f.args_count = id("args_count", FieldType::kLong);
  f.working_directory = id("working_directory", FieldType::kKeyword);
  f.start = id("start", FieldType::kDate);
  f.interactive = id("interactive", FieldType::kBoolean);
  f.tty_major = id("tty.char_device.major", FieldType::kLong);
  f.tty_minor = id("tty.char_device.minor", FieldType::kLong);
  f.user_id = id("user.id", FieldType::kKeyword);
  f.user_name = id("user.name", FieldType::kKeyword);
  f.group_id = id("group.id", FieldType::kKeyword);
  f.group_name = id("group.name", FieldType::kKeyword);
  f.real_user_id = id("real_user.id", FieldType::kKeyword);
  f.real_user_name = id("real_user.name", FieldType::kKeyword);
  f.real_group_id = id("real_group.id", FieldType::kKeyword);
  f.real_group_name = id("real_group.name", FieldType::kKeyword);
  f.same_as_process = id("same_as_process", FieldType::kBoolean);
  if (with_command_line) f.command_line = id("command_line", FieldType::kKeyword);
  f.role = role;
  return f;
}

}  // namespace kestrel::sources::ebpf
