// The command line around CLI11; see usage.h.
#include "kestrel/cli/usage.h"

#include <fmt/format.h>

#include <string_view>

#include "kestrel/base/fingerprint.h"
#include "kestrel/base/suggest.h"
#include "kestrel/schema/field.h"
#include "kestrel/schema/schema.h"

#ifndef KESTREL_VERSION
#define KESTREL_VERSION "0.0.0"
#endif
#ifndef KESTREL_COMMIT
#define KESTREL_COMMIT "unknown"
#endif
#ifndef KESTREL_BUILD_TYPE
#define KESTREL_BUILD_TYPE "unknown"
#endif
#ifndef KESTREL_COMPILER
#define KESTREL_COMPILER "unknown"
#endif

namespace kestrel::cli {
namespace {

// The global options that take a value (main.cc): their value is not a command word.
bool TakesValue(std::string_view arg) { return arg == "--log-level" || arg == "--config"; }

// Index of the first command word of `args` (after the program name and global options), or
// args.size().
size_t FirstWord(const std::vector<std::string>& args) {
  for (size_t i = 1; i < args.size(); ++i) {
    if (TakesValue(args[i])) {
      ++i;
      continue;
    }
    if (!args[i].empty() && args[i][0] == '-') continue;
    return i;
  }
  return args.size();
}

const CLI::App* FindSub(const CLI::App& app, std::string_view name) {
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    if (sub->check_name(std::string(name))) return sub;
  }
  return nullptr;
}

std::vector<std::string> SubNames(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    names.push_back(sub->get_name());
  }
  return names;
}

std::optional<std::string> Closest(std::string_view name, const std::vector<std::string>& names) {
  std::vector<std::string_view> views(names.begin(), names.end());
  auto close = base::ClosestMatch(name, views);
  if (!close) return std::nullopt;
  return std::string(*close);
}

// "PREFIX...NAME..." -> the parts of `message` around the first `sep` after `prefix`.
bool Split(std::string_view message, std::string_view prefix, std::string_view sep,
           std::string_view* a, std::string_view* b) {
  if (!message.starts_with(prefix)) return false;
  message.remove_prefix(prefix.size());
  size_t at = message.find(sep);
  if (at == std::string_view::npos) return false;
  *a = message.substr(0, at);
  *b = message.substr(at + sep.size());
  return true;
}

}  // namespace

std::vector<std::string> RewriteHelp(const std::vector<std::string>& args) {
  size_t at = FirstWord(args);
  if (at == args.size() || args[at] != "help") return args;
  std::vector<std::string> out(args.begin(), args.begin() + static_cast<std::ptrdiff_t>(at));
  out.insert(out.end(), args.begin() + static_cast<std::ptrdiff_t>(at) + 1, args.end());
  out.push_back("--help");
  return out;
}

std::optional<std::string> UnknownCommand(const CLI::App& app,
                                          const std::vector<std::string>& args) {
  size_t at = FirstWord(args);
  const CLI::App* current = &app;
  std::string path = app.get_name();
  // The first word, then each word right after a command that has subcommands of its own.
  while (at < args.size()) {
    const std::string& word = args[at];
    if (!word.empty() && word[0] == '-') return std::nullopt;  // options: CLI11's business
    std::vector<std::string> names = SubNames(*current);
    if (names.empty()) return std::nullopt;  // the command's own arguments
    const CLI::App* sub = FindSub(*current, word);
    if (sub == nullptr) {
      std::optional<std::string> close = Closest(word, names);
      std::string list;
      for (const std::string& n : names) list += (list.empty() ? "" : ", ") + n;
      return fmt::format(
          "unknown command '{}'{}\n  the commands of '{}' are: {}\n  run '{} --help'", word,
          close ? fmt::format(", did you mean '{}'?", *close) : "", path, list, path);
    }
    current = sub;
    path += " " + sub->get_name();
    ++at;
  }
  return std::nullopt;
}

