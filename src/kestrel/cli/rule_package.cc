// Rule packages; see rule_package.h.
#include "kestrel/cli/rule_package.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/container/flat_hash_map.h"
#include "kestrel/base/status.h"
#include "kestrel/cli/predicate_runtime_option.h"
#include "kestrel/cli/run_command.h"
#include "kestrel/eql/ir.h"
#include "kestrel/host_api_v1.h"
#include "kestrel/runtime/lua/lua_codegen.h"
#include "kestrel/runtime/lua/lua_predicates.h"
#include "kestrel/runtime/wasm/aot.h"
#include "kestrel/runtime/wasm/wasm_codegen.h"
#ifdef KESTREL_HAVE_WASM
#include "kestrel/runtime/wasm/wasm_predicates.h"
#endif

namespace kestrel::cli {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr char kFormat[] = "kestrel-rule-package";
constexpr int kFormatVersion = 1;

std::string Sha256(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &size, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < size; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

absl::StatusOr<std::string> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(fmt::format("cannot read {}", path.string()));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

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
    auto loaded = LoadFunctionModule(options.functions, options.declared_functions);
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
  manifest["format"] = kFormat;
  manifest["format_version"] = kFormatVersion;
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
      auto bytes = ReadFile(rule.spec.file);
      fs::create_directories((out / rel).parent_path(), ec);
      if (!bytes.ok() || ec || !WriteFile(out / rel, *bytes).ok()) {
        fmt::print(stderr, "error: cannot copy {}\n", rule.spec.file);
        return kExitFailure;
      }
      files.push_back({{"path", rel}, {"sha256", Sha256(*bytes)}, {"source", rule.spec.file}});
      it = copied.emplace(rule.spec.file, rel).first;
    }
    std::string predicate;
    auto user = custom.find(rule.spec.id);
    if (user != custom.end()) {
      auto bytes = ReadFile(user->second);
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
      auto bytes = ReadFile(out / so);
      if (!bytes.ok()) {
        fmt::print(stderr, "error: {}\n", base::Message(bytes.status()));
        return kExitFailure;
      }
      aot = {{"path", so}, {"sha256", Sha256(*bytes)}};
    }
    json tags = rule.spec.tags;
    rules.push_back({{"id", rule.spec.id},
                     {"name", rule.spec.name},
                     {"description", rule.spec.description},
                     {"risk_score", rule.spec.risk_score},
                     {"tags", tags},
                     {"file", it->second},
                     {"predicate", rel},
                     {"sha256", Sha256(predicate)}});
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
                             {"sha256", Sha256(functions->bytes())},
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

bool IsRulePackage(const std::string& dir) {
  std::error_code ec;
  return fs::is_regular_file(fs::path(dir) / "manifest.json", ec);
}

namespace {

class Package;

// The predicates of a package for one thread: its own Lua state, Wasm instances or AOT objects.
class PackageRuntime : public engine::PredicateRuntime {
 public:
  explicit PackageRuntime(const Package& package) : package_(package) {}
  absl::StatusOr<std::unique_ptr<engine::RulePredicates>> Compile(
      const eql::IrProgram& program) override;

  std::unique_ptr<runtime::LuaPredicateRuntime> lua;
  std::unique_ptr<runtime::AotPredicateRuntime> aot;
#ifdef KESTREL_HAVE_WASM
  std::unique_ptr<runtime::WasmPredicateRuntime> wasm;
#endif

 private:
  const Package& package_;
};

class Package : public OpenedPackage {
 public:
  const std::string& rules_dir() const override { return rules_dir_; }
  const std::string& target() const override { return target_; }
  const std::string& dialect() const override { return dialect_; }
  const runtime::FunctionModule* functions() const override { return functions_.get(); }

