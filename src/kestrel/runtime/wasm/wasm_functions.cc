// WasmFunctions; see wasm_functions.h.
#include "kestrel/runtime/wasm/wasm_functions.h"

#include <cmath>
#include <cstring>

#include "fmt/format.h"
#include "kestrel/base/status.h"

namespace kestrel::runtime {
namespace {

using event::Value;
using event::ValueKind;

// The wasm parameter letters of a signature ('i' i32, 'l' i64, 'd' f64), or an error.
absl::StatusOr<std::string> WasmParams(const eql::CustomFunction& f) {
  std::string out;
  for (eql::IrType t : f.params) {
    switch (t) {
      case eql::IrType::kString:
        out += "ii";
        break;
      case eql::IrType::kNumber:
        out += "d";
        break;
      case eql::IrType::kBool:
        out += "i";
        break;
      default:
        return absl::InvalidArgumentError(
            fmt::format("function {}: a Wasm function's parameters are string, number or bool, "
                        "not {}",
                        f.name, eql::IrTypeName(t)));
    }
  }
  return out;
}

absl::StatusOr<std::string> WasmResult(const eql::CustomFunction& f) {
  switch (f.result) {
    case eql::IrType::kString:
      return std::string("l");
    case eql::IrType::kNumber:
      return std::string("d");
    case eql::IrType::kBool:
      return std::string("i");
    default:
      return absl::InvalidArgumentError(
          fmt::format("function {}: a Wasm function returns string, number or bool, not {}", f.name,
                      eql::IrTypeName(f.result)));
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<WasmFunctions>> WasmFunctions::Load(
    std::string_view bytes, std::string_view name,
    const std::vector<eql::CustomFunction>& signatures, const WasmLimits& limits,
    ErrorLogger logger) {
  std::string error;
  auto instance = WasmInstance::Create(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                                       limits, &error, WasmModuleKind::kFunctions);
  if (instance == nullptr) return absl::InvalidArgumentError(fmt::format("{}: {}", name, error));
  auto out = std::unique_ptr<WasmFunctions>(
      new WasmFunctions(std::move(instance), std::string(name), std::move(logger)));
  bool strings = false;
  for (const eql::CustomFunction& f : signatures) {
    if (f.params.size() > kMaxArgs) {
      return absl::InvalidArgumentError(
          fmt::format("{}: function {}: more than {} parameters", name, f.name, kMaxArgs));
    }
    auto params = WasmParams(f);
    if (!params.ok())
      return absl::InvalidArgumentError(
          fmt::format("{}: {}", name, base::Message(params.status())));
    auto result = WasmResult(f);
    if (!result.ok())
      return absl::InvalidArgumentError(
          fmt::format("{}: {}", name, base::Message(result.status())));
    int handle = out->instance_->FindExport("kestrel_fn_" + f.name, *params, *result, &error);
    if (handle < 0) {
      return absl::InvalidArgumentError(fmt::format("{}: function {}: {}", name, f.name, error));
    }
    for (eql::IrType t : f.params) strings |= t == eql::IrType::kString;
    out->functions_.push_back({f, handle});
  }
  if (strings) {
    out->scratch_ = out->instance_->FindExport("kestrel_scratch", "i", "i", &error);
    if (out->scratch_ < 0) {
      return absl::InvalidArgumentError(fmt::format(
          "{}: functions take strings, so the module must export kestrel_scratch (i32) -> i32: {}",
          name, error));
    }
  }
  return out;
}

Value WasmFunctions::Call(const eql::IrNode& node, std::span<const Value> args,
                          const eql::EvalContext& ctx) {
  if (node.custom >= functions_.size()) return Value::Null();
  const Function& f = functions_[node.custom];
  const std::vector<eql::IrType>& params = f.signature.params;
  if (args.size() != params.size()) return Value::Null();
  uint64_t total = 0;
  for (size_t i = 0; i < args.size(); ++i) {
    const Value& v = args[i];
    if (v.is_null()) return Value::Null();
    switch (params[i]) {
      case eql::IrType::kString:
        if (v.kind() != ValueKind::kString) return Value::Null();
        total += v.as_string().size();
        break;
      case eql::IrType::kNumber:
        if (v.kind() != ValueKind::kInt && v.kind() != ValueKind::kUint &&
            v.kind() != ValueKind::kDouble) {
          return Value::Null();
        }
        break;
      default:
        if (v.kind() != ValueKind::kBool) return Value::Null();
        break;
    }
  }
  host_.eval = &ctx;
  host_.nodes = {};
  auto fail = [&](std::string_view what) {
    host_.eval = nullptr;
    errors_.Record("wasm function " + f.signature.name, what);
    return Value::Null();
  };
  WasmScalar wasm_args[2 * kMaxArgs];
  uint32_t offset = 0;
  char* buffer = nullptr;
  if (total > 0) {
    if (total > UINT32_MAX / 2) return fail("string arguments too long");
    WasmScalar size{.i32 = static_cast<int32_t>(total)};
    WasmScalar at{.i32 = -1};
    if (!instance_->CallExport(scratch_, &size, &at, &host_, &error_)) {
      return fail("kestrel_scratch: " + error_);
    }
    offset = static_cast<uint32_t>(at.i32);
    buffer = at.i32 < 0 ? nullptr : instance_->Memory(offset, static_cast<uint32_t>(total));
    if (buffer == nullptr) return fail("kestrel_scratch returned a buffer outside the memory");
  }
  size_t n = 0;
  for (size_t i = 0; i < args.size(); ++i) {
    const Value& v = args[i];
    switch (params[i]) {
      case eql::IrType::kString: {
        std::string_view s = v.as_string();
        if (!s.empty()) std::memcpy(buffer, s.data(), s.size());
        wasm_args[n++].i32 = static_cast<int32_t>(offset);
        wasm_args[n++].i32 = static_cast<int32_t>(s.size());
        buffer += s.size();
        offset += static_cast<uint32_t>(s.size());
        break;
      }
      case eql::IrType::kNumber:
        wasm_args[n++].f64 = v.kind() == ValueKind::kInt    ? static_cast<double>(v.as_int())
                             : v.kind() == ValueKind::kUint ? static_cast<double>(v.as_uint())
                                                            : v.as_double();
        break;
      default:
        wasm_args[n++].i32 = v.as_bool() ? 1 : 0;
        break;
    }
  }
  WasmScalar result{.i64 = 0};
  if (!instance_->CallExport(f.handle, wasm_args, &result, &host_, &error_)) return fail(error_);
  host_.eval = nullptr;
  switch (f.signature.result) {
    case eql::IrType::kBool:
      return result.i32 == 1   ? Value::Bool(true)
             : result.i32 == 0 ? Value::Bool(false)
                               : Value::Null();
    case eql::IrType::kNumber: {
      double d = result.f64;
      if (std::isnan(d)) return Value::Null();
      if (d == std::trunc(d) && d > -9.2e18 && d < 9.2e18)
        return Value::Int(static_cast<int64_t>(d));
      return Value::Double(d);
    }
    default: {
      if (result.i64 < 0) return Value::Null();
      auto at = static_cast<uint32_t>(static_cast<uint64_t>(result.i64) >> 32);
      auto size = static_cast<uint32_t>(result.i64 & 0xffffffff);
      const char* bytes = instance_->Memory(at, size);
      if (bytes == nullptr) {
        errors_.Record("wasm function " + f.signature.name, "returned a string outside the memory");
        return Value::Null();
      }
      base::StringArena* arena = ctx.scratch != nullptr ? ctx.scratch : &fallback_arena_;
      return Value::String(arena->Copy(std::string_view(bytes, size)));
    }
  }
}

}  // namespace kestrel::runtime
