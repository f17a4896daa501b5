// `kestrel ui`; see ui_command.h.
#include "kestrel/cli/ui_command.h"

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "kestrel/base/status.h"
#include "kestrel/cli/command_line.h"
#include "kestrel/cli/query_input.h"
#include "kestrel/cli/query_output.h"
#include "kestrel/cli/run_command.h"
#include "kestrel/engine/query_engine.h"
#include "kestrel/eql/diagnostic.h"
#include "kestrel/eql/sema.h"
#include "kestrel/event/json_encoder.h"
#include "kestrel/metrics/metrics.h"
#include "kestrel/pipeline/run_config.h"
#include "kestrel/pipeline/stop.h"
#include "kestrel/rules/loader.h"
#include "kestrel/ui/index.h"
#include "kestrel/ui/server.h"

namespace kestrel::cli {
namespace {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The token: the file's first line, 16..256 printable ASCII characters without spaces.
absl::StatusOr<std::string> ReadToken(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::NotFoundError(fmt::format("--token-file {}: cannot open it", path));
  struct stat st {};
  bool shared = ::fstat(fd, &st) == 0 && (st.st_mode & 077) != 0;
  char buf[1024];
  ssize_t n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  if (n < 0) return absl::UnavailableError(fmt::format("--token-file {}: cannot read it", path));
  std::string token(buf, static_cast<size_t>(n));
  token = token.substr(0, token.find('\n'));
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
  if (token.size() < 16 || token.size() > 256) {
    return absl::InvalidArgumentError(fmt::format(
        "--token-file {}: the token (its first line) must be 16 to 256 characters", path));
  }
  for (char c : token) {
    if (c < 0x21 || c > 0x7e) {
      return absl::InvalidArgumentError(
          fmt::format("--token-file {}: the token must be printable ASCII without spaces", path));
    }
  }
  if (shared) {
    fmt::print(stderr, "warning: --token-file {}: readable by group or others (chmod 600 it)\n",
               path);
  }
  return token;
}

struct AlertFileRead {
  uint64_t offset = 0;  // bytes of complete lines read
  uint64_t lines = 0;
};

// Reads the complete lines of an alert file into the index (a last line without its newline is
// left for the tail, which reads it once it is complete).
absl::StatusOr<AlertFileRead> ReadAlertFile(const std::string& path, uint32_t file,
                                            ui::Index* index) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return absl::NotFoundError(fmt::format("--alerts {}: cannot open it", path));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError(
        fmt::format("--alerts {}: not a regular file (an alert file is read and tailed)", path));
  }
  AlertFileRead read;
  std::string data;
  char buf[1 << 16];
  ssize_t n;
  bool skipping = false;  // inside a line past the size bound
  while ((n = ::read(fd, buf, sizeof buf)) > 0) {
    data.append(buf, static_cast<size_t>(n));
    size_t used = 0, nl;
    while ((nl = data.find('\n', used)) != std::string::npos) {
      ++read.lines;
      if (!skipping) {
        index->AppendAlertLine(std::string_view(data).substr(used, nl - used), file, read.lines);
      }
      skipping = false;
      used = nl + 1;
    }
    read.offset += used;
    data.erase(0, used);
    if (data.size() > (8u << 20)) {  // a line past any alert's size: counted once, skipped
      if (!skipping) index->AppendAlertLine(data, file, read.lines + 1);
      read.offset += data.size();
      data.clear();
      skipping = true;
    }
  }
  ::close(fd);
  if (n < 0) return absl::UnavailableError(fmt::format("--alerts {}: read error", path));
  return read;
}

struct Context {
  const UiOptions* options;
  bool endgame = false;
  event::DecoderOptions decoder;
};

absl::StatusOr<std::unique_ptr<QueryInput>> OpenLogs(const Context& c, schema::Schema* schema,
                                                     std::optional<int64_t> from,
                                                     std::optional<int64_t> to, uint64_t* malformed,
                                                     bool only_process_fields = false) {
  QueryInputOptions in;
  in.paths = c.options->logs;
  in.decoder = c.decoder;
  in.now_ns = NowNs();
  if (only_process_fields) in.only_fields = ui::InternProcessFields(schema);
  if (from) in.from = std::to_string(*from);
  if (to) in.to = std::to_string(*to);
  return QueryInput::Open(schema, in, [malformed](const sources::SourceDiagnostic& d) {
    if ((*malformed)++ < 20) {
      fmt::print(stderr, "warning: {}: malformed input skipped: {}\n", d.location, d.reason);
    }
  });
}

