#include "kestrel/cli/config.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "kestrel/actions/redact.h"
#include "kestrel/base/files.h"
#include "kestrel/base/status.h"
#include "kestrel/base/suggest.h"
#include "kestrel/pipeline/sinks_option.h"
#include "kestrel/rules/rule_file.h"

namespace kestrel::cli {
namespace {

absl::Status At(const std::string& file, const YAML::Node& node, const std::string& reason) {
  YAML::Mark m = node.Mark();
  return absl::InvalidArgumentError(
      fmt::format("{}:{}:{}: {}", file, m.line + 1, m.column + 1, reason));
}

template <typename T>
absl::Status Scalar(const std::string& file, const std::string& key, const YAML::Node& v,
                    const char* what, T* out) {
  if (!v.IsScalar()) return At(file, v, fmt::format("'{}' must be {}", key, what));
  try {
    *out = v.as<T>();
  } catch (const YAML::Exception&) {
    return At(file, v, fmt::format("'{}' must be {}, not '{}'", key, what, v.Scalar()));
  }
  return absl::OkStatus();
}

// A duration value ("30s", "24h") into nanoseconds; *out is left as it was on an error.
absl::Status Duration(const std::string& file, const std::string& key, const YAML::Node& v,
                      const char* what, int64_t* out) {
  std::string text;
  if (absl::Status s = Scalar(file, key, v, what, &text); !s.ok()) return s;
  auto ns = pipeline::ParseDuration(text);
  if (!ns.ok()) return At(file, v, fmt::format("'{}': {}", key, base::Message(ns.status())));
  *out = *ns;
  return absl::OkStatus();
}

absl::Status Strings(const std::string& file, const std::string& key, const YAML::Node& v,
                     std::vector<std::string>* out) {
  if (v.IsScalar()) {
    out->push_back(v.Scalar());
    return absl::OkStatus();
  }
  if (!v.IsSequence()) return At(file, v, fmt::format("'{}' must be a list of strings", key));
  for (const YAML::Node& item : v) {
    if (!item.IsScalar()) return At(file, item, fmt::format("'{}' must be a list of strings", key));
    out->push_back(item.Scalar());
  }
  return absl::OkStatus();
}

// ", did you mean 'PREFIXkey'?" when `key` is a likely typo of one of `known`, else "".
std::string DidYouMean(std::string_view key, const std::vector<std::string_view>& known,
                       std::string_view prefix) {
  std::optional<std::string_view> close = base::ClosestMatch(key, known);
  return close ? fmt::format(", did you mean '{}{}'?", prefix, *close) : std::string();
}

// run.suppress: {by: [fields], for: 5m} (docs/configuration.md), or off.
absl::Status Suppress(const std::string& file, const YAML::Node& v,
                      std::optional<rules::Suppression>* out) {
  if (v.IsScalar() && (v.Scalar() == "off" || v.Scalar() == "false" || v.Scalar() == "none")) {
    out->reset();
    return absl::OkStatus();
  }
  if (!v.IsMap()) return At(file, v, "'suppress' must be a mapping {by: [fields], for: 5m}");
  rules::Suppression s;
  for (const auto& item : v) {
    std::string k = item.first.Scalar();
    if (k == "by") {
      if (absl::Status st = Strings(file, "suppress.by", item.second, &s.by); !st.ok()) return st;
    } else if (k == "for") {
      std::optional<int64_t> ns;
      if (item.second.IsScalar()) ns = rules::ParseRuleDuration(item.second.Scalar());
      if (!ns || *ns <= 0) {
        return At(file, item.second,
                  "'suppress.for' must be a duration with a unit (such as 30s, 5m, 1h)");
      }
      s.for_ns = *ns;
    } else {
      return At(file, item.first, fmt::format("unknown key '{}' in 'suppress' (by, for)", k));
    }
  }
  if (s.for_ns <= 0) return At(file, v, "'suppress' has no 'for' (a duration such as 5m)");
  if (s.by.size() > 8) return At(file, v, "'suppress.by' names more than 8 fields");
  *out = std::move(s);
  return absl::OkStatus();
}

constexpr const char* kRunKeys[] = {"rules",
                                    "source",
                                    "output",
                                    "dialect",
                                    "workers",
                                    "queue_full",
                                    "reload",
                                    "reload_compile_budget",
                                    "reload_memory_budget_mb",
                                    "strict_rules",
                                    "sigma_mapping",
                                    "metrics_addr",
                                    "metrics_allow_remote",
                                    "duration",
                                    "ignore_comm",
                                    "ignore_path",
                                    "auditd_compat",
                                    "time_field",
                                    "time_format",
                                    "flight_recorder",
                                    "flight_recorder_dir",
                                    "predicate_runtime",
                                    "max_partials_per_rule",
                                    "state_memory",
                                    "state_budget_mb",
                                    "default_ttl",
                                    "sinks",
                                    "enforce",
                                    "guard_mark",
                                    "guard_mark_type",
                                    "guard_budget",
                                    "guard_allow_path",
                                    "guard_responders",
                                    "guard_max_pending",
                                    "guard_rt_priority",
                                    "host",
                                    "agent",
                                    "env_vars",
                                    "env_value_max",
                                    "format",
                                    "suppress"};

// `run.env_vars` (a list, or one name): the allow-list of process.env_vars, replacing the default
// one. Each name is an environment variable name ([A-Za-z_][A-Za-z0-9_]*), listed once; at most
// kMaxEnvVars of them; an empty list keeps none (the kernel then reads no environment).
absl::Status EnvVars(const std::string& file, const YAML::Node& v, std::vector<std::string>* out) {
  const char* what = "a list of environment variable names";
  if (!v.IsSequence() && !v.IsScalar()) {
    return At(file, v, fmt::format("'env_vars' must be {}", what));
  }
  if (v.IsSequence() && v.size() > pipeline::kMaxEnvVars) {
    return At(
        file, v,
        fmt::format("'env_vars' lists {} names; at most {}", v.size(), pipeline::kMaxEnvVars));
  }
  std::vector<std::string> names;
  std::vector<YAML::Node> items;  // a single name may be written without the list
  if (v.IsScalar()) {
    items.push_back(v);
  } else {
    for (const YAML::Node& item : v) items.push_back(item);
  }
  for (const YAML::Node& item : items) {
    if (!item.IsScalar()) return At(file, item, fmt::format("'env_vars' must be {}", what));
    const std::string& name = item.Scalar();
    auto word = [](char c) {  // ASCII only, whatever the locale
      return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    };
    bool valid = !name.empty() && !(name[0] >= '0' && name[0] <= '9');
    for (char c : name) valid = valid && word(c);
    if (!valid) {
      std::string shown = name.size() > 64 ? name.substr(0, 64) + "..." : name;
      return At(
          file, item,
          fmt::format("'env_vars': '{}' is not a variable name ([A-Za-z_][A-Za-z0-9_]*)", shown));
    }
    if (std::find(names.begin(), names.end(), name) != names.end()) {
      return At(file, item, fmt::format("'env_vars': '{}' is listed twice", name));
    }
    names.push_back(name);
  }
  *out = std::move(names);
  return absl::OkStatus();
}

// `run.host` (id, name, hostname, ip, mac, architecture, os: {name, version, kernel, family,
// platform, full}) and `run.agent` (id) into `*o`.
absl::Status HostKeys(const std::string& file, const std::string& section, const YAML::Node& v,
                      sources::ebpf::HostOverrides* o) {
  if (!v.IsMap()) return At(file, v, fmt::format("'{}' must be a mapping", section));
  for (const auto& item : v) {
    std::string k = item.first.Scalar();
    const YAML::Node& x = item.second;
    std::string key = section + "." + k;
    auto text = [&](std::optional<std::string>* out) {
      std::string value;
      absl::Status st = Scalar(file, key, x, "a string", &value);
      if (st.ok() && value.empty()) st = At(file, x, fmt::format("'{}' must not be empty", key));
      if (st.ok()) *out = value;
      return st;
    };
    auto list = [&](std::optional<std::vector<std::string>>* out) {
      std::vector<std::string> values;
      absl::Status st = Strings(file, key, x, &values);
      if (st.ok()) *out = values;
      return st;
    };
    absl::Status st;
    if (section == "run.agent") {
      if (k != "id") {
        return At(file, item.first,
                  fmt::format("unknown key '{}'{} (known: id)", key,
                              DidYouMean(k, {"id"}, section + ".")));
      }
      st = text(&o->agent_id);
    } else if (k == "id") {
      st = text(&o->id);
    } else if (k == "name") {
      st = text(&o->name);
    } else if (k == "hostname") {
      st = text(&o->hostname);
    } else if (k == "architecture") {
      st = text(&o->architecture);
    } else if (k == "ip") {
      st = list(&o->ip);
    } else if (k == "mac") {
      st = list(&o->mac);
    } else if (k == "os") {
      if (!x.IsMap()) return At(file, x, "'run.host.os' must be a mapping");
      for (const auto& os : x) {
        std::string ok = os.first.Scalar();
        std::optional<std::string>* out = ok == "name"       ? &o->os_name
                                          : ok == "version"  ? &o->os_version
                                          : ok == "kernel"   ? &o->os_kernel
                                          : ok == "family"   ? &o->os_family
                                          : ok == "platform" ? &o->os_platform
                                          : ok == "full"     ? &o->os_full
                                                             : nullptr;
        if (out == nullptr) {
          return At(file, os.first,
                    fmt::format(
                        "unknown key 'run.host.os.{}'{} (known: name, version, kernel, "
                        "family, platform, full)",
                        ok,
                        DidYouMean(ok, {"name", "version", "kernel", "family", "platform", "full"},
                                   "run.host.os.")));
        }
        std::string value;
        st = Scalar(file, "run.host.os." + ok, os.second, "a string", &value);
        if (!st.ok()) return st;
        *out = value;
      }
    } else {
      return At(
          file, item.first,
          fmt::format("unknown key '{}'{} (known: id, name, hostname, ip, mac, architecture, "
                      "os)",
                      key,
                      DidYouMean(k, {"id", "name", "hostname", "ip", "mac", "architecture", "os"},
                                 section + ".")));
    }
    if (!st.ok()) return st;
    if (absl::Status valid = sources::ebpf::ValidateHostOverrides(*o); !valid.ok()) {
      return At(file, x, fmt::format("'{}': {}", key, base::Message(valid)));
    }
  }
  return absl::OkStatus();
}

// The keys of `text` applied to `run` and `global`; yaml-cpp may throw (LoadConfigText catches).
absl::Status ApplyConfig(const std::string& path, std::string_view text, pipeline::RunConfig* run,
                         GlobalConfig* global);

}  // namespace

absl::Status LoadConfigFile(const std::string& path, pipeline::RunConfig* run,
                            GlobalConfig* global) {
  // A regular file within the rule files' size cap, checked before reading (a FIFO or
  // /dev/zero as --config is refused at once, not waited on or grown into).
  auto text = base::ReadFileBounded(path, rules::kMaxRuleFileBytes);
  if (!text.ok()) {
    if (text.status().code() == absl::StatusCode::kNotFound) {
      return absl::NotFoundError(
          fmt::format("cannot read config file '{}': {}", path, base::Message(text.status())));
    }
    return absl::InvalidArgumentError(fmt::format("config file: {}", base::Message(text.status())));
  }
  return LoadConfigText(path, *text, run, global);
}

absl::Status LoadConfigText(const std::string& path, std::string_view text,
                            pipeline::RunConfig* run, GlobalConfig* global) {
  try {
    return ApplyConfig(path, text, run, global);
  } catch (const YAML::Exception& e) {  // a conversion the checks above did not foresee
    return absl::InvalidArgumentError(
        fmt::format("{}:{}:{}: {}", path, e.mark.line + 1, e.mark.column + 1, e.msg));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(fmt::format("{}: {}", path, e.what()));
  }
}

namespace {

absl::Status ApplyConfig(const std::string& path, std::string_view text, pipeline::RunConfig* run,
                         GlobalConfig* global) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::ParserException& e) {
    return absl::InvalidArgumentError(
        fmt::format("{}:{}:{}: {}", path, e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  if (root.IsNull()) return absl::OkStatus();  // an empty file
  if (!root.IsMap()) return At(path, root, "the configuration must be a mapping of keys");
  for (const auto& kv : root) {
    std::string key = kv.first.Scalar();
    const YAML::Node& v = kv.second;
    if (key == "log_level") {
      std::string level;
      if (absl::Status s = Scalar(path, key, v, "a string", &level); !s.ok()) return s;
      if (level != "trace" && level != "debug" && level != "info" && level != "warn" &&
          level != "error") {
        return At(path, v, "'log_level' must be trace, debug, info, warn or error");
      }
      global->log_level = level;
    } else if (key == "run") {
      if (!v.IsMap()) return At(path, v, "'run' must be a mapping of run options");
      for (const auto& item : v) {
        std::string k = item.first.Scalar();
        const YAML::Node& x = item.second;
        std::string s;
        absl::Status st;
        if (k == "rules") {
          st = Scalar(path, k, x, "a path", &s);
          run->rules_dir = s;
        } else if (k == "source") {
          st = Scalar(path, k, x, "a source (ebpf or ndjson:PATH)", &run->source);
        } else if (k == "output") {
          st = Scalar(path, k, x, "a path or -", &run->output);
        } else if (k == "dialect") {
          st = Scalar(path, k, x, "elasticsearch or endgame", &run->dialect);
          if (st.ok() && run->dialect != "elasticsearch" && run->dialect != "endgame") {
            st = At(path, x, "'dialect' must be elasticsearch or endgame");
          }
        } else if (k == "workers") {
          int64_t n = 0;
          st = Scalar(path, k, x, "a number of threads", &n);
          if (st.ok() && (n < 0 || n > 256)) {
            st = At(path, x, "'workers' must be 0 (one per core) to 256");
          }
          run->workers = static_cast<size_t>(n);
        } else if (k == "queue_full") {
          st = Scalar(path, k, x, "drop or block", &run->queue_full);
          if (st.ok() && run->queue_full != "drop" && run->queue_full != "block") {
            st = At(path, x, "'queue_full' must be drop or block");
          }
        } else if (k == "reload") {
          st = Scalar(path, k, x, "true or false", &run->reload);
        } else if (k == "strict_rules") {
          st = Scalar(path, k, x, "true or false", &run->strict_rules);
        } else if (k == "sigma_mapping") {
          st = Scalar(path, k, x, "a path", &s);
          run->sigma_mapping = s;
        } else if (k == "reload_compile_budget") {
          st = Duration(path, k, x, "a duration such as 60s (0: no limit)",
                        &run->reload_compile_budget_ns);
        } else if (k == "reload_memory_budget_mb") {
          int64_t n = 0;
          st = Scalar(path, k, x, "a number of MiB (0: no limit)", &n);
          if (st.ok() && (n < 0 || n > (int64_t{1} << 30))) {
            st = At(path, x, "'reload_memory_budget_mb' must be 0 to 1073741824");
          }
          run->reload_memory_budget_bytes = static_cast<uint64_t>(n) << 20;
        } else if (k == "metrics_addr") {
          st = Scalar(path, k, x, "HOST:PORT", &s);
          run->metrics_addr = s;
        } else if (k == "metrics_allow_remote") {
          st = Scalar(path, k, x, "true or false", &run->metrics_allow_remote);
        } else if (k == "duration") {
          st = Scalar(path, k, x, "a duration such as 30s", &s);
          if (auto ns = pipeline::ParseDuration(s); st.ok() && !ns.ok()) {
            st = At(path, x, fmt::format("'duration': {}", base::Message(ns.status())));
          }
          global->duration = s;
        } else if (k == "ignore_comm") {
          st = Strings(path, k, x, &run->ignore_comms);
        } else if (k == "ignore_path") {
          st = Strings(path, k, x, &run->ignore_paths);
        } else if (k == "auditd_compat") {
          st = Scalar(path, k, x, "true or false", &run->auditd_compat);
        } else if (k == "time_field") {
          st = Scalar(path, k, x, "a field name", &s);
          run->time_field = s;
        } else if (k == "time_format") {
          st = Scalar(path, k, x, "a time format", &s);
          run->time_format = s;
        } else if (k == "flight_recorder") {
          st = Scalar(path, k, x, "a duration such as 60s", &s);
          run->flight_recorder = s;
        } else if (k == "flight_recorder_dir") {
          st = Scalar(path, k, x, "a path", &s);
          run->flight_recorder_dir = s;
        } else if (k == "predicate_runtime") {
          st = Scalar(path, k, x, "native, lua or wasm", &run->predicate_runtime);
        } else if (k == "max_partials_per_rule") {
          int64_t n = 0;
          st = Scalar(path, k, x, "a count", &n);
          if (st.ok() && n < 1) st = At(path, x, "'max_partials_per_rule' must be at least 1");
          run->max_partials_per_rule = static_cast<size_t>(n);
        } else if (k == "state_memory") {
          st = Scalar(path, k, x, "a size such as 64MB (0: no limit)", &s);
          if (st.ok()) {
            auto bytes = pipeline::ParseByteSize(s);
            if (bytes.ok()) {
              run->state_budget_bytes = *bytes;
            } else {
              st = At(path, x,
                      fmt::format("'state_memory': {}", std::string(bytes.status().message())));
            }
          }
        } else if (k == "state_budget_mb") {  // before state_memory; still read
          int64_t n = 0;
          st = Scalar(path, k, x, "a number of MiB (0: no limit)", &n);
          if (st.ok() && (n < 0 || n > (int64_t{1} << 30))) {
            st = At(path, x, "'state_budget_mb' must be 0 to 1073741824");
          }
          run->state_budget_bytes = static_cast<size_t>(n) << 20;
        } else if (k == "default_ttl") {
          st = Duration(path, k, x, "a duration such as 24h", &run->default_ttl_ns);
        } else if (k == "sinks") {
          st = pipeline::ParseSinksYaml(path, x, &run->sinks);
        } else if (k == "enforce") {
          st = Scalar(path, k, x, "off, dry-run or on", &s);
          if (st.ok() && s != "off" && s != "dry-run" && s != "on") {
            st = At(path, x, "'enforce' must be off, dry-run or on");
          }
          run->enforce = s;
        } else if (k == "guard_mark") {
          st = Scalar(path, k, x, "a path", &run->guard_mark);
        } else if (k == "guard_mark_type") {
          st = Scalar(path, k, x, "filesystem or mount", &run->guard_mark_type);
          if (st.ok() && run->guard_mark_type != "filesystem" && run->guard_mark_type != "mount") {
            st = At(path, x, "'guard_mark_type' must be filesystem or mount");
          }
        } else if (k == "guard_budget") {
          st = Scalar(path, k, x, "a duration such as 5ms", &run->guard_budget);
          auto ns =
              st.ok() ? pipeline::ParseDuration(run->guard_budget) : absl::StatusOr<int64_t>(1);
          if (st.ok() && (!ns.ok() || *ns <= 0)) {
            st = At(path, x,
                    fmt::format("'guard_budget': {}",
                                ns.ok() ? "must be positive" : base::Message(ns.status())));
          }
        } else if (k == "guard_allow_path") {
          st = Strings(path, k, x, &run->guard_allow_paths);
        } else if (k == "guard_responders") {
          int64_t n = 0;
          st = Scalar(path, k, x, "a number of threads", &n);
          if (st.ok() && (n < 1 || n > 64)) st = At(path, x, "'guard_responders' must be 1 to 64");
          run->guard_responders = static_cast<size_t>(n);
        } else if (k == "guard_max_pending") {
          int64_t n = 0;
          st = Scalar(path, k, x, "a count", &n);
          if (st.ok() && (n < 1 || n > 65536)) {
            st = At(path, x, "'guard_max_pending' must be 1 to 65536");
          }
          run->guard_max_pending = static_cast<size_t>(n);
        } else if (k == "guard_rt_priority") {
          int64_t n = 0;
          st = Scalar(path, k, x, "a priority", &n);
          if (st.ok() && (n < 0 || n > 99)) {
            st = At(path, x, "'guard_rt_priority' must be 0 (off) to 99");
          }
          run->guard_rt_priority = static_cast<int>(n);
        } else if (k == "env_vars") {
          st = EnvVars(path, x, &run->env_vars);
        } else if (k == "format") {
          st = Scalar(path, k, x, "kestrel or ecs", &run->output_format);
          if (st.ok() && run->output_format != "kestrel" && run->output_format != "ecs") {
            st = At(path, x, "'format' must be kestrel or ecs");
          }
        } else if (k == "suppress") {
          st = Suppress(path, x, &run->suppress);
        } else if (k == "env_value_max") {
          int64_t n = 0;
          st = Scalar(path, k, x, "a number of bytes", &n);
          if (st.ok() && (n < 1 || n > static_cast<int64_t>(pipeline::kMaxEnvValueMax))) {
            st = At(path, x,
                    fmt::format("'env_value_max' must be 1 to {}", pipeline::kMaxEnvValueMax));
          }
          if (st.ok()) run->env_value_max = static_cast<size_t>(n);
        } else if (k == "host" || k == "agent") {
          st = HostKeys(path, "run." + k, x, &run->host);
        } else {
          std::string known;
          std::vector<std::string_view> names;
          for (const char* name : kRunKeys) {
            known += fmt::format("{}{}", known.empty() ? "" : ", ", name);
            names.emplace_back(name);
          }
          return At(path, item.first,
                    fmt::format("unknown key 'run.{}'{} (known: {})", k,
                                DidYouMean(k, names, "run."), known));
        }
        if (!st.ok()) return st;
      }
    } else {
      return At(path, kv.first,
                fmt::format("unknown key '{}'{} (known: log_level, run)", key,
                            DidYouMean(key, {"log_level", "run"}, "")));
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::optional<std::string> FindConfigFile(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--config" && i + 1 < argc) return std::string(argv[i + 1]);
    if (a.rfind("--config=", 0) == 0) return std::string(a.substr(9));
  }
  std::error_code ec;
  if (std::filesystem::exists(kDefaultConfigPath, ec)) return std::string(kDefaultConfigPath);
  return std::nullopt;
}

std::string RenderConfig(const pipeline::RunConfig& run, const GlobalConfig& global) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "log_level" << YAML::Value << global.log_level.value_or("info");
  out << YAML::Key << "run" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "rules" << YAML::Value << run.rules_dir.value_or("(default search)");
  out << YAML::Key << "source" << YAML::Value
      << (run.source.empty() ? std::string("(default: ebpf on Linux)") : run.source);
  out << YAML::Key << "output" << YAML::Value << run.output;
  out << YAML::Key << "dialect" << YAML::Value << run.dialect;
  out << YAML::Key << "workers" << YAML::Value << run.workers;
  out << YAML::Key << "queue_full" << YAML::Value
      << (run.queue_full.empty() ? std::string("(drop for ebpf, block for files)")
                                 : run.queue_full);
  out << YAML::Key << "reload" << YAML::Value << run.reload;
  out << YAML::Key << "strict_rules" << YAML::Value << run.strict_rules;
  out << YAML::Key << "sigma_mapping" << YAML::Value << run.sigma_mapping.value_or("(built-in)");
  out << YAML::Key << "reload_compile_budget" << YAML::Value
      << fmt::format("{}s", run.reload_compile_budget_ns / 1'000'000'000);
  out << YAML::Key << "reload_memory_budget_mb" << YAML::Value
      << (run.reload_memory_budget_bytes >> 20);
  out << YAML::Key << "metrics_addr" << YAML::Value << run.metrics_addr.value_or("(off)");
  out << YAML::Key << "metrics_allow_remote" << YAML::Value << run.metrics_allow_remote;
  out << YAML::Key << "duration" << YAML::Value << global.duration.value_or("(until stopped)");
  out << YAML::Key << "ignore_comm" << YAML::Value << YAML::Flow << run.ignore_comms;
  out << YAML::Key << "ignore_path" << YAML::Value << YAML::Flow << run.ignore_paths;
  out << YAML::Key << "auditd_compat" << YAML::Value << run.auditd_compat;
  out << YAML::Key << "env_vars" << YAML::Value << YAML::Flow << run.env_vars;
  out << YAML::Key << "env_value_max" << YAML::Value << run.env_value_max;
  out << YAML::Key << "time_field" << YAML::Value << run.time_field.value_or("(dialect default)");
  out << YAML::Key << "time_format" << YAML::Value << run.time_format.value_or("(dialect default)");
  out << YAML::Key << "flight_recorder" << YAML::Value << run.flight_recorder.value_or("(off)");
  out << YAML::Key << "flight_recorder_dir" << YAML::Value
      << run.flight_recorder_dir.value_or("(beside the alerts)");
  out << YAML::Key << "predicate_runtime" << YAML::Value << run.predicate_runtime;
  out << YAML::Key << "max_partials_per_rule" << YAML::Value << run.max_partials_per_rule;
  out << YAML::Key << "state_memory" << YAML::Value
      << (run.state_budget_bytes % (1 << 20) == 0
              ? fmt::format("{}MB", run.state_budget_bytes >> 20)
              : fmt::format("{}B", run.state_budget_bytes));
  out << YAML::Key << "default_ttl" << YAML::Value
      << fmt::format("{}s", run.default_ttl_ns / 1'000'000'000);
  out << YAML::Key << "sinks" << YAML::Value << YAML::BeginSeq;
  for (const pipeline::SinkConfig& sink : run.sinks) {
    // Credentials (URL userinfo and tokens, credential headers and Kafka properties) as ***.
    out << YAML::BeginMap << YAML::Key << "url" << YAML::Value << actions::RedactUrl(sink.url);
    // As written in the file: repeated options as a list (tags) or a map (headers, kafka).
    std::vector<std::string> tags;
    std::vector<std::pair<std::string, std::string>> headers, kafka;
    for (const auto& [k, raw] : sink.options) {
      std::string v = actions::RedactSinkOption(k, raw);
      if (k == "tag") {
        tags.push_back(v);
      } else if (k == "header") {
        size_t colon = v.find(':');
        std::string value = colon == std::string::npos ? "" : v.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        headers.emplace_back(v.substr(0, colon), value);
      } else if (k.rfind("kafka.", 0) == 0) {
        kafka.emplace_back(k.substr(6), v);
      } else {
        out << YAML::Key << k << YAML::Value << v;
      }
    }
    if (!tags.empty()) out << YAML::Key << "tags" << YAML::Value << YAML::Flow << tags;
    for (auto [name, list] : {std::pair{"headers", &headers}, std::pair{"kafka", &kafka}}) {
      if (list->empty()) continue;
      out << YAML::Key << name << YAML::Value << YAML::BeginMap;
      for (const auto& [k, v] : *list) out << YAML::Key << k << YAML::Value << v;
      out << YAML::EndMap;
    }
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;
  out << YAML::Key << "enforce" << YAML::Value
      << run.enforce.value_or("(dry-run for ebpf, off for files)");
  out << YAML::Key << "guard_mark" << YAML::Value << run.guard_mark;
  out << YAML::Key << "guard_mark_type" << YAML::Value << run.guard_mark_type;
  out << YAML::Key << "guard_budget" << YAML::Value << run.guard_budget;
  out << YAML::Key << "guard_allow_path" << YAML::Value << YAML::Flow << run.guard_allow_paths;
  out << YAML::Key << "guard_responders" << YAML::Value << run.guard_responders;
  out << YAML::Key << "guard_max_pending" << YAML::Value << run.guard_max_pending;
  out << YAML::Key << "guard_rt_priority" << YAML::Value << run.guard_rt_priority;
  // Overridden host and agent values only (the rest is read from the machine at start).
  const sources::ebpf::HostOverrides& h = run.host;
  out << YAML::Key << "host" << YAML::Value << YAML::BeginMap;
  for (auto [name, v] :
       {std::pair{"id", &h.id}, std::pair{"name", &h.name}, std::pair{"hostname", &h.hostname},
        std::pair{"architecture", &h.architecture}}) {
    if (v->has_value()) out << YAML::Key << name << YAML::Value << **v;
  }
  if (h.ip) out << YAML::Key << "ip" << YAML::Value << YAML::Flow << *h.ip;
  if (h.mac) out << YAML::Key << "mac" << YAML::Value << YAML::Flow << *h.mac;
  bool any_os =
      h.os_name || h.os_version || h.os_kernel || h.os_family || h.os_platform || h.os_full;
  if (any_os) {
    out << YAML::Key << "os" << YAML::Value << YAML::BeginMap;
    for (auto [name, v] : {std::pair{"name", &h.os_name}, std::pair{"version", &h.os_version},
                           std::pair{"kernel", &h.os_kernel}, std::pair{"family", &h.os_family},
                           std::pair{"platform", &h.os_platform}, std::pair{"full", &h.os_full}}) {
      if (v->has_value()) out << YAML::Key << name << YAML::Value << **v;
    }
    out << YAML::EndMap;
  }
  out << YAML::EndMap;
  out << YAML::Key << "agent" << YAML::Value << YAML::BeginMap;
  if (h.agent_id) out << YAML::Key << "id" << YAML::Value << *h.agent_id;
  out << YAML::EndMap;
  out << YAML::EndMap << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace kestrel::cli
