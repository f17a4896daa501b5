// FunctionModule; see function_module.h.
#include "kestrel/runtime/function_module.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "kestrel/base/status.h"
#include "kestrel/runtime/lua/lua_functions.h"
#ifdef KESTREL_HAVE_WASM
#include "kestrel/runtime/wasm/wasm_functions.h"
#endif

namespace kestrel::runtime {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IsIdentifier(std::string_view s) {
  if (s.empty() || !(absl::ascii_isalpha(s[0]) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return absl::ascii_isalnum(c) || c == '_'; });
}

std::string_view TypeName(eql::IrType t) {
  switch (t) {
    case eql::IrType::kString:
      return "string";
    case eql::IrType::kNumber:
      return "number";
    case eql::IrType::kBool:
      return "bool";
    default:
      return "any";
  }
}

}  // namespace

std::optional<FunctionModuleKind> FunctionModuleKindOf(std::string_view path) {
  if (path.ends_with(".lua")) return FunctionModuleKind::kLua;
  if (path.ends_with(".wasm")) return FunctionModuleKind::kWasm;
  return std::nullopt;
}

std::string_view FunctionModuleKindName(FunctionModuleKind kind) {
  return kind == FunctionModuleKind::kLua ? "lua" : "wasm";
}

absl::StatusOr<eql::IrType> ParseFunctionType(std::string_view t) {
  if (t == "string") return eql::IrType::kString;
  if (t == "number") return eql::IrType::kNumber;
  if (t == "bool" || t == "boolean") return eql::IrType::kBool;
  if (t == "any") return eql::IrType::kAny;
  return absl::InvalidArgumentError(
      fmt::format("unknown type '{}' (expected string, number, bool or any)", t));
}

absl::StatusOr<eql::CustomFunction> ParseFunctionDeclaration(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(fmt::format(
        "bad function declaration '{}': {} (expected name(type, ...) -> type)", text, why));
  };
  size_t open = text.find('('), close = text.find(')'), arrow = text.find("->");
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    return bad("no parameter list");
  }
  if (arrow == std::string_view::npos || arrow < close) return bad("no '-> type'");
  eql::CustomFunction f;
  f.name = std::string(Trim(text.substr(0, open)));
  if (!IsIdentifier(f.name)) return bad("the name is not an identifier");
  std::string_view list = Trim(text.substr(open + 1, close - open - 1));
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = Trim(list.substr(0, comma));
    auto t = ParseFunctionType(item);
    if (!t.ok()) return bad(base::Message(t.status()));
    f.params.push_back(*t);
    if (comma == std::string_view::npos) break;
    list = list.substr(comma + 1);
    if (Trim(list).empty()) return bad("a trailing comma");
  }
  if (!Trim(text.substr(close + 1, arrow - close - 1)).empty()) return bad("text before '->'");
  auto r = ParseFunctionType(Trim(text.substr(arrow + 2)));
  if (!r.ok()) return bad(base::Message(r.status()));
  f.result = *r;
  return f;
}

std::string FormatFunctionDeclaration(const eql::CustomFunction& f) {
  std::string out = f.name + "(";
  for (size_t i = 0; i < f.params.size(); ++i) {
    out += fmt::format("{}{}", i ? ", " : "", TypeName(f.params[i]));
  }
  return fmt::format("{}) -> {}", out, TypeName(f.result));
}

absl::StatusOr<std::unique_ptr<FunctionModule>> FunctionModule::Load(
    FunctionModuleKind kind, std::string bytes, std::string name,
    const std::vector<std::string>& declared) {
  std::unique_ptr<FunctionModule> m(new FunctionModule());
  m->kind_ = kind;
  m->name_ = std::move(name);
  m->bytes_ = std::move(bytes);
  std::vector<eql::CustomFunction> declarations;
  for (const std::string& d : declared) {
    auto f = ParseFunctionDeclaration(d);
    if (!f.ok())
      return absl::InvalidArgumentError(fmt::format("{}: {}", m->name_, base::Message(f.status())));
    for (const eql::CustomFunction& g : declarations) {
      if (g.name == f->name) {
        return absl::InvalidArgumentError(
            fmt::format("{}: function {} is declared twice", m->name_, f->name));
      }
    }
    declarations.push_back(std::move(*f));
  }
  std::sort(declarations.begin(), declarations.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  if (kind == FunctionModuleKind::kLua) {
    auto lua = LuaFunctions::Load(m->bytes_, m->name_);
    if (!lua.ok()) return lua.status();
    m->signatures_ = (*lua)->signatures();
    if (!declared.empty()) {
      std::vector<std::string> want, have;
      for (const auto& f : declarations) want.push_back(FormatFunctionDeclaration(f));
      for (const auto& f : m->signatures_) have.push_back(FormatFunctionDeclaration(f));
      if (want != have) {
        return absl::InvalidArgumentError(
            fmt::format("{}: the module declares {}, the manifest {}", m->name_,
                        have.empty() ? "no function" : fmt::format("{}", fmt::join(have, "; ")),
                        want.empty() ? "none" : fmt::format("{}", fmt::join(want, "; "))));
      }
    }
    return m;
  }
#ifdef KESTREL_HAVE_WASM
  if (declarations.empty()) {
    return absl::InvalidArgumentError(fmt::format(
        "{}: a Wasm function module needs its functions declared (--function 'name(type, ...) -> "
        "type')",
        m->name_));
  }
  m->signatures_ = std::move(declarations);
  auto wasm = WasmFunctions::Load(m->bytes_, m->name_, m->signatures_);
  if (!wasm.ok()) return wasm.status();
  return m;
#else
  return absl::UnimplementedError(
      fmt::format("{}: this kestrel was built without wabt: no Wasm functions", m->name_));
#endif
}

std::vector<std::string> FunctionModule::Declarations() const {
  std::vector<std::string> out;
  for (const eql::CustomFunction& f : signatures_) out.push_back(FormatFunctionDeclaration(f));
  return out;
}

absl::StatusOr<std::unique_ptr<engine::FunctionRuntime>> FunctionModule::NewInstance(
    ErrorLogger logger) const {
  if (kind_ == FunctionModuleKind::kLua) {
    auto lua = LuaFunctions::Load(bytes_, name_, {}, std::move(logger));
    if (!lua.ok()) return lua.status();
    return std::unique_ptr<engine::FunctionRuntime>(std::move(*lua));
  }
#ifdef KESTREL_HAVE_WASM
  auto wasm = WasmFunctions::Load(bytes_, name_, signatures_, {}, std::move(logger));
  if (!wasm.ok()) return wasm.status();
  return std::unique_ptr<engine::FunctionRuntime>(std::move(*wasm));
#else
  return absl::UnimplementedError("no Wasm runtime in this build");
#endif
}

}  // namespace kestrel::runtime
