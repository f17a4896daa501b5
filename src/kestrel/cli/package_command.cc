// `kestrel compile --target`; see package_command.h.
#include "kestrel/cli/package_command.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "absl/container/flat_hash_map.h"
#include "kestrel/base/status.h"
#include "kestrel/cli/run_command.h"
#include "kestrel/eql/ir.h"
#include "kestrel/host_api_v1.h"
#include "kestrel/pipeline/predicate_runtime_option.h"
#include "kestrel/pipeline/rule_package.h"
#include "kestrel/runtime/lua/lua_codegen.h"
#include "kestrel/runtime/wasm/aot.h"
#include "kestrel/runtime/wasm/wasm_codegen.h"

namespace kestrel::cli {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

absl::Status WriteFile(const fs::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) return absl::InternalError(fmt::format("cannot write {}", path.string()));
  return absl::OkStatus();
}

std::string_view Extension(std::string_view target) {
  return target == "lua" ? ".lua" : target == "wasm" ? ".wasm" : ".ir";
}

// The compiled predicate of one rule for `target`.
std::string Predicate(const eql::IrProgram& program, const schema::Schema& schema,
                      std::string_view target) {
  if (target == "lua") return runtime::GenerateLua(program).source;
  if (target == "wasm") {
    runtime::WasmModuleCode code = runtime::GenerateWasm(program);
    return std::string(code.bytes.begin(), code.bytes.end());
  }
  return eql::DumpIr(program, schema) + "\n";
}

// Schema fields beyond the compiled-in catalogue: name -> id.
json DynamicFields(const schema::Schema& schema) {
  json fields = json::object();
  schema::Schema fresh;
  for (size_t id = fresh.field_count(); id < schema.field_count(); ++id) {
    fields[std::string(schema.Info(schema::FieldId{static_cast<uint32_t>(id)}).name)] = id;
  }
  return fields;
}

rules::RuleSetOptions SetOptions(const std::string& dialect) {
  rules::RuleSetOptions options;
  options.default_dialect =
      dialect == "endgame" ? rules::RuleDialect::kEndgame : rules::RuleDialect::kElasticsearch;
  return options;
}

}  // namespace

