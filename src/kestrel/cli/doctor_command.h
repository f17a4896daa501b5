// `kestrel doctor`: probes this machine (kernel, BTF, privileges, BPF program and map types,
// tracefs, fanotify permission events, cgroup v2) and says what Kestrel can do here, what it
// cannot, and why. Informational: exit 0 unless the probes themselves fail.
// Tested by cli_test.sh.
#pragma once

#include <string>
#include <vector>

namespace kestrel::cli {

struct Probe {
  std::string name;
  bool ok = false;
  std::string detail;  // what was found, or why not
};

// Runs every probe (safe to run anywhere; nothing is attached or left behind).
std::vector<Probe> RunProbes();

int DoctorCommand();

}  // namespace kestrel::cli
