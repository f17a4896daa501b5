#include "kestrel/cli/docgen.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "kestrel/base/files.h"
#include "kestrel/cli/run_command.h"

namespace kestrel::cli {
namespace {

// A command of the tree: its words after `kestrel` ("" for kestrel itself, "log info").
struct Node {
  const CLI::App* app;
  std::string path;
};

// Visible subcommands of `app`: named, not hidden (CLI11 hides a subcommand whose group is
// empty). Nameless ones are option groups: their options belong to `app`.
std::vector<const CLI::App*> Subcommands(const CLI::App& app) {
  std::vector<const CLI::App*> out;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    if (!sub->get_name().empty() && !sub->get_group().empty()) out.push_back(sub);
  }
  return out;
}

// Options of `app` and of its option groups, in definition order.
std::vector<const CLI::Option*> Options(const CLI::App& app) {
  std::vector<const CLI::Option*> out = app.get_options();
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    if (!sub->get_name().empty()) continue;
    for (const CLI::Option* o : sub->get_options()) out.push_back(o);
  }
  return out;
}

void Walk(const CLI::App& app, const std::string& path, std::vector<Node>* out) {
  out->push_back({&app, path});
  for (const CLI::App* sub : Subcommands(app)) {
    Walk(*sub, path.empty() ? sub->get_name() : path + " " + sub->get_name(), out);
  }
}

// A flag expects no value (CLI11 gives it expected(0)); an option one or more.
bool TakesValue(const CLI::Option& o) { return o.get_expected_max() != 0; }

// A positional argument as the synopsis shows it: NAME, or NAME... when it takes several.
std::string PositionalName(const CLI::Option& o) {
  std::string name = o.get_name(true);
  return o.get_expected_max() > 1 ? name + "..." : name;
}

// Every name of a non-positional option: -h, --help.
std::vector<std::string> FlagNames(const CLI::Option& o) {
  std::vector<std::string> names;
  for (const std::string& s : o.get_snames()) names.push_back("-" + s);
  for (const std::string& l : o.get_lnames()) names.push_back("--" + l);
  return names;
}

// The value's type as CLI11 shows it ("TEXT", "INT in [0 - 256]") without IsMember's choices.
std::string TypeName(const CLI::Option& o) {
  std::string t = o.get_type_name();
  if (size_t brace = t.find(":{"); brace != std::string::npos) t.resize(brace);
  return t.empty() ? "VALUE" : t;
}

// The choices of an option checked with CLI::IsMember: CLI11 writes them into its type name as
// "TEXT:{a,b,c}".
std::vector<std::string> Choices(const CLI::Option& o) {
  std::vector<std::string> out;
  std::string t = o.get_type_name();
  size_t open = t.find(":{");
  size_t close = t.rfind('}');
  if (open == std::string::npos || close == std::string::npos || close < open) return out;
  std::string_view list(t.data() + open + 2, close - open - 2);
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return out;
}

