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

namespace {

absl::Status Usage(std::string message) { return absl::InvalidArgumentError(std::move(message)); }
absl::Status Failure(std::string message) { return absl::InternalError(std::move(message)); }

// The options that need no file: target, dialect, output, --aot, --predicate RULE_ID=FILE (the
// custom predicates, by rule id, into *custom).
absl::Status CheckOptions(const PackageCompileOptions& options,
                          absl::flat_hash_map<std::string, std::string>* custom) {
  if (options.target != "ir" && options.target != "lua" && options.target != "wasm") {
    return Usage(fmt::format("--target takes ir, lua or wasm, not '{}'", options.target));
  }
  if (options.dialect != "elasticsearch" && options.dialect != "endgame") {
    return Usage(
        fmt::format("unknown dialect '{}' (expected elasticsearch or endgame)", options.dialect));
  }
  std::error_code ec;
  if (fs::exists(options.output) && !fs::is_empty(options.output, ec)) {
    return Usage(fmt::format("{} exists and is not empty", options.output));
  }
  if (options.aot && (options.target != "wasm" || !options.predicates.empty())) {
    return Usage("--aot applies to --target wasm, without --predicate");
  }
  if (options.aot && !runtime::AotAvailable()) {
    return Failure("--aot needs wasm2c (Debian wabt) and a C compiler (cc)");
  }
  for (const std::string& p : options.predicates) {
    size_t eq = p.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == p.size()) {
      return Usage(fmt::format("--predicate takes RULE_ID=FILE, not '{}'", p));
    }
    std::string file = p.substr(eq + 1);
    if (options.target == "ir" || fs::path(file).extension() != Extension(options.target)) {
      return Usage(fmt::format("--predicate {}: a {} target takes a {} file", p, options.target,
                               options.target == "ir" ? "lua or wasm" : Extension(options.target)));
    }
    (*custom)[p.substr(0, eq)] = file;
  }
  if (!options.declared_functions.empty() && options.functions.empty()) {
    return Usage("--function declares a function of a --functions module");
  }
  return absl::OkStatus();
}

// Writes one package: the rule files, one predicate per rule, the functions, the manifest.
class PackageWriter {
 public:
  PackageWriter(const PackageCompileOptions& options, const schema::Schema& schema,
                absl::flat_hash_map<std::string, std::string> custom)
      : options_(options), out_(options.output), schema_(schema), custom_(std::move(custom)) {}

  absl::Status Write(const rules::RuleSetBuild& build, const runtime::FunctionModule* functions) {
    std::error_code ec;
    fs::create_directories(out_ / "rules", ec);
    fs::create_directories(out_ / "predicates", ec);
    if (ec) return Failure(fmt::format("cannot create {}: {}", options_.output, ec.message()));
    for (size_t i = 0; i < build.rules.size(); ++i) {
      if (absl::Status s = AddRule(i, build.rules[i]); !s.ok()) return s;
    }
    if (!custom_.empty()) {
      return Usage(fmt::format("--predicate names rule '{}', which is not among the rules",
                               custom_.begin()->first));
    }
    json manifest;
    manifest["format"] = pipeline::kPackageFormat;
    manifest["format_version"] = pipeline::kPackageFormatVersion;
    manifest["kestrel_version"] = options_.kestrel_version;
    manifest["host_api_version"] = KESTREL_HOST_API_VERSION;
    manifest["target"] = options_.target;
    manifest["dialect"] = options_.dialect;
    if (functions != nullptr) {
      std::string rel =
          fmt::format("functions/functions.{}", runtime::FunctionModuleKindName(functions->kind()));
      fs::create_directories(out_ / "functions", ec);
      if (ec || !WriteFile(out_ / rel, functions->bytes()).ok()) {
        return Failure(fmt::format("cannot write {}", rel));
      }
      manifest["functions"] = {{"path", rel},
                               {"kind", runtime::FunctionModuleKindName(functions->kind())},
                               {"sha256", pipeline::PackageSha256(functions->bytes())},
                               {"source", options_.functions},
                               {"declarations", functions->Declarations()}};
    }
    manifest["files"] = files_;
    manifest["rules"] = rules_;
    manifest["fields"] = DynamicFields(schema_);
    if (!WriteFile(out_ / "manifest.json", manifest.dump(2) + "\n").ok()) {
      return Failure("cannot write the manifest");
    }
    return absl::OkStatus();
  }
  size_t rules() const { return rules_.size(); }

