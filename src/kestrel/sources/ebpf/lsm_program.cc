// LsmProgram; see lsm_program.h.
#include "kestrel/sources/ebpf/lsm_program.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "kestrel_lsm.skel.h"
#include "kestrel_lsm_raw_tp.skel.h"

namespace kestrel::sources {
namespace {

// libbpf's warnings while the programs load, kept for the error (not printed: a refused load
// is an expected outcome of the probe).
std::mutex g_lsm_log_mu;
std::string g_lsm_log;
int CaptureLibbpf(enum libbpf_print_level level, const char* format, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  va_list copy;
  va_copy(copy, args);
  int n = vsnprintf(nullptr, 0, format, copy);
  va_end(copy);
  if (n <= 0) return 0;
  std::string text(static_cast<size_t>(n) + 1, '\0');
  vsnprintf(text.data(), text.size(), format, args);
  text.pop_back();
  std::lock_guard<std::mutex> lock(g_lsm_log_mu);
  g_lsm_log += text;  // the verifier's log comes in one piece: keep its end, where the error is
  if (g_lsm_log.size() > 8192) g_lsm_log.erase(0, g_lsm_log.size() - 8192);
  return 0;
}

// The last `lines` lines of `log`.
std::string Tail(const std::string& log, size_t lines) {
  size_t end = log.size();
  while (end > 0 && log[end - 1] == '\n') --end;
  size_t pos = end;
  for (size_t n = 0; n < lines && pos > 0; ++n) {
    pos = log.rfind('\n', pos - 1);
    if (pos == std::string::npos) {
      pos = 0;
      break;
    }
  }
  return log.substr(pos == 0 ? 0 : pos + 1, end - (pos == 0 ? 0 : pos + 1));
}

}  // namespace

struct LsmProgram::Impl {
  kestrel_lsm_bpf* skel = nullptr;
  ring_buffer* rb = nullptr;
  const std::function<void(const kestrel_lsm_decision&)>* fn = nullptr;  // during Drain()
  size_t drained = 0;
  bool attached = false;

