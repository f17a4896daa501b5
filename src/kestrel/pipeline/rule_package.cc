// Rule packages; see rule_package.h.
#include "kestrel/pipeline/rule_package.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/container/flat_hash_map.h"
#include "kestrel/base/status.h"
#include "kestrel/eql/ir.h"
#include "kestrel/host_api_v1.h"
#include "kestrel/pipeline/predicate_runtime_option.h"
#include "kestrel/pipeline/run_config.h"
#include "kestrel/runtime/lua/lua_codegen.h"
#include "kestrel/runtime/lua/lua_predicates.h"
#include "kestrel/runtime/wasm/aot.h"
#include "kestrel/runtime/wasm/wasm_codegen.h"
#ifdef KESTREL_HAVE_WASM
#include "kestrel/runtime/wasm/wasm_predicates.h"
#endif

namespace kestrel::pipeline {
namespace fs = std::filesystem;
using nlohmann::json;

std::string PackageSha256(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &size, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < size; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

absl::StatusOr<std::string> ReadPackageFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(fmt::format("cannot read {}", path.string()));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
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
  auto bytes = ReadPackageFile(dir / rel);
  if (!bytes.ok()) return bytes.status();
  std::string got = PackageSha256(*bytes);
  if (got != sha256) {
    return absl::DataLossError(fmt::format(
        "{}: SHA-256 {} does not match the manifest's {} (modified or damaged)", rel, got, sha256));
  }
  return *bytes;
}

}  // namespace

absl::StatusOr<std::unique_ptr<OpenedPackage>> OpenRulePackage(const std::string& dir) {
  auto text = ReadPackageFile(fs::path(dir) / "manifest.json");
  if (!text.ok()) return text.status();
  json manifest = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(fmt::format("package {}: {}", dir, why));
  };
  if (!manifest.is_object() || manifest.value("format", "") != kPackageFormat) {
    return bad("manifest.json is not a Kestrel rule package manifest");
  }
  if (manifest.value("format_version", 0) != kPackageFormatVersion) {
    return bad(fmt::format("format version {} (this kestrel reads {})",
                           manifest.value("format_version", 0), kPackageFormatVersion));
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

}  // namespace kestrel::pipeline
