// ProbeBpfFeatures; see feature_probe.h.
#include "kestrel/sources/ebpf/feature_probe.h"

#include <bpf/libbpf.h>

namespace kestrel::sources {
namespace {

// libbpf's probes return 1 (supported), 0 (not supported) or a negative errno (probe failed).
BpfFeature FromLibbpf(int r) { return {r == 1, r < 0 ? -r : 0}; }

}  // namespace

BpfFeatures ProbeBpfFeatures() {
  BpfFeatures f;
  f.raw_tracepoint = FromLibbpf(libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_RAW_TRACEPOINT, nullptr));
  f.ring_buffer = FromLibbpf(libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, nullptr));
  f.send_signal_in_raw_tp = FromLibbpf(
      libbpf_probe_bpf_helper(BPF_PROG_TYPE_RAW_TRACEPOINT, BPF_FUNC_send_signal, nullptr));
  f.cgroup_sock_addr =
      FromLibbpf(libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_CGROUP_SOCK_ADDR, nullptr));
  return f;
}

}  // namespace kestrel::sources