  ~Impl() {
    if (rb != nullptr) ring_buffer__free(rb);
    if (skel != nullptr) kestrel_lsm_bpf__destroy(skel);
  }
  int MapFd(LsmTable table) const {
    return bpf_map__fd(table == LsmTable::kExec ? skel->maps.deny_exec_inodes
                                                : skel->maps.deny_open_inodes);
  }
  static int OnRecord(void* ctx, void* data, size_t size) {
    auto* self = static_cast<Impl*>(ctx);
    if (size < sizeof(kestrel_lsm_decision) || self->fn == nullptr) return 0;
    kestrel_lsm_decision d;
    std::memcpy(&d, data, sizeof d);
    (*self->fn)(d);
    ++self->drained;
    return 0;
  }
};

absl::StatusOr<std::unique_ptr<LsmProgram>> LsmProgram::Load() {
  auto impl = std::make_unique<Impl>();
  std::string log;
  int err = 0;
  {
    static std::mutex load_mu;  // one load at a time owns the libbpf print hook
    std::lock_guard<std::mutex> lock(load_mu);
    {
      std::lock_guard<std::mutex> log_lock(g_lsm_log_mu);
      g_lsm_log.clear();
    }
    libbpf_print_fn_t previous = libbpf_set_print(CaptureLibbpf);
    impl->skel = kestrel_lsm_bpf__open();
    if (impl->skel == nullptr) {
      err = -errno;
    } else {
      err = kestrel_lsm_bpf__load(impl->skel);
    }
    libbpf_set_print(previous);
    std::lock_guard<std::mutex> log_lock(g_lsm_log_mu);
    log.swap(g_lsm_log);
  }
  if (impl->skel == nullptr) {
    return absl::FailedPreconditionError(
        fmt::format("cannot open the BPF LSM object: {}", std::strerror(-err)));
  }
  if (err != 0) {
    // EPERM is a policy (no privilege, or a kernel that refuses LSM programs): libbpf's own
    // advice ("raise ulimit -l") would mislead. Other errors are the verifier's: show its end.
    std::string why = fmt::format("BPF LSM program refused at load: {}", std::strerror(-err));
    if (err != -EPERM && !log.empty()) why += "\n" + Tail(log, 12);
    return absl::FailedPreconditionError(why);
  }
  impl->rb = ring_buffer__new(bpf_map__fd(impl->skel->maps.decisions), &Impl::OnRecord, impl.get(),
                              nullptr);
  if (impl->rb == nullptr) {
    return absl::InternalError(
        fmt::format("BPF LSM decisions ring buffer: {}", std::strerror(errno)));
  }
  return std::unique_ptr<LsmProgram>(new LsmProgram(std::move(impl)));
}

absl::Status VerifyLsmCode() {
  std::string log;
  int err = 0;
  {
    static std::mutex load_mu;
    std::lock_guard<std::mutex> lock(load_mu);
    {
      std::lock_guard<std::mutex> log_lock(g_lsm_log_mu);
      g_lsm_log.clear();
    }
    libbpf_print_fn_t previous = libbpf_set_print(CaptureLibbpf);
    kestrel_lsm_raw_tp_bpf* skel = kestrel_lsm_raw_tp_bpf__open();
    err = skel == nullptr ? -errno : kestrel_lsm_raw_tp_bpf__load(skel);
    kestrel_lsm_raw_tp_bpf__destroy(skel);
    libbpf_set_print(previous);
    std::lock_guard<std::mutex> log_lock(g_lsm_log_mu);
    log.swap(g_lsm_log);
  }
  if (err == 0) return absl::OkStatus();
  return absl::FailedPreconditionError(fmt::format("the BPF LSM code as raw tracepoints: {}\n{}",
                                                   std::strerror(-err), Tail(log, 20)));
}

LsmProgram::LsmProgram(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LsmProgram::~LsmProgram() = default;

absl::Status LsmProgram::Put(LsmTable table, const kestrel_lsm_key& key, uint32_t rule) {
  kestrel_lsm_value value{rule, 0};
  if (bpf_map_update_elem(impl_->MapFd(table), &key, &value, BPF_ANY) != 0) {
    int e = errno;
    return e == E2BIG ? absl::ResourceExhaustedError(fmt::format(
                            "the BPF LSM deny map is full ({} files)", KESTREL_LSM_MAX_INODES))
                      : absl::InternalError(fmt::format("BPF LSM deny map: {}", std::strerror(e)));
  }
  return absl::OkStatus();
}

absl::Status LsmProgram::Remove(LsmTable table, const kestrel_lsm_key& key) {
  if (bpf_map_delete_elem(impl_->MapFd(table), &key) != 0 && errno != ENOENT) {
    return absl::InternalError(fmt::format("BPF LSM deny map: {}", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status LsmProgram::AllowTgid(uint32_t tgid) {
  uint8_t one = 1;
  if (bpf_map_update_elem(bpf_map__fd(impl_->skel->maps.allow_tgids), &tgid, &one, BPF_ANY) != 0) {
    return absl::ResourceExhaustedError(
        fmt::format("BPF LSM allow-list (pid {}): {}", tgid, std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status LsmProgram::SetEnforce(bool enforce) {
  uint32_t zero = 0;
  kestrel_lsm_config config{enforce ? 1u : 0u, 0};
  if (bpf_map_update_elem(bpf_map__fd(impl_->skel->maps.lsm_config), &zero, &config, BPF_ANY) !=
      0) {
    return absl::InternalError(fmt::format("BPF LSM mode: {}", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status LsmProgram::Attach() {
  if (impl_->attached) return absl::OkStatus();
  int err = kestrel_lsm_bpf__attach(impl_->skel);
  if (err != 0) {
    return absl::FailedPreconditionError(
        fmt::format("BPF LSM program refused at attach: {}", std::strerror(-err)));
  }
  impl_->attached = true;
  return absl::OkStatus();
}

void LsmProgram::Detach() {
  if (!impl_->attached) return;
  kestrel_lsm_bpf__detach(impl_->skel);
  impl_->attached = false;
}

size_t LsmProgram::Drain(const std::function<void(const kestrel_lsm_decision&)>& fn) {
  impl_->fn = &fn;
  impl_->drained = 0;
  ring_buffer__consume(impl_->rb);
  impl_->fn = nullptr;
  return impl_->drained;
}

uint64_t LsmProgram::Lost() {
  int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return 0;
  std::vector<uint64_t> values(static_cast<size_t>(cpus));
  uint32_t key = KESTREL_LSM_CTR_DROPS;
  if (bpf_map_lookup_elem(bpf_map__fd(impl_->skel->maps.lsm_counters), &key, values.data()) != 0) {
    return 0;
  }
  uint64_t sum = 0;
  for (uint64_t v : values) sum += v;
  return sum;
}

}  // namespace kestrel::sources
