// AOT Wasm predicates; see aot.h.
#include "kestrel/runtime/wasm/aot.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "fmt/format.h"

namespace kestrel::runtime {
namespace {

namespace fs = std::filesystem;

// The host table the shim calls through (layout shared with kShim below).
struct AotHost {
  uint32_t version;
  int32_t (*field_kind)(const kestrel_host_ctx*, uint32_t, int32_t);
  int32_t (*field_match)(const kestrel_host_ctx*, uint32_t, int32_t, int32_t, uint32_t, const char*,
                         uint32_t);
  int32_t (*field_compare_i64)(const kestrel_host_ctx*, uint32_t, int32_t, int32_t, uint32_t,
                               int64_t);
  int32_t (*field_compare_f64)(const kestrel_host_ctx*, uint32_t, int32_t, int32_t, uint32_t,
                               double);
  int32_t (*lineage)(const kestrel_host_ctx*, uint32_t);
  int32_t (*eval_node)(const kestrel_host_ctx*, uint32_t);
};

const AotHost kHost = {KESTREL_HOST_API_VERSION,  kestrel_field_kind,        kestrel_field_match,
                       kestrel_field_compare_i64, kestrel_field_compare_f64, kestrel_lineage,
                       kestrel_eval_node};

// Compiled with the wasm2c output of a module named `kpred` (header kpred.h).
constexpr char kShim[] = R"SHIM(
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include "kpred.h"

#define EXPORT __attribute__((visibility("default")))

typedef struct {
  uint32_t version;
  int32_t (*field_kind)(const void*, uint32_t, int32_t);
  int32_t (*field_match)(const void*, uint32_t, int32_t, int32_t, uint32_t, const char*, uint32_t);
  int32_t (*field_compare_i64)(const void*, uint32_t, int32_t, int32_t, uint32_t, int64_t);
  int32_t (*field_compare_f64)(const void*, uint32_t, int32_t, int32_t, uint32_t, double);
  int32_t (*lineage)(const void*, uint32_t);
  int32_t (*eval_node)(const void*, uint32_t);
} aot_host;

struct Z_kestrel_instance_t {
  const aot_host* host;
  const void* ctx;
  wasm_rt_memory_t* memory;
};

/* The wasm-rt functions the generated code uses. */
uint32_t wasm_rt_call_stack_depth;
static _Thread_local jmp_buf g_trap_target; /* one call per thread at a time */
bool wasm_rt_is_initialized(void) { return true; }
void wasm_rt_trap(wasm_rt_trap_t trap) { longjmp(g_trap_target, 1 + (int)trap); }
uint32_t wasm_rt_register_func_type(uint32_t params, uint32_t results, ...) {
  static uint32_t next;
  (void)params;
  (void)results;
  return next++;
}
void wasm_rt_allocate_memory(wasm_rt_memory_t* m, uint32_t initial, uint32_t max) {
  m->pages = initial;
  m->max_pages = max;
  m->size = (uint64_t)initial * 65536;
  m->data = calloc(m->size ? m->size : 1, 1);
  if (m->data == NULL) abort();
}
uint32_t wasm_rt_grow_memory(wasm_rt_memory_t* m, uint32_t pages) {
  (void)m;
  (void)pages;
  return UINT32_MAX;
}
void wasm_rt_free_memory(wasm_rt_memory_t* m) { free(m->data); }

static const char* bytes(struct Z_kestrel_instance_t* k, u32 offset, u32 len) {
  if ((uint64_t)offset + len > k->memory->size) wasm_rt_trap(WASM_RT_TRAP_OOB);
  return (const char*)k->memory->data + offset;
}

u32 Z_kestrelZ_field_kind(struct Z_kestrel_instance_t* k, u32 f, u32 i) {
  return (u32)k->host->field_kind(k->ctx, f, (int32_t)i);
}
u32 Z_kestrelZ_field_match(struct Z_kestrel_instance_t* k, u32 f, u32 i, u32 op, u32 flags,
                           u32 p, u32 n) {
  return (u32)k->host->field_match(k->ctx, f, (int32_t)i, (int32_t)op, flags, bytes(k, p, n), n);
}
u32 Z_kestrelZ_field_compare_i64(struct Z_kestrel_instance_t* k, u32 f, u32 i, u32 op, u32 flags,
                                 u64 v) {
  return (u32)k->host->field_compare_i64(k->ctx, f, (int32_t)i, (int32_t)op, flags, (int64_t)v);
}
u32 Z_kestrelZ_field_compare_f64(struct Z_kestrel_instance_t* k, u32 f, u32 i, u32 op, u32 flags,
                                 f64 v) {
  return (u32)k->host->field_compare_f64(k->ctx, f, (int32_t)i, (int32_t)op, flags, v);
}
u32 Z_kestrelZ_lineage(struct Z_kestrel_instance_t* k, u32 node) {
  return (u32)k->host->lineage(k->ctx, node);
}
u32 Z_kestrelZ_eval_node(struct Z_kestrel_instance_t* k, u32 node) {
  return (u32)k->host->eval_node(k->ctx, node);
}

typedef struct {
  Z_kpred_instance_t module;
  struct Z_kestrel_instance_t imports;
} aot_instance;

EXPORT uint32_t kestrel_aot_v1_api_version(void) { return Z_kpredZ_kestrel_api_version(NULL); }

EXPORT void* kestrel_aot_v1_create(const aot_host* host) {
  static int initialized;
  if (!initialized) {
    Z_kpred_init_module();
    initialized = 1;
  }
  aot_instance* a = calloc(1, sizeof *a);
  if (a == NULL) return NULL;
  a->imports.host = host;
  Z_kpred_instantiate(&a->module, &a->imports);
  a->imports.memory = Z_kpredZ_memory(&a->module);
  return a;
}

/* 0 and *result, or 1 + the wasm_rt_trap_t of a trap. */
EXPORT int32_t kestrel_aot_v1_call(void* instance, const void* ctx, int32_t stage,
                                   int32_t* result) {
  aot_instance* a = instance;
  a->imports.ctx = ctx;
  wasm_rt_call_stack_depth = 0;
  int trap = setjmp(g_trap_target);
  if (trap != 0) return trap;
  *result = (int32_t)Z_kpredZ_kestrel_predicate_v1(&a->module, (u32)stage);
  return 0;
}

EXPORT void kestrel_aot_v1_free(void* instance) {
  aot_instance* a = instance;
  Z_kpred_free(&a->module);
  free(a);
}
)SHIM";

int RunQuiet(const std::string& command, std::string* output) {
  std::string cmd = command + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return -1;
  char buf[512];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) output->append(buf, n);
  return pclose(p);
}

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