// Text for roff: backslashes and hyphens escaped, a line starting with a control character made
// literal, blank lines dropped (roff reads them as paragraph breaks).
std::string Roff(std::string_view text) {
  std::string out;
  bool line_start = true;
  for (char c : text) {
    if (line_start && (c == '.' || c == '\'')) out += "\\&";
    line_start = false;
    switch (c) {
      case '\\':
        out += "\\e";
        break;
      case '-':
        out += "\\-";
        break;
      case '\n':
        if (!out.empty() && out.back() != '\n') out += '\n';
        line_start = true;
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string Join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const std::string& s : items) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

void ManOptions(const CLI::App& app, std::string* out) {
  for (const CLI::Option* o : Options(app)) {
    std::vector<std::string> names = FlagNames(*o);
    *out += ".TP\n";
    if (names.empty()) {  // a positional argument
      *out += fmt::format("\\fI{}\\fR\n", Roff(PositionalName(*o)));
    } else {
      std::vector<std::string> bold;
      for (const std::string& n : names) bold.push_back("\\fB" + Roff(n) + "\\fR");
      *out += Join(bold, ", ");
      if (TakesValue(*o)) *out += fmt::format(" \\fI{}\\fR", Roff(TypeName(*o)));
      *out += '\n';
    }
    std::string desc = o->get_description();
    std::vector<std::string> choices = Choices(*o);
    if (!choices.empty()) desc += fmt::format(" (one of: {})", Join(choices, ", "));
    if (!o->get_default_str().empty()) desc += fmt::format(" (default: {})", o->get_default_str());
    if (o->get_required()) desc += " (required)";
    *out += Roff(desc) + "\n";
  }
}

std::string Synopsis(const CLI::App& app, const std::string& path) {
  std::string s = "\\fBkestrel\\fR";
  if (!path.empty()) s += " \\fB" + Roff(path) + "\\fR";
  bool has_flags = false;
  std::vector<std::string> positionals;
  for (const CLI::Option* o : Options(app)) {
    if (FlagNames(*o).empty()) {
      positionals.push_back(PositionalName(*o));
    } else {
      has_flags = true;
    }
  }
  if (has_flags) s += " [\\fIOPTIONS\\fR]";
  if (!Subcommands(app).empty()) s += " \\fICOMMAND\\fR";
  for (const std::string& p : positionals) s += " \\fI" + Roff(p) + "\\fR";
  return s;
}

// A bash word list, quoted for a double-quoted string (option names and choices carry no quotes,
// but a choice could hold `$` or a backquote).
std::string BashWords(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) {
    if (!out.empty()) out += ' ';
    for (char c : w) {
      if (c == '"' || c == '\\' || c == '$' || c == '`') out += '\\';
      out += c;
    }
  }
  return out;
}

int WriteDocument(const std::string& text, const std::string& output) {
  if (output.empty() || output == "-") {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return std::fflush(stdout) == 0 ? kExitOk : kExitFailure;
  }
  absl::StatusOr<int> fd = base::OpenPrivateFile(output, O_WRONLY | O_TRUNC);
  if (!fd.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(fd.status().message()).c_str());
    return kExitFailure;
  }
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(*fd, text.data() + done, text.size() - done);
    if (n <= 0) {
      std::fprintf(stderr, "error: cannot write '%s'\n", output.c_str());
      ::close(*fd);
      return kExitFailure;
    }
    done += static_cast<size_t>(n);
  }
  return ::close(*fd) == 0 ? kExitOk : kExitFailure;
}

}  // namespace