 private:
  // rules/NNNN/<file name>: load order by directory, the file name (which .eql rules take their
  // id from) unchanged. Returns the package path of the rule's source file.
  absl::StatusOr<std::string> CopySource(const std::string& file) {
    auto it = copied_.find(file);
    if (it != copied_.end()) return it->second;
    std::string rel =
        fmt::format("rules/{:04}/{}", copied_.size(), fs::path(file).filename().string());
    auto bytes = pipeline::ReadPackageFile(file);
    std::error_code ec;
    fs::create_directories((out_ / rel).parent_path(), ec);
    if (!bytes.ok() || ec || !WriteFile(out_ / rel, *bytes).ok()) {
      return Failure(fmt::format("cannot copy {}", file));
    }
    files_.push_back(
        {{"path", rel}, {"sha256", pipeline::PackageSha256(*bytes)}, {"source", file}});
    return copied_.emplace(file, rel).first->second;
  }

  absl::Status AddRule(size_t i, const rules::CompiledRule& rule) {
    auto source = CopySource(rule.spec.file);
    if (!source.ok()) return source.status();
    std::string predicate;
    auto user = custom_.find(rule.spec.id);
    if (user != custom_.end()) {
      auto bytes = pipeline::ReadPackageFile(user->second);
      if (!bytes.ok())
        return Failure(fmt::format("--predicate: {}", base::Message(bytes.status())));
      predicate = std::move(*bytes);
      custom_.erase(user);
    } else {
      predicate = Predicate(*rule.program, schema_, options_.target);
    }
    std::string rel = fmt::format("predicates/{:04}{}", i, Extension(options_.target));
    if (!WriteFile(out_ / rel, predicate).ok()) return Failure(fmt::format("cannot write {}", rel));
    json tags = rule.spec.tags;
    rules_.push_back({{"id", rule.spec.id},
                      {"name", rule.spec.name},
                      {"description", rule.spec.description},
                      {"risk_score", rule.spec.risk_score},
                      {"tags", tags},
                      {"file", *source},
                      {"predicate", rel},
                      {"sha256", pipeline::PackageSha256(predicate)}});
    if (!options_.aot) return absl::OkStatus();
    std::string so = fmt::format("predicates/{:04}.so", i);
    if (absl::Status st = runtime::CompileAot(predicate, (out_ / so).string()); !st.ok()) {
      return Failure(fmt::format("{}: {}", rule.spec.id, base::Message(st)));
    }
    auto bytes = pipeline::ReadPackageFile(out_ / so);
    if (!bytes.ok()) return Failure(std::string(base::Message(bytes.status())));
    rules_.back()["aot"] = {{"path", so}, {"sha256", pipeline::PackageSha256(*bytes)}};
    return absl::OkStatus();
  }

  const PackageCompileOptions& options_;
  fs::path out_;
  const schema::Schema& schema_;
  absl::flat_hash_map<std::string, std::string> custom_;  // rule id -> predicate file
  absl::flat_hash_map<std::string, std::string> copied_;  // source file -> package path
  json files_ = json::array(), rules_ = json::array();
};

absl::Status CompilePackage(const PackageCompileOptions& options, size_t* rules_written) {
  absl::flat_hash_map<std::string, std::string> custom;
  if (absl::Status s = CheckOptions(options, &custom); !s.ok()) return s;
  std::unique_ptr<runtime::FunctionModule> functions;
  rules::RuleSetOptions set_options = SetOptions(options.dialect);
  if (!options.functions.empty()) {
    auto loaded = pipeline::LoadFunctionModule(options.functions, options.declared_functions);
    if (!loaded.ok())
      return Failure(fmt::format("--functions: {}", base::Message(loaded.status())));
    functions = std::move(*loaded);
    set_options.functions = &functions->signatures();
  }
  schema::Schema schema;
  rules::RuleSetBuild build = rules::BuildRuleSet(options.inputs, schema, set_options);
  for (const std::string& m : build.messages) fmt::print(stderr, "{}", m);
  if (build.failed > 0) return Failure(fmt::format("{}; no package written", build.Summary()));
  PackageWriter writer(options, schema, std::move(custom));
  if (absl::Status s = writer.Write(build, functions.get()); !s.ok()) return s;
  *rules_written = writer.rules();
  return absl::OkStatus();
}

}  // namespace

int CompilePackageCommand(const PackageCompileOptions& options) {
  size_t rules = 0;
  absl::Status s = CompilePackage(options, &rules);
  if (!s.ok()) {
    fmt::print(stderr, "error: {}\n", base::Message(s));
    return ExitCode(s);
  }
  fmt::print(stderr, "{}: {} rules, target {}, Host API v{}\n", options.output, rules,
             options.target, KESTREL_HOST_API_VERSION);
  return kExitOk;
}

}  // namespace kestrel::cli