const char* TrapName(int32_t trap) {
  // wasm_rt_trap_t, 1-based as kestrel_aot_v1_call returns it.
  switch (trap - 1) {
    case 1:
      return "out of bounds memory access";
    case 2:
      return "integer overflow";
    case 3:
      return "integer divide by zero";
    case 4:
      return "invalid conversion";
    case 5:
      return "unreachable";
    case 6:
      return "indirect call";
    case 7:
      return "uncaught exception";
    case 8:
      return "unaligned atomic";
    case 9:
      return "call stack exhausted";
    default:
      return "trap";
  }
}

}  // namespace

bool AotAvailable(const AotToolchain& toolchain) {
  std::string out;
  return RunQuiet(Quote(toolchain.wasm2c) + " --version", &out) == 0 &&
         RunQuiet(Quote(toolchain.cc) + " --version", &out) == 0;
}

absl::Status CompileAot(std::string_view module, const std::string& so_path,
                        const AotToolchain& toolchain) {
  std::error_code ec;
  fs::path dir = fs::temp_directory_path(ec) /
                 fmt::format("kestrel-aot-{}-{}", getpid(), std::hash<std::string>{}(so_path));
  fs::create_directories(dir, ec);
  if (ec)
    return absl::InternalError(fmt::format("cannot create {}: {}", dir.string(), ec.message()));
  auto write = [&](const fs::path& p, std::string_view bytes) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return static_cast<bool>(out);
  };
  absl::Status status = absl::OkStatus();
  std::string output;
  if (!write(dir / "kpred.wasm", module) || !write(dir / "shim.c", kShim)) {
    status = absl::InternalError("cannot write the AOT sources");
  } else if (RunQuiet(fmt::format("{} {} -n kpred -o {}", Quote(toolchain.wasm2c),
                                  Quote((dir / "kpred.wasm").string()),
                                  Quote((dir / "kpred.c").string())),
                      &output) != 0) {
    status = absl::InternalError("wasm2c failed: " + output);
  } else if (RunQuiet(fmt::format("{} -shared -fPIC -O2 -fvisibility=hidden -w "
                                  "-DWASM_RT_MEMCHECK_SIGNAL_HANDLER=0 "
                                  "-DWASM_RT_USE_STACK_DEPTH_COUNT=0 -I{} {} {} "
                                  "-Wl,--no-undefined -o {}",
                                  Quote(toolchain.cc), Quote(dir.string()),
                                  Quote((dir / "kpred.c").string()),
                                  Quote((dir / "shim.c").string()), Quote(so_path)),
                      &output) != 0) {
    status = absl::InternalError("the C compiler failed: " + output);
  }
  fs::remove_all(dir, ec);
  return status;
}

