// ProbeBpfFeatures: which BPF program types, map types and helpers this kernel accepts, asked
// through libbpf's feature probes (each loads a minimal program or creates a minimal map and
// frees it at once: nothing is attached or left behind). For `kestrel doctor`, so that code
// outside sources/ebpf includes no libbpf header.
//
// REQUIRES: the bpf() system call is usable (root, or CAP_BPF): without it every probe reports
// a failure (the errno of the refused call), which says nothing about the kernel.
// Thread safety: may run on any thread; the probes share no state.
// Available only where KESTREL_HAVE_EBPF is defined (target kestrel::sources_ebpf).
// Tested by cli/cli_test.sh (`kestrel doctor`'s lines).
#pragma once

namespace kestrel::sources {

// The outcome of one probe.
struct BpfFeature {
  bool supported = false;  // the kernel accepts it
  int error = 0;           // 0: the kernel answered (supported or not); else the errno that made
                           // the probe itself fail, and `supported` is false
};

struct BpfFeatures {
  BpfFeature raw_tracepoint;         // BPF_PROG_TYPE_RAW_TRACEPOINT programs load
  BpfFeature cgroup_sock_addr;       // BPF_PROG_TYPE_CGROUP_SOCK_ADDR programs load
  BpfFeature ring_buffer;            // BPF_MAP_TYPE_RINGBUF maps can be created
  BpfFeature send_signal_in_raw_tp;  // bpf_send_signal may be called from a raw tracepoint
};

BpfFeatures ProbeBpfFeatures();

}  // namespace kestrel::sources
