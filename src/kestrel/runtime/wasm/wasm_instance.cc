// WasmInstance over wabt's interpreter; see wasm_instance.h. Built as C++17.
//
// Fuel: wabt's Func::Call runs to completion, so a call is driven here instead: the arguments
// and the frame are pushed with Thread's private PushValues/PushCall (reached through the
// standard explicit-instantiation access rule, below), then Thread::Run(kFuelSlice) is repeated
// until the function returns, traps, or the fuel is spent. After a trap or fuel exhaustion the
// thread's stacks are abandoned: a fresh Thread replaces it.
#include "kestrel/runtime/wasm/wasm_instance.h"

#include <cstring>
#include <functional>
#include <string_view>
#include <utility>
#include <vector>

#include "kestrel/runtime/host_api_internal.h"
#include "wabt/binary-reader.h"
#include "wabt/error-formatter.h"
#include "wabt/feature.h"
#include "wabt/interp/binary-reader-interp.h"
#include "wabt/interp/interp.h"

namespace kestrel::runtime {
namespace {

namespace wi = wabt::interp;
using wabt::Type;
using wi::f64;
using wi::s32;
using wi::s64;
using wi::u32;

// Access to Thread's private members through explicit instantiation (which ignores access
// checks): Get(Tag{}) returns the member pointer.
template <typename Tag, typename Tag::type M>
struct Access {
  friend typename Tag::type Get(Tag) { return M; }
};
struct PushValuesTag {
  using type = void (wi::Thread::*)(const wi::ValueTypes&, const wi::Values&);
  friend type Get(PushValuesTag);
};
struct PopValuesTag {
  using type = void (wi::Thread::*)(const wi::ValueTypes&, wi::Values*);
  friend type Get(PopValuesTag);
};
struct PushCallTag {
  using type = wi::RunResult (wi::Thread::*)(const wi::DefinedFunc&, wi::Trap::Ptr*);
  friend type Get(PushCallTag);
};
template struct Access<PushValuesTag, &wi::Thread::PushValues>;
template struct Access<PopValuesTag, &wi::Thread::PopValues>;
template struct Access<PushCallTag, &wi::Thread::PushCall>;

}  // namespace

struct WasmInstance::Impl {
  WasmLimits limits;
  wabt::Features features;
  wi::Store store{features};
  wi::Module::Ptr module;
  wi::Instance::Ptr instance;
  wi::DefinedFunc::Ptr predicate;
  wi::Memory::Ptr memory;  // null when the module has none
  std::unique_ptr<wi::Thread> thread;
  wi::Values params = wi::Values(1);
  wi::Values results;
  kestrel_host_ctx* ctx = nullptr;
  // Function modules: the exports found by FindExport(), with their argument buffers.
  struct Export {
    wi::DefinedFunc::Ptr func;
    std::string params, results;
    wi::Values args;
  };
  std::vector<Export> exports;

