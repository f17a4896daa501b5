// Saved hunts; see saved_hunts.h.
#include "kestrel/cli/saved_hunts.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "kestrel/base/files.h"
#include "kestrel/base/status.h"

namespace kestrel::cli {
namespace fs = std::filesystem;
namespace {

// Concatenation of string-like parts (absl::StrCat here takes absl::string_view only).
template <typename... T>
std::string Cat(const T&... parts) {
  std::string out;
  (out.append(std::string_view(parts)), ...);
  return out;
}

constexpr size_t kMaxHuntBytes = 1 << 20;
constexpr size_t kMaxHunts = 10'000;  // --list reads at most this many files
constexpr std::string_view kHuntExtension = ".hunt";

absl::Status WriteAll(const fs::path& path, std::string_view text, int flags) {
  auto fd = base::OpenPrivateFile(path.string(), O_WRONLY | flags);
  if (!fd.ok()) return fd.status();
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(*fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = errno;
      ::close(*fd);
      return absl::InternalError(Cat(path.string(), ": write: ", std::strerror(err)));
    }
    done += static_cast<size_t>(n);
  }
  if (::close(*fd) != 0) {
    return absl::InternalError(Cat(path.string(), ": close: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

bool Exists(const fs::path& path) {
  std::error_code ec;
  return fs::symlink_status(path, ec).type() != fs::file_type::not_found && !ec;
}

// One line of an `.eql` header: newlines would end the header early.
std::string OneLine(std::string_view s) {
  std::string out(s);
  std::replace(out.begin(), out.end(), '\n', ' ');
  std::replace(out.begin(), out.end(), '\r', ' ');
  return out;
}

// `file:line:col: error: what`, then the line and a caret under the column.
std::string PositionedError(std::string_view file, std::string_view text, const YAML::Mark& mark,
                            std::string_view what) {
  if (mark.line < 0) return Cat(file, ": error: ", what);
  std::string out = Cat(file, ":", std::to_string(mark.line + 1), ":",
                        std::to_string(mark.column + 1), ": error: ", what);
  size_t start = 0;
  for (int line = 0; line < mark.line && start != std::string_view::npos; ++line) {
    start = text.find('\n', start);
    if (start != std::string_view::npos) ++start;
  }
  if (start == std::string_view::npos || start >= text.size()) return out + " (at the end)";
  std::string_view line = text.substr(start, text.find('\n', start) - start);
  if (line.size() > 200) line = line.substr(0, 200);
  std::string shown;
  for (char c : line) shown.push_back(static_cast<unsigned char>(c) < 0x20 ? ' ' : c);
  out += Cat("\n  ", shown, "\n  ",
             std::string(std::min<size_t>(static_cast<size_t>(std::max(mark.column, 0)), 200), ' '),
             "^");
  return out;
}

}  // namespace

absl::Status ValidateHuntName(std::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError("a hunt name cannot be empty");
  if (name.size() > 64) {
    return absl::InvalidArgumentError(
        Cat("hunt name '", name.substr(0, 64), "...' is longer than 64 characters"));
  }
  if (name.front() == '.') {
    return absl::InvalidArgumentError(
        Cat("hunt name '", name, "' starts with '.' (no hidden files, no '..')"));
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.';
    if (!ok) {
      std::string shown = (c >= 0x20 && c < 0x7f) ? std::string(1, c) : "a control or non-ASCII";
      return absl::InvalidArgumentError(
          Cat("hunt name '", name.find_first_of("\n\r\x1b") == std::string_view::npos ? name : "?",
              "' has '", shown, "' character: use letters, digits, '_', '-' and '.' only"));
    }
  }
  return absl::OkStatus();
}

std::string HuntToYaml(const SavedHunt& hunt) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << hunt.name;
  out << YAML::Key << "query" << YAML::Value;
  if (hunt.query.find('\n') != std::string::npos) out << YAML::Literal;
  out << hunt.query;
  out << YAML::Key << "dialect" << YAML::Value << hunt.dialect;
  if (hunt.case_sensitive) out << YAML::Key << "case_sensitive" << YAML::Value << true;
  if (hunt.case_insensitive) out << YAML::Key << "case_insensitive" << YAML::Value << true;
  if (!hunt.fields.empty()) {
    out << YAML::Key << "fields" << YAML::Value << YAML::Flow << hunt.fields;
  }
  auto optional = [&](const char* key, const std::optional<std::string>& v) {
    if (v) out << YAML::Key << key << YAML::Value << *v;
  };
  optional("format", hunt.format);
  optional("input", hunt.input);
  optional("time_field", hunt.time_field);
  optional("time_format", hunt.time_format);
  out << YAML::EndMap;
  return Cat("# A saved hunt: kestrel query --run ", hunt.name, " (docs/hunting.md)\n", out.c_str(),
             "\n");
}

absl::StatusOr<SavedHunt> HuntFromYaml(std::string_view text, std::vector<std::string>* warnings,
                                       std::string_view file) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(PositionedError(file, text, e.mark, e.msg));
  }
  if (!root.IsMap()) {
    return absl::InvalidArgumentError(Cat(file, ": a hunt file is a YAML map of keys"));
  }
  SavedHunt hunt;
  try {
    for (const auto& kv : root) {
      std::string key = kv.first.as<std::string>();
      const YAML::Node& v = kv.second;
      if (key == "name") {
        hunt.name = v.as<std::string>();
      } else if (key == "query") {
        hunt.query = v.as<std::string>();
        // A literal block (`|`) ends with a newline the query did not have.
        while (!hunt.query.empty() && hunt.query.back() == '\n') hunt.query.pop_back();
      } else if (key == "dialect") {
        hunt.dialect = v.as<std::string>();
      } else if (key == "case_sensitive") {
        hunt.case_sensitive = v.as<bool>();
      } else if (key == "case_insensitive") {
        hunt.case_insensitive = v.as<bool>();
      } else if (key == "fields") {
        hunt.fields = v.as<std::vector<std::string>>();
      } else if (key == "format") {
        hunt.format = v.as<std::string>();
      } else if (key == "input") {
        hunt.input = v.as<std::string>();
      } else if (key == "time_field") {
        hunt.time_field = v.as<std::string>();
      } else if (key == "time_format") {
        hunt.time_format = v.as<std::string>();
      } else if (warnings != nullptr) {
        warnings->push_back(Cat("unknown key '", key, "' ignored"));
      }
    }
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(PositionedError(file, text, e.mark, e.msg));
  }
  if (hunt.query.empty()) return absl::InvalidArgumentError(Cat(file, ": the hunt has no 'query'"));
  if (hunt.dialect != "elasticsearch" && hunt.dialect != "endgame") {
    return absl::InvalidArgumentError(
        Cat(file, ": dialect '", hunt.dialect, "' is neither elasticsearch nor endgame"));
  }
  return hunt;
}

fs::path HuntPath(const fs::path& rules_dir, std::string_view name) {
  return rules_dir / "hunts" / Cat(name, kHuntExtension);
}

absl::Status SaveHunt(const fs::path& rules_dir, const SavedHunt& hunt, bool overwrite) {
  if (absl::Status s = ValidateHuntName(hunt.name); !s.ok()) return s;
  if (absl::Status s = base::CreatePrivateDirectories((rules_dir / "hunts").string()); !s.ok()) {
    return s;
  }
  fs::path path = HuntPath(rules_dir, hunt.name);
  if (!overwrite && Exists(path)) {
    return absl::AlreadyExistsError(
        Cat(path.string(), ": a hunt of that name exists (--force replaces it)"));
  }
  return WriteAll(path, HuntToYaml(hunt), overwrite ? O_TRUNC : O_EXCL);
}

absl::StatusOr<SavedHunt> LoadHunt(const fs::path& rules_dir, std::string_view name,
                                   std::vector<std::string>* warnings) {
  if (absl::Status s = ValidateHuntName(name); !s.ok()) return s;
  fs::path path = HuntPath(rules_dir, name);
  if (!Exists(path)) {
    return absl::NotFoundError(Cat("no saved hunt '", name, "' (", path.string(),
                                   "); kestrel query --list shows the saved hunts"));
  }
  auto text = base::ReadFileBounded(path.string(), kMaxHuntBytes);
  if (!text.ok()) return text.status();
  auto hunt = HuntFromYaml(*text, warnings, path.string());
  if (!hunt.ok()) return hunt.status();
  if (hunt->name.empty()) hunt->name = std::string(name);
  return hunt;
}

std::vector<SavedHunt> ListHunts(const fs::path& rules_dir, std::vector<std::string>* warnings) {
  std::vector<SavedHunt> out;
  std::error_code ec;
  fs::directory_iterator it(rules_dir / "hunts", ec), end;
  std::vector<fs::path> files;
  for (; !ec && it != end && files.size() < kMaxHunts; it.increment(ec)) {
    const fs::path& p = it->path();
    std::string file = p.filename().string();
    if (p.extension() != kHuntExtension || file.front() == '.') continue;
    files.push_back(p);
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& p : files) {
    std::string name = p.stem().string();
    std::vector<std::string> w;
    auto hunt = LoadHunt(rules_dir, name, &w);
    if (!hunt.ok()) {
      warnings->push_back(std::string(base::Message(hunt.status())));
      continue;
    }
    for (const std::string& m : w) warnings->push_back(Cat(p.string(), ": ", m));
    hunt->name = name;
    out.push_back(std::move(*hunt));
  }
  return out;
}

void ApplyHunt(const SavedHunt& hunt, const std::set<std::string>& given, QueryOptions* o) {
  auto unset = [&](const char* flag) { return given.count(flag) == 0; };
  o->query = hunt.query;
  if (unset("--dialect")) o->dialect = hunt.dialect;
  if (unset("--case-sensitive") && unset("--case-insensitive")) {
    o->case_sensitive = hunt.case_sensitive;
    o->case_insensitive = hunt.case_insensitive;
  }
  if (unset("--fields") && !hunt.fields.empty()) o->fields = hunt.fields;
  if (unset("--format") && hunt.format) o->format = hunt.format;
  if (unset("--input") && hunt.input) o->input = *hunt.input;
  if (unset("--time-field") && hunt.time_field) o->time_field = hunt.time_field;
  if (unset("--time-format") && hunt.time_format) o->time_format = hunt.time_format;
}

SavedHunt HuntFromOptions(std::string_view name, const QueryOptions& o,
                          const std::set<std::string>& given) {
  SavedHunt hunt;
  hunt.name = std::string(name);
  hunt.query = o.query;
  hunt.dialect = o.dialect;
  hunt.case_sensitive = o.case_sensitive;
  hunt.case_insensitive = o.case_insensitive;
  hunt.fields = o.fields;
  hunt.format = o.format;
  if (given.count("--input") != 0) hunt.input = o.input;
  hunt.time_field = o.time_field;
  hunt.time_format = o.time_format;
  return hunt;
}

std::string HuntRuleId(std::string_view name) {
  // RFC 4122 version 5: SHA-1 of the namespace's 16 bytes and the name.
  static constexpr unsigned char kNamespace[16] = {0x6b, 0x65, 0x73, 0x74, 0x72, 0x65,
                                                   0x6c, 0x2d, 0x68, 0x75, 0x6e, 0x74,
                                                   0x73, 0x2d, 0x76, 0x31};  // "kestrel-hunts-v1"
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha1(), nullptr);
  EVP_DigestUpdate(ctx, kNamespace, sizeof(kNamespace));
  EVP_DigestUpdate(ctx, name.data(), name.size());
  EVP_DigestFinal_ex(ctx, digest, &size);
  EVP_MD_CTX_free(ctx);
  digest[6] = static_cast<unsigned char>((digest[6] & 0x0f) | 0x50);
  digest[8] = static_cast<unsigned char>((digest[8] & 0x3f) | 0x80);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 15]);
  }
  return out;
}