struct AotModule::Impl {
  void* handle = nullptr;
  void* instance = nullptr;
  void (*free_instance)(void*) = nullptr;
  int32_t (*call)(void*, const void*, int32_t, int32_t*) = nullptr;

  ~Impl() {
    if (instance != nullptr && free_instance != nullptr) free_instance(instance);
    if (handle != nullptr) dlclose(handle);
  }
};

AotModule::AotModule(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AotModule::~AotModule() = default;

absl::StatusOr<std::unique_ptr<AotModule>> AotModule::Open(const std::string& so_path) {
  auto impl = std::make_unique<Impl>();
  impl->handle = dlopen(so_path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (impl->handle == nullptr) {
    const char* e = dlerror();
    return absl::InvalidArgumentError(fmt::format("{}: {}", so_path, e != nullptr ? e : "dlopen"));
  }
  auto version =
      reinterpret_cast<uint32_t (*)()>(dlsym(impl->handle, "kestrel_aot_v1_api_version"));
  auto create =
      reinterpret_cast<void* (*)(const AotHost*)>(dlsym(impl->handle, "kestrel_aot_v1_create"));
  impl->call = reinterpret_cast<int32_t (*)(void*, const void*, int32_t, int32_t*)>(
      dlsym(impl->handle, "kestrel_aot_v1_call"));
  impl->free_instance =
      reinterpret_cast<void (*)(void*)>(dlsym(impl->handle, "kestrel_aot_v1_free"));
  if (version == nullptr || create == nullptr || impl->call == nullptr ||
      impl->free_instance == nullptr) {
    return absl::InvalidArgumentError(
        fmt::format("{}: not a Kestrel AOT predicate object (kestrel_aot_v1_* missing)", so_path));
  }
  if (version() != KESTREL_HOST_API_VERSION) {
    return absl::InvalidArgumentError(
        fmt::format("{}: Host API version mismatch: module needs {}, host implements {}", so_path,
                    version(), KESTREL_HOST_API_VERSION));
  }
  impl->instance = create(&kHost);
  if (impl->instance == nullptr) return absl::ResourceExhaustedError("cannot instantiate");
  return std::unique_ptr<AotModule>(new AotModule(std::move(impl)));
}

int32_t AotModule::Call(int32_t stage, kestrel_host_ctx* ctx, std::string* error) {
  int32_t result = KESTREL_NULL;
  int32_t trap = impl_->call(impl_->instance, ctx, stage, &result);
  if (trap != 0) {
    if (error != nullptr) *error = fmt::format("trap: {}", TrapName(trap));
    return kError;
  }
  return result == 1 ? KESTREL_TRUE : result == 0 ? KESTREL_FALSE : KESTREL_NULL;
}

absl::StatusOr<std::unique_ptr<engine::RulePredicates>> AotPredicateRuntime::Compile(
    const eql::IrProgram&) {
  return absl::UnimplementedError(
      "AOT predicates come from a rule package (kestrel compile --target wasm --aot)");
}

absl::StatusOr<std::unique_ptr<engine::RulePredicates>> AotPredicateRuntime::Load(
    const eql::IrProgram& program, const std::string& so_path, std::string_view name,
    FieldMap fields) {
  auto module = AotModule::Open(so_path);
  if (!module.ok()) return module.status();
  return std::unique_ptr<engine::RulePredicates>(new ModuleRulePredicates<AotModule>(
      program, std::move(*module), &host_, "wasm-aot", std::string(name), std::move(fields)));
}

}  // namespace kestrel::runtime