int CompilePackageCommand(const PackageCompileOptions& options) {
  if (options.target != "ir" && options.target != "lua" && options.target != "wasm") {
    fmt::print(stderr, "error: --target takes ir, lua or wasm, not '{}'\n", options.target);
    return kExitUsage;
  }
  if (options.dialect != "elasticsearch" && options.dialect != "endgame") {
    fmt::print(stderr, "error: unknown dialect '{}' (expected elasticsearch or endgame)\n",
               options.dialect);
    return kExitUsage;
  }
  std::error_code ec;
  fs::path out(options.output);
  if (fs::exists(out) && !fs::is_empty(out, ec)) {
    fmt::print(stderr, "error: {} exists and is not empty\n", options.output);
    return kExitUsage;
  }
  if (options.aot && (options.target != "wasm" || !options.predicates.empty())) {
    fmt::print(stderr, "error: --aot applies to --target wasm, without --predicate\n");
    return kExitUsage;
  }
  if (options.aot && !runtime::AotAvailable()) {
    fmt::print(stderr, "error: --aot needs wasm2c (Debian wabt) and a C compiler (cc)\n");
    return kExitFailure;
  }
  absl::flat_hash_map<std::string, std::string> custom;  // rule id -> predicate file
  for (const std::string& p : options.predicates) {
    size_t eq = p.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == p.size()) {
      fmt::print(stderr, "error: --predicate takes RULE_ID=FILE, not '{}'\n", p);
      return kExitUsage;
    }
    std::string file = p.substr(eq + 1);
    if (options.target == "ir" || fs::path(file).extension() != Extension(options.target)) {
      fmt::print(stderr, "error: --predicate {}: a {} target takes a {} file\n", p, options.target,
                 options.target == "ir" ? "lua or wasm" : Extension(options.target));
      return kExitUsage;
    }
    custom[p.substr(0, eq)] = file;
  }
  std::unique_ptr<runtime::FunctionModule> functions;
  rules::RuleSetOptions set_options = SetOptions(options.dialect);
  if (!options.declared_functions.empty() && options.functions.empty()) {
    fmt::print(stderr, "error: --function declares a function of a --functions module\n");
    return kExitUsage;
  }
  if (!options.functions.empty()) {
    auto loaded = pipeline::LoadFunctionModule(options.functions, options.declared_functions);
    if (!loaded.ok()) {
      fmt::print(stderr, "error: --functions: {}\n", base::Message(loaded.status()));
      return kExitFailure;
    }
    functions = std::move(*loaded);
    set_options.functions = &functions->signatures();
  }
  schema::Schema schema;
  rules::RuleSetBuild build = rules::BuildRuleSet(options.inputs, schema, set_options);
  for (const std::string& m : build.messages) fmt::print(stderr, "{}", m);
  if (build.failed > 0) {
    fmt::print(stderr, "error: {}; no package written\n", build.Summary());
    return kExitFailure;
  }
  fs::create_directories(out / "rules", ec);
  fs::create_directories(out / "predicates", ec);
  if (ec) {
    fmt::print(stderr, "error: cannot create {}: {}\n", options.output, ec.message());
    return kExitFailure;
  }
  json manifest;
  manifest["format"] = pipeline::kPackageFormat;
  manifest["format_version"] = pipeline::kPackageFormatVersion;
  manifest["kestrel_version"] = options.kestrel_version;
  manifest["host_api_version"] = KESTREL_HOST_API_VERSION;
  manifest["target"] = options.target;
  manifest["dialect"] = options.dialect;
  json files = json::array(), rules = json::array();
  absl::flat_hash_map<std::string, std::string> copied;  // source file -> package path
  for (size_t i = 0; i < build.rules.size(); ++i) {
    const rules::CompiledRule& rule = build.rules[i];
    auto it = copied.find(rule.spec.file);
    if (it == copied.end()) {
      // rules/NNNN/<file name>: load order by directory, the file name (which .eql rules take
      // their id from) unchanged.
      std::string rel = fmt::format("rules/{:04}/{}", copied.size(),
                                    fs::path(rule.spec.file).filename().string());
      auto bytes = pipeline::ReadPackageFile(rule.spec.file);
      fs::create_directories((out / rel).parent_path(), ec);
      if (!bytes.ok() || ec || !WriteFile(out / rel, *bytes).ok()) {
        fmt::print(stderr, "error: cannot copy {}\n", rule.spec.file);
        return kExitFailure;
      }
      files.push_back(
          {{"path", rel}, {"sha256", pipeline::PackageSha256(*bytes)}, {"source", rule.spec.file}});
      it = copied.emplace(rule.spec.file, rel).first;
    }
    std::string predicate;
    auto user = custom.find(rule.spec.id);
    if (user != custom.end()) {
      auto bytes = pipeline::ReadPackageFile(user->second);
      if (!bytes.ok()) {
        fmt::print(stderr, "error: --predicate: {}\n", base::Message(bytes.status()));
        return kExitFailure;
      }
      predicate = std::move(*bytes);
      custom.erase(user);
    } else {
      predicate = Predicate(*rule.program, schema, options.target);
    }
    std::string rel = fmt::format("predicates/{:04}{}", i, Extension(options.target));
    if (!WriteFile(out / rel, predicate).ok()) {
      fmt::print(stderr, "error: cannot write {}\n", rel);
      return kExitFailure;
    }
    json aot;
    if (options.aot) {
      std::string so = fmt::format("predicates/{:04}.so", i);
      if (absl::Status st = runtime::CompileAot(predicate, (out / so).string()); !st.ok()) {
        fmt::print(stderr, "error: {}: {}\n", rule.spec.id, base::Message(st));
        return kExitFailure;
      }
      auto bytes = pipeline::ReadPackageFile(out / so);
      if (!bytes.ok()) {
        fmt::print(stderr, "error: {}\n", base::Message(bytes.status()));
        return kExitFailure;
      }
      aot = {{"path", so}, {"sha256", pipeline::PackageSha256(*bytes)}};
    }
    json tags = rule.spec.tags;
    rules.push_back({{"id", rule.spec.id},
                     {"name", rule.spec.name},
                     {"description", rule.spec.description},
                     {"risk_score", rule.spec.risk_score},
                     {"tags", tags},
                     {"file", it->second},
                     {"predicate", rel},
                     {"sha256", pipeline::PackageSha256(predicate)}});
    if (options.aot) rules.back()["aot"] = aot;
  }
  if (!custom.empty()) {
    fmt::print(stderr, "error: --predicate names rule '{}', which is not among the rules\n",
               custom.begin()->first);
    return kExitUsage;
  }
  if (functions != nullptr) {
    std::string rel =
        fmt::format("functions/functions.{}", runtime::FunctionModuleKindName(functions->kind()));
    fs::create_directories(out / "functions", ec);
    if (ec || !WriteFile(out / rel, functions->bytes()).ok()) {
      fmt::print(stderr, "error: cannot write {}\n", rel);
      return kExitFailure;
    }
    manifest["functions"] = {{"path", rel},
                             {"kind", runtime::FunctionModuleKindName(functions->kind())},
                             {"sha256", pipeline::PackageSha256(functions->bytes())},
                             {"source", options.functions},
                             {"declarations", functions->Declarations()}};
  }
  manifest["files"] = files;
  manifest["rules"] = rules;
  manifest["fields"] = DynamicFields(schema);
  if (!WriteFile(out / "manifest.json", manifest.dump(2) + "\n").ok()) {
    fmt::print(stderr, "error: cannot write the manifest\n");
    return kExitFailure;
  }
  fmt::print(stderr, "{}: {} rules, target {}, Host API v{}\n", options.output, rules.size(),
             options.target, KESTREL_HOST_API_VERSION);
  return kExitOk;
}

}  // namespace kestrel::cli