  absl::Status Bind(const rules::RuleSetBuild& build, const schema::Schema& schema) override {
    if (build.rules.size() != rules_.size() || build.failed > 0) {
      return absl::FailedPreconditionError(
          fmt::format("package {}: {} rules in the manifest, {} recompiled ({} failed)", dir_,
                      rules_.size(), build.rules.size(), build.failed));
    }
    // The package's dynamic field ids -> this schema's (they differ when fields were interned
    // in another order, e.g. by the event source before the rules).
    fields_map_.base = static_cast<uint32_t>(schema::Schema().field_count());
    fields_map_.map.clear();
    for (const auto& [name, id] : fields_) {
      auto found = schema.Find(name);
      if (!found || id < fields_map_.base || id - fields_map_.base > schema::Schema::kMaxFields) {
        return absl::FailedPreconditionError(
            fmt::format("package {}: field {} (id {}) is unknown here", dir_, name, id));
      }
      size_t i = id - fields_map_.base;
      if (i >= fields_map_.map.size()) fields_map_.map.resize(i + 1, UINT32_MAX);
      fields_map_.map[i] = found->value;
    }
    by_program_.clear();
    for (size_t i = 0; i < rules_.size(); ++i) {
      const rules::CompiledRule& rule = build.rules[i];
      if (rule.spec.id != rules_[i].id) {
        return absl::FailedPreconditionError(
            fmt::format("package {}: rule {} is '{}' in the manifest, '{}' in its sources", dir_, i,
                        rules_[i].id, rule.spec.id));
      }
      if (target_ == "ir" && eql::DumpIr(*rule.program, schema) + "\n" != rules_[i].predicate) {
        return absl::FailedPreconditionError(
            fmt::format("package {}: rule '{}' compiles to a different IR than the package's", dir_,
                        rule.spec.id));
      }
      by_program_[rule.program.get()] = i;
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::unique_ptr<engine::PredicateRuntime>> NewRuntime() const override {
    if (target_ == "ir") return nullptr;
    auto out = std::make_unique<PackageRuntime>(*this);
    bool aot = !rules_.empty() && !rules_[0].aot.empty();
    if (aot) {
      out->aot = std::make_unique<runtime::AotPredicateRuntime>();
    } else if (target_ == "lua") {
      auto lua = runtime::LuaPredicateRuntime::Create();
      if (!lua.ok()) return lua.status();
      out->lua = std::move(*lua);
    } else {
#ifdef KESTREL_HAVE_WASM
      out->wasm = std::make_unique<runtime::WasmPredicateRuntime>();
#else
      return absl::UnimplementedError("this kestrel was built without wabt: no wasm runtime");
#endif
    }
    return std::unique_ptr<engine::PredicateRuntime>(std::move(out));
  }

  struct Rule {
    std::string id;
    std::string predicate;  // the file's bytes
    std::string aot;        // path of the verified AOT object, or empty
  };

  std::string dir_, rules_dir_, target_, dialect_;
  std::vector<Rule> rules_;
  std::vector<std::pair<std::string, uint32_t>> fields_;
  absl::flat_hash_map<const eql::IrProgram*, size_t> by_program_;  // set by Bind
  runtime::FieldMap fields_map_;                                   // set by Bind
  std::unique_ptr<runtime::FunctionModule> functions_;
};

absl::StatusOr<std::unique_ptr<engine::RulePredicates>> PackageRuntime::Compile(
    const eql::IrProgram& program) {
  auto it = package_.by_program_.find(&program);
  if (it == package_.by_program_.end()) {
    return absl::InternalError("a rule that is not in the package");
  }
  const Package::Rule& rule = package_.rules_[it->second];
  if (aot != nullptr) {
    if (rule.aot.empty()) return absl::InvalidArgumentError(rule.id + ": no AOT object");
    return aot->Load(program, rule.aot, rule.id, package_.fields_map_);
  }
  if (lua != nullptr) return lua->Load(program, rule.predicate, rule.id, package_.fields_map_);
#ifdef KESTREL_HAVE_WASM
  if (wasm != nullptr) return wasm->Load(program, rule.predicate, rule.id, package_.fields_map_);
#endif
  return absl::InternalError("no predicate runtime");
}

// Reads `rel` inside the package and checks its SHA-256.
absl::StatusOr<std::string> Verified(const fs::path& dir, const std::string& rel,
                                     const std::string& sha256) {
  if (rel.empty() || fs::path(rel).is_absolute() || rel.find("..") != std::string::npos) {
    return absl::InvalidArgumentError(fmt::format("manifest names a bad path '{}'", rel));
  }
  auto bytes = ReadFile(dir / rel);
  if (!bytes.ok()) return bytes.status();
  std::string got = Sha256(*bytes);
  if (got != sha256) {
    return absl::DataLossError(fmt::format(
        "{}: SHA-256 {} does not match the manifest's {} (modified or damaged)", rel, got, sha256));
  }
  return *bytes;
}

}  // namespace

absl::StatusOr<std::unique_ptr<OpenedPackage>> OpenRulePackage(const std::string& dir) {
  auto text = ReadFile(fs::path(dir) / "manifest.json");
  if (!text.ok()) return text.status();
  json manifest = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(fmt::format("package {}: {}", dir, why));
  };
  if (!manifest.is_object() || manifest.value("format", "") != kFormat) {
    return bad("manifest.json is not a Kestrel rule package manifest");
  }
  if (manifest.value("format_version", 0) != kFormatVersion) {
    return bad(fmt::format("format version {} (this kestrel reads {})",
                           manifest.value("format_version", 0), kFormatVersion));
  }
  uint32_t api = manifest.value("host_api_version", 0u);
  if (api != KESTREL_HOST_API_VERSION) {
    return bad(fmt::format("Host API version mismatch: package needs {}, host implements {}", api,
                           KESTREL_HOST_API_VERSION));
  }
  auto package = std::make_unique<Package>();
  package->dir_ = dir;
  package->rules_dir_ = (fs::path(dir) / "rules").string();
  package->target_ = manifest.value("target", "");
  package->dialect_ = manifest.value("dialect", "elasticsearch");
  if (package->target_ != "ir" && package->target_ != "lua" && package->target_ != "wasm") {
    return bad(fmt::format("unknown target '{}'", package->target_));
  }
  if (!manifest["files"].is_array() || !manifest["rules"].is_array()) {
    return bad("manifest without files or rules");
  }
  for (const json& f : manifest["files"]) {
    auto bytes = Verified(dir, f.value("path", ""), f.value("sha256", ""));
    if (!bytes.ok()) return bad(base::Message(bytes.status()));
  }
  for (const json& r : manifest["rules"]) {
    auto bytes = Verified(dir, r.value("predicate", ""), r.value("sha256", ""));
    if (!bytes.ok()) return bad(base::Message(bytes.status()));
    std::string aot;
    if (r.contains("aot") && r["aot"].is_object()) {
      std::string rel = r["aot"].value("path", "");
      auto so = Verified(dir, rel, r["aot"].value("sha256", ""));
      if (!so.ok()) return bad(base::Message(so.status()));
      aot = (fs::path(dir) / rel).string();
    }
    package->rules_.push_back({r.value("id", ""), std::move(*bytes), std::move(aot)});
  }
  if (manifest.contains("functions") && manifest["functions"].is_object()) {
    const json& f = manifest["functions"];
    std::string path = f.value("path", "");
    auto source = Verified(dir, path, f.value("sha256", ""));
    if (!source.ok()) return bad(base::Message(source.status()));
    std::string kind = f.value("kind", "lua");  // packages before Wasm functions: Lua
    if (kind != "lua" && kind != "wasm")
      return bad(fmt::format("unknown function kind '{}'", kind));
    std::vector<std::string> declared;
    if (f.contains("declarations") && f["declarations"].is_array()) {
      for (const json& d : f["declarations"]) {
        if (d.is_string()) declared.push_back(d.get<std::string>());
      }
    }
    auto loaded = runtime::FunctionModule::Load(
        kind == "lua" ? runtime::FunctionModuleKind::kLua : runtime::FunctionModuleKind::kWasm,
        std::move(*source), path, declared);
    if (!loaded.ok()) return bad(base::Message(loaded.status()));
    package->functions_ = std::move(*loaded);
  }
  if (manifest["fields"].is_object()) {
    for (const auto& [name, id] : manifest["fields"].items()) {
      package->fields_.emplace_back(name, id.get<uint32_t>());
    }
  }
  return std::unique_ptr<OpenedPackage>(std::move(package));
}

absl::StatusOr<std::unique_ptr<OpenedPackage>> OpenPackageIfAny(
    std::optional<std::string>* rules_dir, bool* endgame, std::string_view predicate_runtime) {
  if (!*rules_dir || !IsRulePackage(**rules_dir)) return nullptr;
  auto opened = OpenRulePackage(**rules_dir);
  if (!opened.ok()) return opened.status();
  if (predicate_runtime != "native") {
    return absl::FailedPreconditionError(
        fmt::format("--predicate-runtime: the rule package brings its own predicates (target {})",
                    (*opened)->target()));
  }
  *rules_dir = (*opened)->rules_dir();
  *endgame = (*opened)->dialect() == "endgame";
  return opened;
}

}  // namespace kestrel::cli