std::string RenderManPage(const CLI::App& app, const std::string& version) {
  std::vector<Node> nodes;
  Walk(app, "", &nodes);
  std::string out;
  out += ".\\\" kestrel(1), generated from the command definitions (src/kestrel/cli/docgen.h).\n";
  out += fmt::format(".TH KESTREL 1 \"\" \"kestrel {}\" \"User Commands\"\n", Roff(version));
  out += ".SH NAME\nkestrel \\- endpoint behaviour detection with EQL rules over ECS events\n";
  out += ".SH SYNOPSIS\n" + Synopsis(app, "") + "\n";
  for (const Node& n : nodes) {
    if (n.path.empty() || !Subcommands(*n.app).empty()) continue;
    out += ".br\n" + Synopsis(*n.app, n.path) + "\n";
  }
  out += ".SH DESCRIPTION\n" + Roff(app.get_description()) + "\n";
  out +=
      ".PP\nThe options before the command apply to every command. The configuration file "
      "(\\fB\\-\\-config\\fR, default \\fI/etc/kestrel/kestrel.yaml\\fR when it exists) is "
      "read first; the command line overrides it.\n";
  out += ".SH OPTIONS\n";
  ManOptions(app, &out);
  out += ".SH COMMANDS\n";
  for (const Node& n : nodes) {
    if (n.path.empty()) continue;
    out += fmt::format(".SS \"kestrel {}\"\n", Roff(n.path));
    out += Synopsis(*n.app, n.path) + "\n.PP\n" + Roff(n.app->get_description()) + "\n";
    std::vector<std::string> subs;
    for (const CLI::App* s : Subcommands(*n.app)) subs.push_back(s->get_name());
    if (!subs.empty()) out += ".PP\nCommands: " + Roff(Join(subs, ", ")) + ".\n";
    ManOptions(*n.app, &out);
  }
  out += ".SH EXIT STATUS\n.nf\n";
  std::string footer = app.get_footer();
  if (constexpr std::string_view kHead = "Exit codes:\n"; footer.rfind(kHead, 0) == 0) {
    footer.erase(0, kHead.size());
  }
  out += Roff(footer) + "\n.fi\n";
  out +=
      ".SH FILES\n"
      ".TP\n\\fI/etc/kestrel/kestrel.yaml\\fR\nThe configuration file (commented defaults; "
      "\\fBkestrel config check\\fR validates it).\n"
      ".TP\n\\fI/usr/share/kestrel/rules\\fR\nThe default rule pack (\\fIrules/\\fR beside "
      "the binary and \\fI../share/kestrel/rules\\fR relative to it are searched when "
      "\\fB\\-\\-rules\\fR is not given).\n"
      ".TP\n\\fI/var/lib/kestrel\\fR\nState: sink spools (\\fIspool/\\fR), flight "
      "recordings.\n"
      ".TP\n\\fI/var/log/kestrel\\fR\nAlert files, when the configuration names them there.\n";
  out +=
      ".SH SEE ALSO\n\\fBsystemctl\\fR(1), \\fBjournalctl\\fR(1); "
      "\\fI/usr/share/doc/kestrel/deployment.md\\fR, "
      "\\fI/usr/share/doc/kestrel/configuration.md\\fR, \\fI/usr/share/doc/kestrel/rules.md\\fR\n";
  return out;
}

std::string RenderBashCompletion(const CLI::App& app) {
  std::vector<Node> nodes;
  Walk(app, "", &nodes);
  std::string subs_case, flags_case, value_case, choices_case, positional_case;
  for (const Node& n : nodes) {
    std::string key = n.path.empty() ? "kestrel" : "kestrel " + n.path;
    std::vector<std::string> subs, flags, value_flags;
    bool positional = false;
    for (const CLI::App* s : Subcommands(*n.app)) subs.push_back(s->get_name());
    for (const CLI::Option* o : Options(*n.app)) {
      std::vector<std::string> names = FlagNames(*o);
      if (names.empty()) positional = true;
      for (const std::string& name : names) {
        flags.push_back(name);
        if (TakesValue(*o)) value_flags.push_back(name);
        std::vector<std::string> choices = Choices(*o);
        if (!choices.empty()) {
          choices_case +=
              fmt::format("    \"{} {}\") echo \"{}\" ;;\n", key, name, BashWords(choices));
        }
      }
    }
    if (!subs.empty())
      subs_case += fmt::format("    \"{}\") echo \"{}\" ;;\n", key, BashWords(subs));
    flags_case += fmt::format("    \"{}\") echo \"{}\" ;;\n", key, BashWords(flags));
    if (!value_flags.empty()) {
      value_case += fmt::format("    \"{}\") echo \"{}\" ;;\n", key, BashWords(value_flags));
    }
    if (positional) positional_case += fmt::format("    \"{}\") return 0 ;;\n", key);
  }
  std::string out =
      "# bash completion for kestrel(1), generated from the command definitions\n"
      "# (src/kestrel/cli/docgen.h). Installed as share/bash-completion/completions/kestrel.\n\n";
  out += "_kestrel_subcommands() {\n  case \"$1\" in\n" + subs_case + "  esac\n}\n";
  out += "_kestrel_flags() {\n  case \"$1\" in\n" + flags_case + "  esac\n}\n";
  out += "_kestrel_value_flags() {\n  case \"$1\" in\n" + value_case + "  esac\n}\n";
  out += "_kestrel_choices() {\n  case \"$1 $2\" in\n" + choices_case + "  esac\n}\n";
  out += "_kestrel_has_positional() {\n  case \"$1\" in\n" + positional_case +
         "  esac\n  return 1\n}\n";
  out += R"BASH(_kestrel_in() {
  local word=$1 w
  shift
  for w in $*; do [ "$w" = "$word" ] && return 0; done
  return 1
}

