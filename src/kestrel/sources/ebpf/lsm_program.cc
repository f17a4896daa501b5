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

// The layout bpf/kestrel_lsm.bpf.c's maps and records use (kestrel_lsm_records.h).
static_assert(sizeof(kestrel_lsm_key) == 16);
static_assert(sizeof(kestrel_lsm_value) == 8);
static_assert(sizeof(kestrel_lsm_config) == 8);
static_assert(sizeof(kestrel_lsm_decision) == 40);

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

// The maps of either build (the skeletons declare the same maps).
struct LsmMapSet {
  bpf_map* deny_exec = nullptr;
  bpf_map* deny_open = nullptr;
  bpf_map* allow_tgids = nullptr;
  bpf_map* config = nullptr;
  bpf_map* counters = nullptr;
  bpf_map* decisions = nullptr;
};

template <typename Skel>
LsmMapSet MapsOf(Skel* skel) {
  return LsmMapSet{skel->maps.deny_exec_inodes, skel->maps.deny_open_inodes, skel->maps.allow_tgids,
                   skel->maps.lsm_config,       skel->maps.lsm_counters,     skel->maps.decisions};
}

struct LsmProgram::Impl {
  kestrel_lsm_bpf* skel = nullptr;           // the LSM build, or
  kestrel_lsm_raw_tp_bpf* raw_tp = nullptr;  // the raw tracepoint build (never attached)
  LsmMapSet maps;
  ring_buffer* rb = nullptr;
  const std::function<void(const kestrel_lsm_decision&)>* fn = nullptr;  // during Drain()
  size_t drained = 0;
  bool attached = false;

  ~Impl() {
    if (rb != nullptr) ring_buffer__free(rb);
    if (skel != nullptr) kestrel_lsm_bpf__destroy(skel);
    if (raw_tp != nullptr) kestrel_lsm_raw_tp_bpf__destroy(raw_tp);
  }
  int MapFd(LsmTable table) const {
    return bpf_map__fd(table == LsmTable::kExec ? maps.deny_exec : maps.deny_open);
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

namespace {

// Opens and loads one build with libbpf's messages captured. Returns 0 or -errno; *out is null
// when the object could not even be opened.
template <typename Skel>
int LoadCaptured(Skel* (*open)(), int (*load)(Skel*), Skel** out, std::string* log) {
  static std::mutex load_mu;  // one load at a time owns the libbpf print hook
  std::lock_guard<std::mutex> lock(load_mu);
  {
    std::lock_guard<std::mutex> log_lock(g_lsm_log_mu);
    g_lsm_log.clear();
  }
  libbpf_print_fn_t previous = libbpf_set_print(CaptureLibbpf);
  *out = open();
  int err = *out == nullptr ? -errno : load(*out);
  libbpf_set_print(previous);
  std::lock_guard<std::mutex> log_lock(g_lsm_log_mu);
  log->swap(g_lsm_log);
  return err;
}

}  // namespace

absl::StatusOr<std::unique_ptr<LsmProgram>> LsmProgram::Load() {
  auto impl = std::make_unique<Impl>();
  std::string log;
  int err = LoadCaptured(&kestrel_lsm_bpf__open, &kestrel_lsm_bpf__load, &impl->skel, &log);
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
  impl->maps = MapsOf(impl->skel);
  return Finish(std::move(impl));
}

absl::StatusOr<std::unique_ptr<LsmProgram>> LsmProgram::LoadAsRawTracepoints() {
  auto impl = std::make_unique<Impl>();
  std::string log;
  int err = LoadCaptured(&kestrel_lsm_raw_tp_bpf__open, &kestrel_lsm_raw_tp_bpf__load,
                         &impl->raw_tp, &log);
  if (err != 0) {
    return absl::FailedPreconditionError(fmt::format("the BPF LSM code as raw tracepoints: {}\n{}",
                                                     std::strerror(-err), Tail(log, 20)));
  }
  impl->maps = MapsOf(impl->raw_tp);
  return Finish(std::move(impl));
}

absl::StatusOr<std::unique_ptr<LsmProgram>> LsmProgram::Finish(std::unique_ptr<Impl> impl) {
  impl->rb =
      ring_buffer__new(bpf_map__fd(impl->maps.decisions), &Impl::OnRecord, impl.get(), nullptr);
  if (impl->rb == nullptr) {
    return absl::InternalError(
        fmt::format("BPF LSM decisions ring buffer: {}", std::strerror(errno)));
  }
  return std::unique_ptr<LsmProgram>(new LsmProgram(std::move(impl)));
}

absl::Status VerifyLsmCode() { return LsmProgram::LoadAsRawTracepoints().status(); }

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
  if (bpf_map_update_elem(bpf_map__fd(impl_->maps.allow_tgids), &tgid, &one, BPF_ANY) != 0) {
    return absl::ResourceExhaustedError(
        fmt::format("BPF LSM allow-list (pid {}): {}", tgid, std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status LsmProgram::SetEnforce(bool enforce) {
  uint32_t zero = 0;
  kestrel_lsm_config config{enforce ? 1u : 0u, 0};
  if (bpf_map_update_elem(bpf_map__fd(impl_->maps.config), &zero, &config, BPF_ANY) != 0) {
    return absl::InternalError(fmt::format("BPF LSM mode: {}", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status LsmProgram::Attach() {
  if (impl_->attached) return absl::OkStatus();
  if (impl_->skel == nullptr) {
    return absl::FailedPreconditionError(
        "the raw tracepoint build of the BPF LSM programs is never attached");
  }
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

absl::StatusOr<int> LsmProgram::JudgeForTest(uint8_t hook, const kestrel_lsm_key& key) {
  if (impl_->raw_tp == nullptr) {
    return absl::FailedPreconditionError("JudgeForTest needs the raw tracepoint build");
  }
  uint64_t args[3] = {key.ino, key.dev, hook};
  LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = args, .ctx_size_in = sizeof args);
  if (bpf_prog_test_run_opts(bpf_program__fd(impl_->raw_tp->progs.kestrel_lsm_judge_key), &opts) !=
      0) {
    return absl::InternalError(
        fmt::format("BPF_PROG_TEST_RUN of the BPF LSM judgement: {}", std::strerror(errno)));
  }
  return static_cast<int>(opts.retval);
}

std::optional<uint32_t> LsmProgram::Lookup(LsmTable table, const kestrel_lsm_key& key) const {
  kestrel_lsm_value value{};
  if (bpf_map_lookup_elem(impl_->MapFd(table), &key, &value) != 0) return std::nullopt;
  return value.rule;
}

uint64_t LsmProgram::Lost() {
  int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return 0;
  std::vector<uint64_t> values(static_cast<size_t>(cpus));
  uint32_t key = KESTREL_LSM_CTR_DROPS;
  if (bpf_map_lookup_elem(bpf_map__fd(impl_->maps.counters), &key, values.data()) != 0) {
    return 0;
  }
  uint64_t sum = 0;
  for (uint64_t v : values) sum += v;
  return sum;
}

}  // namespace kestrel::sources