absl::StatusOr<PromotedRule> PromoteHunt(const fs::path& rules_dir, const SavedHunt& hunt) {
  if (absl::Status s = ValidateHuntName(hunt.name); !s.ok()) return s;
  PromotedRule out{rules_dir / Cat(hunt.name, ".eql"), rules_dir / Cat(hunt.name, ".test.yaml")};
  for (const fs::path& p : {out.rule, out.tests}) {
    if (Exists(p)) {
      return absl::AlreadyExistsError(
          Cat(p.string(), " exists; not overwritten (move it away or edit it)"));
    }
  }
  std::string rule =
      Cat("// id: ", HuntRuleId(hunt.name), "\n",  //
          "// name: ", OneLine(hunt.name), "\n",
          "// description: TODO: what this detects, why it matters and how to triage it (promoted "
          "from the saved hunt ",
          OneLine(hunt.name), ")\n",  //
          "// severity: medium\n",    //
          "// risk_score: 47\n",      //
          "// tags: Hunt: ", OneLine(hunt.name), "\n",
          hunt.dialect != "elasticsearch" ? Cat("// dialect: ", hunt.dialect, "\n") : "",
          "// action: alert\n",  //
          hunt.query, hunt.query.ends_with('\n') ? "" : "\n");
  std::string tests =
      Cat("# Test cases of ", hunt.name, ".eql: docs/rules.md, \"Testing a rule\".\n",
          "# TODO: a positive case (the events that must alert; expect [[0]], or [[0, 1]] for a\n",
          "# two-stage sequence) and a negative one (a benign look-alike; expect []), e.g.:\n",
          "#   - name: \"what the attack looks like\"\n",  //
          "#     expect: [[0]]\n",                         //
          "#     events:\n",                               //
          "#       - {\"event.category\": \"process\", \"event.action\": \"exec\", ...}\n",
          "# Until then `kestrel test-rules` reports the rule as having no test cases.\n",
          "cases: []\n");
  if (absl::Status s = WriteAll(out.rule, rule, O_EXCL); !s.ok()) return s;
  if (absl::Status s = WriteAll(out.tests, tests, O_EXCL); !s.ok()) {
    std::error_code ec;
    fs::remove(out.rule, ec);
    return s;
  }
  return out;
}

}  // namespace kestrel::cli