  // Bounds-checked view of the module's memory: nullptr when [offset, offset+size) is outside.
  const char* Bytes(uint32_t offset, uint32_t size) {
    if (!memory) return nullptr;
    uint64_t end = uint64_t{offset} + size;
    if (end > memory->ByteSize()) return nullptr;
    return reinterpret_cast<const char*>(memory->UnsafeData()) + offset;
  }
};

namespace {

using Impl = WasmInstance::Impl;
using HostCall =
    std::function<wabt::Result(Impl&, wi::Thread&, const wi::Values&, wi::Values&, wi::Trap::Ptr*)>;

struct HostFunction {
  const char* name;
  std::vector<Type> params;
  std::vector<Type> results;
  HostCall call;
};

wabt::Result Fail(wi::Thread& thread, wi::Trap::Ptr* trap, const char* message) {
  *trap = wi::Trap::New(thread.store(), message);
  return wabt::Result::Error;
}

s32 S(const wi::Values& v, size_t i) { return v[i].Get<s32>(); }
u32 U(const wi::Values& v, size_t i) { return v[i].Get<u32>(); }

// The Host API v1 imports of module `kestrel`.
const std::vector<HostFunction>& HostFunctions() {
  static const std::vector<HostFunction> kFunctions = [] {
    const Type t32 = Type::I32, t64 = Type::I64, tf64 = Type::F64;
    std::vector<HostFunction> f;
    auto ret = [](wi::Values& r, s32 v) { r[0] = wi::Value::Make(v); };
    f.push_back({"api_version",
                 {},
                 {t32},
                 [ret](Impl&, wi::Thread&, const wi::Values&, wi::Values& r,
                       wi::Trap::Ptr*) -> wabt::Result {
                   ret(r, static_cast<s32>(kestrel_host_api_version()));
                   return wabt::Result::Ok;
                 }});
    f.push_back({"field_id",
                 {t32, t32},
                 {t32},
                 [ret](Impl& m, wi::Thread& t, const wi::Values& p, wi::Values& r,
                       wi::Trap::Ptr* trap) -> wabt::Result {
                   const char* name = m.Bytes(U(p, 0), U(p, 1));
                   if (name == nullptr) return Fail(t, trap, "field_id: out of bounds");
                   ret(r, static_cast<s32>(kestrel_field_id(m.ctx, name, U(p, 1))));
                   return wabt::Result::Ok;
                 }});
    f.push_back({"field_kind",
                 {t32, t32},
                 {t32},
                 [ret](Impl& m, wi::Thread&, const wi::Values& p, wi::Values& r,
                       wi::Trap::Ptr*) -> wabt::Result {
                   ret(r, kestrel_field_kind(m.ctx, U(p, 0), S(p, 1)));
                   return wabt::Result::Ok;
                 }});
    f.push_back({"field_i64",
                 {t32, t32},
                 {t64},
                 [](Impl& m, wi::Thread&, const wi::Values& p, wi::Values& r,
                    wi::Trap::Ptr*) -> wabt::Result {
                   r[0] = wi::Value::Make(
                       static_cast<s64>(kestrel_field_i64(m.ctx, U(p, 0), S(p, 1))));
                   return wabt::Result::Ok;
                 }});
    f.push_back({"field_f64",
                 {t32, t32},
                 {tf64},
                 [](Impl& m, wi::Thread&, const wi::Values& p, wi::Values& r,
                    wi::Trap::Ptr*) -> wabt::Result {
                   r[0] = wi::Value::Make(kestrel_field_f64(m.ctx, U(p, 0), S(p, 1)));
                   return wabt::Result::Ok;
                 }});
    f.push_back({"field_bool",
                 {t32, t32},
                 {t32},
                 [ret](Impl& m, wi::Thread&, const wi::Values& p, wi::Values& r,
                       wi::Trap::Ptr*) -> wabt::Result {
                   ret(r, kestrel_field_bool(m.ctx, U(p, 0), S(p, 1)));
                   return wabt::Result::Ok;
                 }});
    // field_string(field, index, out, capacity) -> length, or -1 when not a string; copies
    // min(length, capacity) bytes to `out`.
    f.push_back({"field_string",
                 {t32, t32, t32, t32},
                 {t32},
                 [ret](Impl& m, wi::Thread& t, const wi::Values& p, wi::Values& r,
                       wi::Trap::Ptr* trap) -> wabt::Result {
                   const char* data = nullptr;
                   uint32_t size = 0;
                   if (!kestrel_field_string(m.ctx, U(p, 0), S(p, 1), &data, &size)) {
                     ret(r, -1);
                     return wabt::Result::Ok;
                   }
                   uint32_t n = std::min(size, U(p, 3));
                   char* out = const_cast<char*>(m.Bytes(U(p, 2), n));
                   if (out == nullptr) return Fail(t, trap, "field_string: out of bounds");
                   std::memcpy(out, data, n);
                   ret(r, static_cast<s32>(size));
                   return wabt::Result::Ok;
                 }});
    f.push_back({"field_array_len",
                 {t32},
                 {t32},
                 [ret](Impl& m, wi::Thread&, const wi::Values& p, wi::Values& r,
                       wi::Trap::Ptr*) -> wabt::Result {
                   ret(r, kestrel_field_array_len(m.ctx, U(p, 0)));
                   return wabt::Result::Ok;
                 }});
    f.push_back({"field_match",
                 {t32, t32, t32, t32, t32, t32},
                 {t32},
                 [ret](Impl& m, wi::Thread& t, const wi::Values& p, wi::Values& r,
                       wi::Trap::Ptr* trap) -> wabt::Result {
                   const char* s = m.Bytes(U(p, 4), U(p, 5));
                   if (s == nullptr) return Fail(t, trap, "field_match: out of bounds");
                   ret(r,
                       kestrel_field_match(m.ctx, U(p, 0), S(p, 1), S(p, 2), U(p, 3), s, U(p, 5)));
                   return wabt::Result::Ok;
                 }});
    f.push_back({"field_compare_i64",
                 {t32, t32, t32, t32, t64},
                 {t32},
                 [ret](Impl& m, wi::Thread&, const wi::Values& p, wi::Values& r,
                       wi::Trap::Ptr*) -> wabt::Result {
                   ret(r, kestrel_field_compare_i64(m.ctx, U(p, 0), S(p, 1), S(p, 2), U(p, 3),
                                                    p[4].Get<s64>()));
                   return wabt::Result::Ok;
                 }});
    f.push_back({"field_compare_f64",
                 {t32, t32, t32, t32, tf64},
                 {t32},
                 [ret](Impl& m, wi::Thread&, const wi::Values& p, wi::Values& r,
                       wi::Trap::Ptr*) -> wabt::Result {
                   ret(r, kestrel_field_compare_f64(m.ctx, U(p, 0), S(p, 1), S(p, 2), U(p, 3),
                                                    p[4].Get<f64>()));
                   return wabt::Result::Ok;
                 }});
    f.push_back(
        {"string_match",
         {t32, t32, t32, t32, t32, t32},
         {t32},
         [ret](Impl& m, wi::Thread& t, const wi::Values& p, wi::Values& r,
               wi::Trap::Ptr* trap) -> wabt::Result {
           const char* text = m.Bytes(U(p, 2), U(p, 3));
           const char* pattern = m.Bytes(U(p, 4), U(p, 5));
           if (text == nullptr || pattern == nullptr) {
             return Fail(t, trap, "string_match: out of bounds");
           }
           ret(r, kestrel_string_match(m.ctx, S(p, 0), U(p, 1), text, U(p, 3), pattern, U(p, 5)));
           return wabt::Result::Ok;
         }});
    f.push_back({"lineage",
                 {t32},
                 {t32},
                 [ret](Impl& m, wi::Thread&, const wi::Values& p, wi::Values& r,
                       wi::Trap::Ptr*) -> wabt::Result {
                   ret(r, kestrel_lineage(m.ctx, U(p, 0)));
                   return wabt::Result::Ok;
                 }});
    f.push_back({"eval_node",
                 {t32},
                 {t32},
                 [ret](Impl& m, wi::Thread&, const wi::Values& p, wi::Values& r,
                       wi::Trap::Ptr*) -> wabt::Result {
                   ret(r, kestrel_eval_node(m.ctx, U(p, 0)));
                   return wabt::Result::Ok;
                 }});
    f.push_back({"report_error",
                 {t32, t32, t32},
                 {},
                 [](Impl& m, wi::Thread& t, const wi::Values& p, wi::Values&,
                    wi::Trap::Ptr* trap) -> wabt::Result {
                   const char* s = m.Bytes(U(p, 1), U(p, 2));
                   if (s == nullptr) return Fail(t, trap, "report_error: out of bounds");
                   kestrel_report_error(m.ctx, S(p, 0), s, U(p, 2));
                   return wabt::Result::Ok;
                 }});
    return f;
  }();
  return kFunctions;
}

std::string TypeText(const std::vector<Type>& params, const std::vector<Type>& results) {
  std::string out = "(";
  for (size_t i = 0; i < params.size(); ++i)
    out += (i ? ", " : "") + std::string(params[i].GetName());
  out += ") -> (";
  for (size_t i = 0; i < results.size(); ++i)
    out += (i ? ", " : "") + std::string(results[i].GetName());
  return out + ")";
}

}  // namespace

namespace {

// Runs `f` on m.thread with at most m.limits.fuel instructions. On failure (trap, fuel, exception)
// sets *error, replaces the abandoned thread and returns false.
bool Drive(Impl& m, const wi::DefinedFunc& f, const wi::Values& params, wi::Values* results,
           std::string* error) {
  wi::Thread& thread = *m.thread;
  wi::Trap::Ptr trap;
  (thread.*Get(PushValuesTag{}))(f.type().params, params);
  wi::RunResult r = (thread.*Get(PushCallTag{}))(f, &trap);
  uint64_t used = 0;
  while (r == wi::RunResult::Ok) {
    if (used >= m.limits.fuel) break;
    r = thread.Run(WasmInstance::kFuelSlice, &trap);
    used += WasmInstance::kFuelSlice;
  }
  if (r != wi::RunResult::Return) {
    if (error != nullptr) {
      if (r == wi::RunResult::Ok) {
        *error = "fuel exhausted (" + std::to_string(m.limits.fuel) + " instructions)";
      } else if (r == wi::RunResult::Trap && trap) {
        *error = "trap: " + trap->message();
      } else {
        *error = "uncaught exception";
      }
    }
    m.thread = std::make_unique<wi::Thread>(m.store);
    return false;
  }
  results->clear();
  (thread.*Get(PopValuesTag{}))(f.type().results, results);
  return true;
}

}  // namespace

WasmInstance::WasmInstance(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WasmInstance::~WasmInstance() = default;

std::unique_ptr<WasmInstance> WasmInstance::Create(const uint8_t* bytes, size_t size,
                                                   const WasmLimits& limits, std::string* error,
                                                   WasmModuleKind kind) {
  auto impl = std::make_unique<Impl>();
  impl->limits = limits;
  Impl* m = impl.get();
  wabt::Errors errors;
  wi::ModuleDesc desc;
  wabt::ReadBinaryOptions options(m->features, nullptr, false, true, true);
  if (wabt::Failed(wi::ReadBinaryInterp("predicate.wasm", bytes, size, options, &errors, &desc))) {
    *error = "invalid module";
    if (!errors.empty()) *error += ": " + errors.front().message;
    return nullptr;
  }
  for (const wi::MemoryDesc& mem : desc.memories) {
    const wabt::Limits& l = mem.type.limits;
    if (!l.has_max || l.max > limits.max_memory_pages || l.initial > limits.max_memory_pages) {
      *error = "memory must declare a maximum of at most " +
               std::to_string(limits.max_memory_pages) + " pages";
      return nullptr;
    }
  }
  if (!desc.starts.empty()) {
    // Instantiation would run it with no fuel limit; predicates have no use for one.
    *error = "a start function is not allowed";
    return nullptr;
  }
  m->module = wi::Module::New(m->store, desc);
  wi::RefVec imports;
  for (const wi::ImportDesc& import : m->module->desc().imports) {
    const wi::ImportType& type = import.type;
    std::string name = type.module + "." + type.name;
    if (type.module != "kestrel" || type.type->kind != wabt::ExternalKind::Func) {
      *error = "import " + name + " is not a Host API v1 function";
      return nullptr;
    }
    const auto* func_type = wabt::cast<wi::FuncType>(type.type.get());
    const HostFunction* host = nullptr;
    for (const HostFunction& h : HostFunctions()) {
      if (type.name == h.name) host = &h;
    }
    if (host == nullptr) {
      *error = "import " + name + " is not a Host API v1 function";
      return nullptr;
    }
    if (func_type->params != host->params || func_type->results != host->results) {
      *error = "import " + name + " has type " + TypeText(func_type->params, func_type->results) +
               ", Host API v1 declares " + TypeText(host->params, host->results);
      return nullptr;
    }
    HostCall call = host->call;
    auto fn =
        wi::HostFunc::New(m->store, wi::FuncType(host->params, host->results),
                          [m, call](wi::Thread& thread, const wi::Values& params,
                                    wi::Values& results, wi::Trap::Ptr* trap) -> wabt::Result {
                            return call(*m, thread, params, results, trap);
                          });
    imports.push_back(fn.ref());
  }
  wi::Trap::Ptr trap;
  m->instance = wi::Instance::Instantiate(m->store, m->module.ref(), imports, &trap);
  if (!m->instance) {
    *error = "instantiation failed: " + (trap ? trap->message() : std::string("unknown"));
    return nullptr;
  }
  if (!m->instance->memories().empty()) {
    m->memory = m->store.UnsafeGet<wi::Memory>(m->instance->memories()[0]);
  }
  wi::Func::Ptr version;
  const auto& exports = m->module->desc().exports;
  for (size_t i = 0; i < exports.size(); ++i) {
    wi::Ref ref = m->instance->exports()[i];
    if (exports[i].type.name == "kestrel_predicate_v1" && m->store.Is<wi::DefinedFunc>(ref)) {
      m->predicate = m->store.UnsafeGet<wi::DefinedFunc>(ref);
    } else if (exports[i].type.name == "kestrel_api_version" && m->store.Is<wi::Func>(ref)) {
      version = m->store.UnsafeGet<wi::Func>(ref);
    }
  }
  const std::vector<Type> kI32 = {Type::I32};
  if (!version || !version->type().params.empty() || version->type().results != kI32) {
    *error = "missing export kestrel_api_version () -> i32";
    return nullptr;
  }
  wi::Values results;
  m->thread = std::make_unique<wi::Thread>(m->store);
  std::string version_error;
  if (m->store.Is<wi::DefinedFunc>(version.ref())) {
    // The module's own code: run under the fuel limit like any call.
    auto defined = m->store.UnsafeGet<wi::DefinedFunc>(version.ref());
    if (!Drive(*m, *defined, {}, &results, &version_error) || results.size() != 1) {
      *error = "kestrel_api_version failed: " + version_error;
      return nullptr;
    }
  } else if (wabt::Failed(version->Call(m->store, {}, results, &trap)) || results.size() != 1) {
    *error = "kestrel_api_version trapped";
    return nullptr;
  }
  uint32_t v = results[0].Get<u32>();
  if (v != KESTREL_HOST_API_VERSION) {
    *error = "Host API version mismatch: module needs " + std::to_string(v) + ", host implements " +
             std::to_string(KESTREL_HOST_API_VERSION);
    return nullptr;
  }
  if (kind == WasmModuleKind::kPredicate && (!m->predicate || m->predicate->type().params != kI32 ||
                                             m->predicate->type().results != kI32)) {
    *error = "missing export kestrel_predicate_v1 (i32) -> i32";
    return nullptr;
  }
  m->results.reserve(1);
  return std::unique_ptr<WasmInstance>(new WasmInstance(std::move(impl)));
}

int32_t WasmInstance::Call(int32_t stage, kestrel_host_ctx* ctx, std::string* error) {
  Impl& m = *impl_;
  m.ctx = ctx;
  m.params[0] = wi::Value::Make(stage);
  bool ok = Drive(m, *m.predicate, m.params, &m.results, error);
  m.ctx = nullptr;
  if (!ok) {
    const char* message;
    uint32_t size;
    kestrel_internal_take_error(ctx, &message, &size);  // the call failed anyway
    return kError;
  }
  const char* message;
  uint32_t size;
  if (kestrel_internal_take_error(ctx, &message, &size)) {
    if (error != nullptr) *error = "reported error: " + std::string(message, size);
    return kError;
  }
  int32_t v = m.results.empty() ? KESTREL_NULL : m.results[0].Get<s32>();
  return v == 1 ? KESTREL_TRUE : v == 0 ? KESTREL_FALSE : KESTREL_NULL;
}

namespace {

Type TypeOf(char c) {
  switch (c) {
    case 'i':
      return Type::I32;
    case 'l':
      return Type::I64;
    default:
      return Type::F64;
  }
}

std::vector<Type> TypesOf(const std::string& letters) {
  std::vector<Type> out;
  for (char c : letters) out.push_back(TypeOf(c));
  return out;
}

}  // namespace

int WasmInstance::FindExport(const std::string& name, const std::string& params,
                             const std::string& results, std::string* error) {
  Impl& m = *impl_;
  const auto& exports = m.module->desc().exports;
  for (size_t i = 0; i < exports.size(); ++i) {
    if (exports[i].type.name != name) continue;
    wi::Ref ref = m.instance->exports()[i];
    if (!m.store.Is<wi::DefinedFunc>(ref)) {
      *error = "export " + name + " is not a function defined by the module";
      return -1;
    }
    auto func = m.store.UnsafeGet<wi::DefinedFunc>(ref);
    std::vector<Type> want_params = TypesOf(params), want_results = TypesOf(results);
    if (func->type().params != want_params || func->type().results != want_results) {
      *error = "export " + name + " has type " +
               TypeText(func->type().params, func->type().results) + ", expected " +
               TypeText(want_params, want_results);
      return -1;
    }
    Impl::Export e;
    e.func = func;
    e.params = params;
    e.results = results;
    e.args = wi::Values(params.size());
    m.exports.push_back(std::move(e));
    m.results.reserve(1);
    return static_cast<int>(m.exports.size() - 1);
  }
  *error = "missing export " + name;
  return -1;
}

bool WasmInstance::CallExport(int handle, const WasmScalar* args, WasmScalar* result,
                              kestrel_host_ctx* ctx, std::string* error) {
  Impl& m = *impl_;
  Impl::Export& e = m.exports[static_cast<size_t>(handle)];
  for (size_t i = 0; i < e.params.size(); ++i) {
    switch (e.params[i]) {
      case 'i':
        e.args[i] = wi::Value::Make(static_cast<s32>(args[i].i32));
        break;
      case 'l':
        e.args[i] = wi::Value::Make(static_cast<s64>(args[i].i64));
        break;
      default:
        e.args[i] = wi::Value::Make(static_cast<f64>(args[i].f64));
        break;
    }
  }
  m.ctx = ctx;
  bool ok = Drive(m, *e.func, e.args, &m.results, error);
  m.ctx = nullptr;
  const char* message = nullptr;
  uint32_t size = 0;
  bool reported = ctx != nullptr && kestrel_internal_take_error(ctx, &message, &size);
  if (!ok) return false;
  if (reported) {
    if (error != nullptr) *error = "reported error: " + std::string(message, size);
    return false;
  }
  if (!e.results.empty() && result != nullptr && !m.results.empty()) {
    switch (e.results[0]) {
      case 'i':
        result->i32 = m.results[0].Get<s32>();
        break;
      case 'l':
        result->i64 = m.results[0].Get<s64>();
        break;
      default:
        result->f64 = m.results[0].Get<f64>();
        break;
    }
  }
  return true;
}

char* WasmInstance::Memory(uint32_t offset, uint32_t size) {
  return const_cast<char*>(impl_->Bytes(offset, size));
}

}  // namespace kestrel::runtime