ui::HttpAnswer Hunt(const Context& c, const ui::HuntRequest& h) {
  auto started = std::chrono::steady_clock::now();
  auto error = [](int status, const std::string& text) {
    return ui::HttpAnswer{status, nlohmann::json{{"error", text}}.dump(
                                      -1, ' ', false, nlohmann::json::error_handler_t::replace)};
  };
  schema::Schema schema;
  eql::CompileOptions compile;
  compile.dialect = c.endgame ? eql::Dialect::kEndgame : eql::Dialect::kElasticsearch;
  eql::CompileResult compiled = eql::Compile(h.query, schema, compile);
  std::string diagnostics;
  for (const eql::Diagnostic& d : compiled.diagnostics) {
    diagnostics += eql::RenderDiagnostic(d, "query", h.query);
    if (diagnostics.empty() || diagnostics.back() != '\n') diagnostics.push_back('\n');
  }
  if (!compiled.ok()) return error(400, diagnostics);
  auto engine = engine::QueryEngine::Create(compiled.program.get(), schema);
  if (!engine.ok()) return error(400, std::string(base::Message(engine.status())));
  uint64_t malformed = 0;
  auto input = OpenLogs(c, &schema, h.from_ns, h.to_ns, &malformed);
  if (!input.ok()) return error(400, std::string(base::Message(input.status())));
  event::Event e;
  uint64_t index = 0;
  bool timed_out = false, truncated = false;
  while (true) {
    auto more = (*input)->Next(&e);
    if (!more.ok()) return error(500, std::string(base::Message(more.status())));
    if (!*more) break;
    (*engine)->Process(e, index++);
    if ((index & 0xfff) == 0) {
      if (std::chrono::steady_clock::now() - started > h.time_limit) {
        timed_out = true;
        break;
      }
      if ((*engine)->ResultsSoFar() >= h.max_results) {
        truncated = true;
        break;
      }
    }
  }
  std::vector<engine::QueryMatch> results = (*engine)->Finish();
  if (results.size() > h.max_results) {
    results.resize(h.max_results);
    truncated = true;
  }
  QueryOutputOptions out;
  out.format = QueryFormat::kJson;
  out.index.clear();
  for (const std::string& p : c.options->logs) {
    if (!out.index.empty()) out.index.push_back(',');
    out.index += p;
  }
  out.took_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - started)
                    .count();
  std::string body;
  WriteQueryResults(*compiled.program, schema, results, out,
                    [&](std::string_view text) { body.append(text); });
  if (timed_out || truncated) {
    // The same response, marked partial as Elasticsearch marks a search cut short.
    nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
    if (!j.is_discarded()) {
      j["is_partial"] = true;
      j["timed_out"] = timed_out;
      body = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
  }
  return ui::HttpAnswer{200, std::move(body)};
}

nlohmann::json Window(const Context& c, int64_t from, int64_t to,
                      const std::unordered_set<std::string>& keys, size_t max) {
  nlohmann::json out = nlohmann::json::array();
  schema::Schema schema;
  uint64_t malformed = 0;
  auto input = OpenLogs(c, &schema, from, to, &malformed);
  if (!input.ok()) return out;
  ui::EventProcessReader reader(&schema);
  ui::ProcessFields f;
  std::string key, json;
  std::unordered_set<size_t> seen;
  event::Event e;
  event::EventJsonOptions json_options;
  json_options.add_timestamp = true;
  while (true) {
    auto more = (*input)->Next(&e);
    if (!more.ok() || !*more) break;
    bool is_process = false;
    reader.Read(e, &f, &is_process);
    ui::ProcessKeyOf(f, &key);
    if (key.empty() || !keys.contains(key)) continue;
    json.clear();
    event::AppendEventJson(e, schema, &json, json_options);
    // Flight-recorder windows overlap: an event read twice is shown once.
    if (!seen.insert(std::hash<std::string>{}(json) ^ static_cast<size_t>(e.time_ns())).second) {
      continue;
    }
    nlohmann::json ev = nlohmann::json::parse(json, nullptr, false);
    if (ev.is_discarded()) continue;
    out.push_back({{"timestamp_ns", e.time_ns()}, {"process", key}, {"event", std::move(ev)}});
    // Bounded while reading too (the newest `max` are kept).
    if (out.size() >= 2 * max) out.erase(out.begin(), out.begin() + static_cast<ptrdiff_t>(max));
  }
  if (out.size() > max) out.erase(out.begin(), out.end() - static_cast<ptrdiff_t>(max));
  return out;
}

}  // namespace