_kestrel() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev="" path=kestrel i w skip=0
  # The command path (kestrel, kestrel log, kestrel log info): the words before the cursor that
  # are subcommands, skipping flags and the values of the flags that take one.
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=${COMP_WORDS[i]}
    if [ "$skip" = 1 ]; then
      skip=0
      [ "$w" = "=" ] && skip=1
      continue
    fi
    case "$w" in
      -*=*) ;;
      -*) _kestrel_in "$w" "$(_kestrel_value_flags "$path")" && skip=1 ;;
      *) _kestrel_in "$w" "$(_kestrel_subcommands "$path")" && path="$path $w" ;;
    esac
  done
  # The flag whose value is being completed: `--flag VALUE`, `--flag=VALUE` (bash splits at '=').
  if [ "$COMP_CWORD" -ge 2 ] && [ "${COMP_WORDS[COMP_CWORD - 1]}" = "=" ]; then
    prev=${COMP_WORDS[COMP_CWORD - 2]}
  elif [ "$cur" = "=" ]; then
    prev=${COMP_WORDS[COMP_CWORD - 1]}
    cur=""
  elif [ "$COMP_CWORD" -ge 1 ]; then
    prev=${COMP_WORDS[COMP_CWORD - 1]}
    _kestrel_in "$prev" "$(_kestrel_value_flags "$path")" || prev=""
  fi
  if [ -n "$prev" ]; then
    local choices
    choices=$(_kestrel_choices "$path" "$prev")
    if [ -n "$choices" ]; then
      COMPREPLY=($(compgen -W "$choices" -- "$cur"))
    else
      compopt -o filenames 2>/dev/null
      COMPREPLY=($(compgen -f -- "$cur"))
    fi
    return 0
  fi
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$(_kestrel_flags "$path")" -- "$cur"))
    return 0
  fi
  local subs
  subs=$(_kestrel_subcommands "$path")
  if [ -n "$subs" ]; then
    COMPREPLY=($(compgen -W "$subs" -- "$cur"))
  elif _kestrel_has_positional "$path"; then
    compopt -o filenames 2>/dev/null
    COMPREPLY=($(compgen -f -- "$cur"))
  else
    COMPREPLY=()
  fi
  return 0
}
complete -F _kestrel kestrel
)BASH";
  return out;
}

std::vector<Command> AddGenerateCommands(CLI::App& app, const std::string& version) {
  // The options' variables live as long as the commands that hold them.
  auto output = std::make_shared<std::string>();
  CLI::App* man = app.add_subcommand("__man", "Print the man page kestrel(1) (roff)");
  man->group("");  // hidden from --help, the man page and the completion
  man->add_option("--output", *output, "Write it to this file instead of stdout");
  auto shell = std::make_shared<std::string>();
  CLI::App* completion =
      app.add_subcommand("__completion", "Print the shell completion script for kestrel");
  completion->group("");
  completion->add_option("shell", *shell, "The shell")->required()->check(CLI::IsMember({"bash"}));
  completion->add_option("--output", *output, "Write it to this file instead of stdout");
  const CLI::App* root = &app;
  return {
      {man,
       [root, output, version] { return WriteDocument(RenderManPage(*root, version), *output); }},
      // `shell` is bound to the option: the command keeps it alive (bash is its only value).
      {completion,
       [root, output, shell] {
         if (*shell != "bash") return kExitUsage;  // IsMember refused it already
         return WriteDocument(RenderBashCompletion(*root), *output);
       }},
  };
}

}  // namespace kestrel::cli