std::string CommandPath(const CLI::App& app) {
  std::string path;
  const CLI::App* current = &app;
  while (true) {
    std::vector<CLI::App*> parsed = current->get_subcommands();
    if (parsed.empty()) break;
    current = parsed.front();
    path += " " + current->get_name();
  }
  return path;
}

std::string FormatParseError(const CLI::Error& e) {
  std::string_view m = e.what();
  std::string_view a, b;
  if (Split(m, "The value ", " is not an allowed value for ", &a, &b)) {
    return fmt::format("{}: '{}' is not an allowed value", b, a);
  }
  if (Split(m, "Could not convert: ", " = ", &a, &b)) {
    return fmt::format("{}: cannot read '{}' as its value", a, b);
  }
  if (Split(m, "Expected exactly ", " arguments to ", &a, &b) ||
      Split(m, "Expected at least ", " arguments to ", &a, &b)) {
    size_t comma = b.find(", got ");
    if (comma != std::string_view::npos) {
      return fmt::format("{}: expected {}{} value(s), got {}", b.substr(0, comma),
                         m.starts_with("Expected exactly") ? "" : "at least ", a,
                         b.substr(comma + 6));
    }
  }
  if (Split(m, "The following argument was not expected: ", "", &a, &b) ||
      Split(m, "The following arguments were not expected: ", "", &a, &b)) {
    std::string_view what = b;
    size_t space = what.find(' ');
    std::string_view first = what.substr(0, space);
    return fmt::format("{}: {}", first,
                       first.starts_with("-") ? "unknown option here"
                                              : "unexpected argument (not an argument of this "
                                                "command)");
  }
  if (m == "A subcommand is required") return "a command is required";
  return std::string(m);
}

std::string VersionText() {
  std::vector<std::string_view> on, off;
  auto feature = [&](std::string_view name, bool enabled) { (enabled ? on : off).push_back(name); };
#ifdef KESTREL_HAVE_EBPF
  feature("eBPF", true);
  feature("BPF-LSM", true);  // actions_lsm is built with the eBPF source
#else
  feature("eBPF", false);
  feature("BPF-LSM", false);
#endif
#ifdef KESTREL_HAVE_FANOTIFY
  feature("fanotify", true);
#else
  feature("fanotify", false);
#endif
#ifdef KESTREL_HAVE_WASM
  feature("Wasm AOT", true);
#else
  feature("Wasm AOT", false);
#endif
  feature("Kafka", true);  // librdkafka is a required dependency
  std::string out = fmt::format("kestrel {}\n", KESTREL_VERSION);
  out += fmt::format("commit: {}\n", KESTREL_COMMIT);
  out += fmt::format("build: {}\n", KESTREL_BUILD_TYPE);
  out += fmt::format("compiler: {}\n", KESTREL_COMPILER);
  out +=
      fmt::format("features: {}\n", on.empty() ? "none" : fmt::format("{}", fmt::join(on, ", ")));
  if (!off.empty()) out += fmt::format("not built: {}\n", fmt::join(off, ", "));
  // The schema version: the ECS line the catalogue follows and a digest of the catalogue
  // itself (names, types, order: what field ids and recorded logs depend on), so that it
  // changes whenever the catalogue does and cannot drift from it.
  base::Fingerprint digest;
  for (const schema::CatalogueEntry& e : schema::kEcsCatalogue) {
    digest.Add(e.name).Add(static_cast<int64_t>(e.type)).Add(static_cast<int64_t>(e.is_array));
  }
  for (std::string_view c : schema::Schema::StandardCategories()) digest.Add(c);
  out += fmt::format("schema: ecs-8.x-{} ({} catalogue fields, {} event categories)",
                     digest.Hex().substr(0, 12), schema::kEcsCatalogueSize,
                     schema::Schema::StandardCategories().size());
  return out;
}

}  // namespace kestrel::cli