int UiCommand(const UiOptions& options) {
  if (options.dialect != "elasticsearch" && options.dialect != "endgame") {
    fmt::print(stderr, "error: --dialect: '{}' is not elasticsearch or endgame\n", options.dialect);
    return kExitUsage;
  }
  ui::ServerOptions server_options;
  server_options.listen = options.listen;
  server_options.attach = options.attach;
  server_options.logs = options.logs;
  server_options.alert_files = options.alerts;
  if (options.token_file) {
    auto token = ReadToken(*options.token_file);
    if (!token.ok()) {
      fmt::print(stderr, "error: {}\n", base::Message(token.status()));
      return kExitUsage;
    }
    server_options.token = *token;
  }
  // Refused before anything is read: a non-loopback address without a token.
  if (auto split = metrics::SplitAddress(options.listen); !split.ok()) {
    fmt::print(stderr, "error: --listen {}: {}\n", options.listen, base::Message(split.status()));
    return kExitUsage;
  } else if (!metrics::IsLoopbackHost(split->first) && !server_options.token) {
    fmt::print(stderr,
               "error: --listen {} is not a loopback address: anyone who can reach it could read "
               "the alerts and logs; give --token-file FILE (a secret every request must carry), "
               "or listen on 127.0.0.1\n",
               options.listen);
    return kExitUsage;
  }
  if (options.attach) {
    if (auto split = metrics::SplitAddress(*options.attach); !split.ok()) {
      fmt::print(stderr, "error: --attach {}: {}\n", *options.attach,
                 base::Message(split.status()));
      return kExitUsage;
    }
  }
  Context c;
  c.options = &options;
  c.endgame = options.dialect == "endgame";
  if (absl::Status s =
          pipeline::ApplyTimeOptions(c.endgame, std::nullopt, std::nullopt, &c.decoder);
      !s.ok()) {
    fmt::print(stderr, "error: {}\n", base::Message(s));
    return kExitFailure;
  }
  auto started = std::chrono::steady_clock::now();
  schema::Schema schema;
  ui::IndexLimits limits;
  limits.max_events = options.max_events;
  ui::Index index(&schema, limits);
  uint64_t malformed = 0;
  if (!options.logs.empty()) {
    // The index reads only the process fields: the rest of each record is stepped over.
    auto input = OpenLogs(c, &schema, std::nullopt, std::nullopt, &malformed, true);
    if (!input.ok()) {
      fmt::print(stderr, "error: --logs: {}\n", base::Message(input.status()));
      return kExitFailure;
    }
    event::Event e;
    uint64_t ordinal = 0;
    while (true) {
      auto more = (*input)->Next(&e);
      if (!more.ok()) {
        fmt::print(stderr, "error: --logs: {}\n", base::Message(more.status()));
        return kExitFailure;
      }
      if (!*more) break;
      index.AddEvent(e, 0, ordinal++);
    }
  }
  for (size_t f = 0; f < options.alerts.size(); ++f) {
    auto read = ReadAlertFile(options.alerts[f], static_cast<uint32_t>(f), &index);
    if (!read.ok()) {
      fmt::print(stderr, "error: {}\n", base::Message(read.status()));
      return read.status().code() == absl::StatusCode::kInvalidArgument ? kExitUsage : kExitFailure;
    }
    server_options.alert_offsets.push_back(read->offset);
    server_options.alert_lines.push_back(read->lines);
  }
  index.Finish();
  // Rule texts by id (--rules), for the alert view.
  auto rule_texts = std::make_shared<std::unordered_map<std::string, std::string>>();
  if (!options.rules.empty()) {
    rules::LoadResult loaded = rules::LoadRulePaths(options.rules);
    for (const rules::LoadDiagnostic& d : loaded.diagnostics) {
      if (d.kind == rules::LoadDiagnostic::Kind::kError) {
        fmt::print(stderr, "warning: --rules: {}\n", rules::FormatLoadDiagnostic(d));
      }
    }
    for (const rules::RuleSpec& r : loaded.rules) {
      rule_texts->emplace(r.id, fmt::format("// {}:{}\n{}", r.file, r.position.line, r.query));
    }
  }
  ui::IndexCounters counters = index.counters();
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  fmt::print(stderr,
             "kestrel ui: indexed {} events ({} held, {} past --max-events), {} processes, {} "
             "alerts ({} malformed, {} past the cap), {} malformed inputs, in {:.2f} s\n",
             counters.events_seen, counters.events_held, counters.events_dropped,
             counters.processes, counters.alerts, counters.alerts_malformed,
             counters.alerts_dropped, malformed, seconds);
  pipeline::InstallStopSignals();
  auto server = ui::Server::Start(
      &index, server_options,
      options.logs.empty() ? ui::HuntFn()
                           : ui::HuntFn([&c](const ui::HuntRequest& h) { return Hunt(c, h); }),
      options.logs.empty()
          ? ui::WindowFn()
          : ui::WindowFn([&c](int64_t from, int64_t to, const std::unordered_set<std::string>& keys,
                              size_t max) { return Window(c, from, to, keys, max); }),
      [rule_texts](const std::string& id) -> std::optional<std::string> {
        auto it = rule_texts->find(id);
        if (it == rule_texts->end()) return std::nullopt;
        return it->second;
      });
  if (!server.ok()) {
    fmt::print(stderr, "error: {}\n", base::Message(server.status()));
    return server.status().code() == absl::StatusCode::kInvalidArgument ? kExitUsage : kExitFailure;
  }
  fmt::print(stderr, "kestrel ui: open {}\n", (*server)->Url());
  std::fflush(stderr);
  while (!pipeline::StopFlag().load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  (*server)->Stop();
  return kExitOk;
}

Command AddUiCommand(CLI::App& app) {
  auto o = std::make_shared<UiOptions>();
  CLI::App* cmd = app.add_subcommand(
      "ui",
      "Serve a local investigation web view (alerts, process trees, hunts, the rules of a "
      "running instance) over recorded logs and alert files; read-only");
  cmd->add_option("--logs", o->logs,
                  "Event logs to investigate: .klog files, directories of them, NDJSON files")
      ->check(CLI::ExistingPath);
  cmd->add_option("--alerts", o->alerts,
                  "Alert files (NDJSON as kestrel run writes them); appended alerts show live")
      ->check(CLI::ExistingFile);
  cmd->add_option("--rules", o->rules,
                  "Rule files or directories: the alert view shows each alert's rule text")
      ->check(CLI::ExistingPath);
  cmd->add_option("--attach", o->attach,
                  "A running kestrel run's --metrics-addr (HOST:PORT): the rules view's figures");
  cmd->add_option("--listen", o->listen,
                  "Address to serve on (HOST:PORT); not loopback only with --token-file")
      ->capture_default_str();
  cmd->add_option("--token-file", o->token_file,
                  "A file whose first line is a secret token every request must carry "
                  "(required for a non-loopback --listen)");
  AddDialectOption(cmd, &o->dialect,
                   "EQL dialect of hunts (and Endgame time fields of NDJSON logs)");
  cmd->add_option("--max-events", o->max_events,
                  "Events held in memory at most (24 bytes each); past it they are counted, not "
                  "held")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->footer(kExitCodesHelp);
  return {cmd, [o] { return UiCommand(*o); }};
}

}  // namespace kestrel::cli
