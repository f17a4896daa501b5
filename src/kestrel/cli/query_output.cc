// `kestrel query --format`; see query_output.h.
#include "kestrel/cli/query_output.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "kestrel/base/time.h"
#include "kestrel/eql/ir_eval.h"
#include "kestrel/event/json_encoder.h"
#include "kestrel/event/json_writer.h"

namespace kestrel::cli {
namespace {

// Hunting output shows every event with its time, `@timestamp` added where the input had none;
// a `count` pipe's rows are not events and have no time.
constexpr event::EventJsonOptions kWithTimestamp{.add_timestamp = true};
constexpr event::EventJsonOptions kCountRow{};

constexpr size_t kFlushBytes = 64 * 1024;
constexpr size_t kMinColumn = 8;  // a column is never elided below this (or its natural width)

bool IsContinuation(unsigned char c) { return (c & 0xC0) == 0x80; }

size_t DisplayWidth(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += IsContinuation(c) ? 0 : 1;
  return n;
}

// Control characters escaped, so a value cannot move the cursor or recolour the terminal.
void AppendPrintable(std::string_view s, std::string* out) {
  for (unsigned char c : s) {
    if (c == '\n') {
      out->append("\\n");
    } else if (c == '\t') {
      out->append("\\t");
    } else if (c == '\r') {
      out->append("\\r");
    } else if (c < 0x20 || c == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out->append("\\x");
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 15]);
    } else {
      out->push_back(static_cast<char>(c));
    }
  }
}

// A value as a table cell: strings bare, arrays joined with ", ", others as JSON.
void AppendCell(const event::Value& v, std::string* out) {
  switch (v.kind()) {
    case event::ValueKind::kNull:
      return;
    case event::ValueKind::kString:
    case event::ValueKind::kRawJson:
      AppendPrintable(v.as_string(), out);
      return;
    case event::ValueKind::kIp:
      out->append(v.as_ip().ToString());
      return;
    case event::ValueKind::kArray: {
      bool first = true;
      for (const event::Value& e : v.as_array()) {
        if (!first) out->append(", ");
        first = false;
        AppendCell(e, out);
      }
      return;
    }
    default: {
      std::string json;
      event::AppendJsonValue(&json, v);
      AppendPrintable(json, out);
      return;
    }
  }
}

void CollectFields(const eql::IrNode& node, const schema::Schema& schema,
                   absl::flat_hash_set<std::string_view>* seen, std::vector<std::string>* out) {
  if (node.op == eql::IrOp::kField) {
    std::string_view name = schema.Info(node.field).name;
    if (seen->insert(name).second) out->emplace_back(name);
  }
  for (const eql::IrNodePtr& c : node.children) {
    if (c) CollectFields(*c, schema, seen, out);
  }
}

const eql::IrPipe* CountPipe(const eql::IrProgram& program) {
  const eql::IrPipe* found = nullptr;
  for (const eql::IrPipe& p : program.pipes) {
    if (p.kind == eql::PipeKind::kCount) found = &p;
  }
  return found;
}

bool Grouped(const eql::IrProgram& program) { return program.kind != eql::QueryKind::kEvent; }

const event::Value* FieldOf(const event::Event& e, schema::Schema& schema, std::string_view name) {
  std::optional<schema::FieldId> id = schema.Find(name);
  return id ? e.Find(*id) : nullptr;
}

// The slots of a grouped result in stage order: an event, or nullptr for a `![...]` stage. When
// the match's events do not line up with the stages (never expected), the events alone.
std::vector<const event::Event*> StageSlots(const eql::IrProgram& program,
                                            const engine::QueryMatch& m,
                                            std::vector<int64_t>* ordinals) {
  std::vector<const event::Event*> out;
  ordinals->clear();
  size_t positive = 0;
  for (const eql::IrStage& s : program.stages) {
    if (!s.missing) positive += static_cast<size_t>(std::max<int64_t>(1, s.runs.value_or(1)));
  }
  bool aligned = positive == m.events.size();
  size_t next = 0;
  for (const eql::IrStage& s : program.stages) {
    if (aligned && s.missing) {
      out.push_back(nullptr);
      ordinals->push_back(-1);
      continue;
    }
    if (!aligned) break;
    size_t runs = static_cast<size_t>(std::max<int64_t>(1, s.runs.value_or(1)));
    for (size_t r = 0; r < runs; ++r, ++next) {
      out.push_back(m.events[next].get());
      ordinals->push_back(
          next < m.event_indexes.size() ? static_cast<int64_t>(m.event_indexes[next]) : -1);
    }
  }
  if (!aligned) {
    for (size_t i = 0; i < m.events.size(); ++i) {
      out.push_back(m.events[i].get());
      ordinals->push_back(i < m.event_indexes.size() ? static_cast<int64_t>(m.event_indexes[i])
                                                     : -1);
    }
  }
  return out;
}

// Buffered writes through the caller's function.
class Out {
 public:
  explicit Out(const std::function<void(std::string_view)>& write) : write_(write) {}
  ~Out() { Flush(); }
  std::string& buf() { return buf_; }
  void MaybeFlush() {
    if (buf_.size() >= kFlushBytes) Flush();
  }
  void Flush() {
    if (!buf_.empty()) write_(buf_);
    buf_.clear();
  }

 private:
  const std::function<void(std::string_view)>& write_;
  std::string buf_;
};

// ---- ndjson ---------------------------------------------------------------------------------

void WriteNdjson(const eql::IrProgram& program, schema::Schema& schema,
                 const std::vector<engine::QueryMatch>& results, Out& out) {
  const event::EventJsonOptions& json = CountPipe(program) != nullptr ? kCountRow : kWithTimestamp;
  bool keyed = Grouped(program) && CountPipe(program) == nullptr;
  std::optional<schema::FieldId> seq_id, keys_id;
  if (keyed) {
    auto s = schema.Intern("kestrel.sequence", schema::FieldType::kLong, false);
    auto k = schema.Intern("kestrel.join_keys", schema::FieldType::kKeyword, true);
    if (s.ok() && k.ok()) {
      seq_id = *s;
      keys_id = *k;
    }
  }
  uint64_t number = 0;
  for (const engine::QueryMatch& m : results) {
    ++number;
    std::string keys;
    if (seq_id) keys = JoinKeysJson(program, schema, m);
    for (const auto& ev : m.events) {
      if (seq_id) {
        event::Event copy(*ev);
        copy.SetInt(*seq_id, static_cast<int64_t>(number));
        copy.SetRawJson(*keys_id, keys);
        copy.Finish();
        event::AppendEventJson(copy, schema, &out.buf(), json);
      } else {
        event::AppendEventJson(*ev, schema, &out.buf(), json);
      }
      out.buf().push_back('\n');
      out.MaybeFlush();
    }
  }
}

// ---- json (Elasticsearch's EQL search response) ---------------------------------------------

void AppendHit(std::string_view index, int64_t ordinal, const event::Event& e,
               const schema::Schema& schema, std::string* out,
               const event::EventJsonOptions& json = kWithTimestamp) {
  out->append("{\"_index\":");
  event::AppendJsonString(out, index);
  out->append(",\"_id\":\"");
  out->append(std::to_string(ordinal));
  out->append("\",\"_source\":");
  event::AppendEventJson(e, schema, out, json);
  out->push_back('}');
}

void WriteJson(const eql::IrProgram& program, schema::Schema& schema,
               const std::vector<engine::QueryMatch>& results, const QueryOutputOptions& options,
               Out& out) {
  std::string& b = out.buf();
  b.append("{\"is_partial\":false,\"is_running\":false,\"took\":");
  b.append(std::to_string(std::max<int64_t>(0, options.took_ms)));
  b.append(",\"timed_out\":false,\"hits\":{\"total\":{\"value\":");
  b.append(std::to_string(results.size() + options.counted_before));
  b.append(",\"relation\":\"eq\"}");
  if (options.count_only) {
    b.append("}}\n");
    return;
  }
  bool count = CountPipe(program) != nullptr;
  if (!Grouped(program) || count) {
    b.append(",\"events\":[");
    for (size_t i = 0; i < results.size(); ++i) {
      const engine::QueryMatch& m = results[i];
      for (size_t j = 0; j < m.events.size(); ++j) {
        if (i > 0 || j > 0) b.push_back(',');
        if (count) {
          AppendHit("kestrel-count", static_cast<int64_t>(i), *m.events[j], schema, &b, kCountRow);
        } else {
          int64_t ordinal =
              j < m.event_indexes.size() ? static_cast<int64_t>(m.event_indexes[j]) : -1;
          AppendHit(options.index, ordinal, *m.events[j], schema, &b);
        }
        out.MaybeFlush();
      }
    }
    b.append("]}}\n");
    return;
  }
  b.append(",\"sequences\":[");
  std::vector<int64_t> ordinals;
  for (size_t i = 0; i < results.size(); ++i) {
    const engine::QueryMatch& m = results[i];
    if (i > 0) b.push_back(',');
    b.append("{\"join_keys\":");
    b.append(JoinKeysJson(program, schema, m));
    b.append(",\"events\":[");
    std::vector<const event::Event*> slots = StageSlots(program, m, &ordinals);
    for (size_t j = 0; j < slots.size(); ++j) {
      if (j > 0) b.push_back(',');
      if (slots[j] == nullptr) {
        b.append("{\"_index\":\"\",\"_id\":\"\",\"_source\":{},\"missing\":true}");
      } else {
        AppendHit(options.index, ordinals[j], *slots[j], schema, &b);
      }
    }
    b.append("]}");
    out.MaybeFlush();
  }
  b.append("]}}\n");
}

// ---- table ----------------------------------------------------------------------------------

struct Table {
  std::vector<std::string> headers;
  // A row: cells, or a group line (`group` set, no cells).
  struct Row {
    std::vector<std::string> cells;
    std::string group;
    bool missing = false;
  };
  std::vector<Row> rows;
  size_t indent = 0;  // of data rows, when grouped
};

std::string TimeCell(const event::Event& e, schema::Schema& schema) {
  std::string s;
  if (const event::Value* v = FieldOf(e, schema, "@timestamp"); v != nullptr && !v->is_null()) {
    AppendCell(*v, &s);
    return s;
  }
  int64_t ns = e.wall_ns() != 0 ? e.wall_ns() : e.time_ns();
  return base::FormatTimestamp(ns, 3);
}

std::string CategoryCell(const event::Event& e, schema::Schema& schema) {
  std::string s;
  if (const event::Value* v = FieldOf(e, schema, "event.category"); v != nullptr) {
    AppendCell(*v, &s);
    return s;
  }
  for (schema::CategoryId c = 0; c < schema::Schema::kMaxCategories; ++c) {
    if (!e.InCategory(c)) continue;
    if (!s.empty()) s.append(", ");
    AppendPrintable(schema.CategoryName(c), &s);
  }
  return s;
}

void RenderTable(const Table& t, size_t width, Out& out) {
  size_t n = t.headers.size();
  // Columns empty in every row (other than the first) are left out.
  std::vector<bool> keep(n, false);
  if (n > 0) keep[0] = true;
  for (const Table::Row& r : t.rows) {
    for (size_t i = 0; i < r.cells.size() && i < n; ++i) keep[i] = keep[i] || !r.cells[i].empty();
  }
  std::vector<size_t> cols;
  for (size_t i = 0; i < n; ++i) {
    if (keep[i]) cols.push_back(i);
  }
  // Widths: the widest of header and cells, at most the terminal. When the row is too wide,
  // headers wider than their column's values are elided first (down to kMinColumn), then the
  // widest column is narrowed, one step at a time, toward the next widest (the first column,
  // the time, never).
  std::vector<size_t> w(cols.size()), data(cols.size(), 0);
  for (size_t c = 0; c < cols.size(); ++c) {
    for (const Table::Row& r : t.rows) {
      if (cols[c] < r.cells.size()) data[c] = std::max(data[c], DisplayWidth(r.cells[cols[c]]));
    }
    w[c] = std::min(std::max(data[c], DisplayWidth(t.headers[cols[c]])),
                    std::max<size_t>(width, kMinColumn));
  }
  size_t sum = t.indent + (w.empty() ? 0 : 2 * (w.size() - 1));
  for (size_t x : w) sum += x;
  auto shrink = [&](const std::vector<size_t>& floor) {
    while (sum > width) {
      size_t widest = w.size();
      for (size_t c = 1; c < w.size(); ++c) {
        if (w[c] > floor[c] && (widest == w.size() || w[c] > w[widest])) widest = c;
      }
      if (widest == w.size()) return;
      size_t second = 0;
      for (size_t c = 1; c < w.size(); ++c) {
        if (c != widest) second = std::max(second, w[c]);
      }
      size_t cut = std::min({sum - width, w[widest] - floor[widest],
                             std::max<size_t>(1, w[widest] - std::max(second, floor[widest]))});
      w[widest] -= cut;
      sum -= cut;
    }
  };
  std::vector<size_t> floor(w.size());
  for (size_t c = 0; c < w.size(); ++c) floor[c] = std::min(w[c], std::max(kMinColumn, data[c]));
  shrink(floor);
  for (size_t c = 0; c < w.size(); ++c) floor[c] = std::min(w[c], kMinColumn);
  shrink(floor);
  // Headers keep their end (`…parent.pid`): the last parts of a field path tell columns apart.
  auto elide_start = [](std::string_view text, size_t width) {
    if (DisplayWidth(text) <= width || width == 0) return std::string(width == 0 ? "" : text);
    size_t start = text.size(), kept = 0;
    while (start > 0 && kept + 1 < width) {
      --start;
      if (!IsContinuation(static_cast<unsigned char>(text[start]))) ++kept;
    }
    return "…" + std::string(text.substr(start));
  };
  auto line = [&](const std::vector<std::string>& cells, bool header) {
    std::string& b = out.buf();
    b.append(t.indent, ' ');
    size_t pending = 0;  // spaces owed before the next cell (trailing ones are not written)
    for (size_t c = 0; c < cols.size(); ++c) {
      std::string_view text = cols[c] < cells.size() ? cells[cols[c]] : std::string_view();
      std::string cell = header ? elide_start(text, w[c]) : ElideMiddle(text, w[c]);
      if (!cell.empty()) {
        b.append(pending, ' ');
        pending = 0;
        b.append(cell);
      }
      pending += w[c] - DisplayWidth(cell) + 2;
    }
    b.push_back('\n');
    out.MaybeFlush();
  };
  std::vector<std::string> headers = t.headers;
  line(headers, true);
  for (const Table::Row& r : t.rows) {
    if (!r.group.empty()) {
      out.buf().append(ElideMiddle(r.group, width));
      out.buf().push_back('\n');
    } else if (r.missing) {
      out.buf().append(t.indent, ' ');
      out.buf().append("(missing event: no match for a ![...] stage)\n");
    } else {
      line(r.cells, false);
    }
  }
}

void WriteTable(const eql::IrProgram& program, schema::Schema& schema,
                const std::vector<engine::QueryMatch>& results, const QueryOutputOptions& options,
                Out& out) {
  if (options.count_only) {
    out.buf().append(std::to_string(results.size() + options.counted_before));
    out.buf().push_back('\n');
    return;
  }
  Table t;
  if (const eql::IrPipe* count = CountPipe(program); count != nullptr) {
    // One row per key: the key's columns (one per `count` argument), count, percent.
    for (size_t i = 0; i < count->args.size(); ++i) {
      const eql::IrNode& a = *count->args[i];
      t.headers.push_back(a.op == eql::IrOp::kField ? std::string(schema.Info(a.field).name)
                                                    : "key" + std::to_string(i + 1));
    }
    if (t.headers.empty()) t.headers.push_back("key");
    t.headers.push_back("count");
    t.headers.push_back("percent");
    size_t nkeys = t.headers.size() - 2;
    for (const engine::QueryMatch& m : results) {
      if (m.events.empty()) continue;
      const event::Event& e = *m.events.front();
      Table::Row r;
      const event::Value* key = FieldOf(e, schema, "key");
      r.cells.resize(t.headers.size());
      if (key != nullptr && nkeys > 1 && key->kind() == event::ValueKind::kArray) {
        auto parts = key->as_array();
        for (size_t i = 0; i < nkeys && i < parts.size(); ++i) AppendCell(parts[i], &r.cells[i]);
      } else if (key != nullptr) {
        AppendCell(*key, &r.cells[0]);
      }
      if (const event::Value* c = FieldOf(e, schema, "count")) AppendCell(*c, &r.cells[nkeys]);
      if (const event::Value* p = FieldOf(e, schema, "percent");
          p != nullptr && p->kind() == event::ValueKind::kDouble) {
        char text[32];
        std::snprintf(text, sizeof(text), "%.2f%%", p->as_double() * 100);
        r.cells[nkeys + 1] = text;
      }
      t.rows.push_back(std::move(r));
    }
    if (!t.rows.empty()) RenderTable(t, options.width, out);
    out.buf().append(std::to_string(t.rows.size()) + (t.rows.size() == 1 ? " key\n" : " keys\n"));
    return;
  }
  t.headers = {"@timestamp", "event.category", "event.action"};
  std::vector<std::string> extra =
      options.fields.empty() ? QueryFieldPaths(program, schema) : options.fields;
  for (std::string& f : extra) {
    if (std::find(t.headers.begin(), t.headers.end(), f) == t.headers.end()) {
      t.headers.push_back(std::move(f));
    }
  }
  bool grouped = Grouped(program);
  t.indent = grouped ? 2 : 0;
  auto row = [&](const event::Event& e) {
    Table::Row r;
    r.cells.reserve(t.headers.size());
    r.cells.push_back(TimeCell(e, schema));
    r.cells.push_back(CategoryCell(e, schema));
    for (size_t i = 2; i < t.headers.size(); ++i) {
      std::string cell;
      if (const event::Value* v = FieldOf(e, schema, t.headers[i])) AppendCell(*v, &cell);
      r.cells.push_back(std::move(cell));
    }
    t.rows.push_back(std::move(r));
  };
  std::vector<int64_t> ordinals;
  uint64_t number = 0;
  const char* kind = program.kind == eql::QueryKind::kJoin     ? "join"
                     : program.kind == eql::QueryKind::kSample ? "sample"
                                                               : "sequence";
  for (const engine::QueryMatch& m : results) {
    ++number;
    if (!grouped) {
      for (const auto& e : m.events) row(*e);
      continue;
    }
    std::string names;
    JoinKeysJson(program, schema, m, &names);
    Table::Row header;
    header.group = kind + (" " + std::to_string(number));
    if (!names.empty()) {
      header.group += "  ";
      AppendPrintable(names, &header.group);
    }
    t.rows.push_back(std::move(header));
    for (const event::Event* e : StageSlots(program, m, &ordinals)) {
      if (e == nullptr) {
        Table::Row missing;
        missing.missing = true;
        t.rows.push_back(std::move(missing));
      } else {
        row(*e);
      }
    }
  }
  if (!t.rows.empty()) RenderTable(t, options.width, out);
  std::string noun = grouped ? kind : "event";
  out.buf().append(std::to_string(results.size() + options.counted_before) + " " + noun +
                   (results.size() == 1 ? "\n" : "s\n"));
}

}  // namespace

std::optional<QueryFormat> ParseQueryFormat(std::string_view name) {
  if (name == "table") return QueryFormat::kTable;
  if (name == "json") return QueryFormat::kJson;
  if (name == "ndjson") return QueryFormat::kNdjson;
  return std::nullopt;
}

std::string_view QueryFormatName(QueryFormat format) {
  switch (format) {
    case QueryFormat::kTable:
      return "table";
    case QueryFormat::kJson:
      return "json";
    case QueryFormat::kNdjson:
      return "ndjson";
  }
  return "ndjson";
}

QueryFormat DefaultQueryFormat() {
  return isatty(STDOUT_FILENO) ? QueryFormat::kTable : QueryFormat::kNdjson;
}

size_t TerminalWidth() {
  winsize ws{};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  if (const char* env = std::getenv("COLUMNS"); env != nullptr) {
    char* end = nullptr;
    long n = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && n >= 20 && n <= 10000) return static_cast<size_t>(n);
  }
  return 120;
}

std::vector<std::string> QueryFieldPaths(const eql::IrProgram& program,
                                         const schema::Schema& schema) {
  absl::flat_hash_set<std::string_view> seen;
  std::vector<std::string> out;
  auto stage = [&](const eql::IrStage& s) {
    if (s.predicate) CollectFields(*s.predicate, schema, &seen, &out);
    for (const eql::IrNodePtr& k : s.by) {
      if (k) CollectFields(*k, schema, &seen, &out);
    }
  };
  for (const eql::IrStage& s : program.stages) stage(s);
  if (program.until) stage(*program.until);
  for (const eql::IrPipe& p : program.pipes) {
    for (const eql::IrNodePtr& a : p.args) {
      if (a) CollectFields(*a, schema, &seen, &out);
    }
  }
  return out;
}

std::string JoinKeysJson(const eql::IrProgram& program, schema::Schema& schema,
                         const engine::QueryMatch& match, std::string* names) {
  std::string json = "[";
  if (names != nullptr) names->clear();
  const eql::IrStage* first = nullptr;
  for (const eql::IrStage& s : program.stages) {
    if (!s.missing) {
      first = &s;
      break;
    }
  }
  if (first != nullptr && !match.events.empty() && program.kind != eql::QueryKind::kEvent) {
    base::StringArena scratch;
    eql::EvalContext ctx;
    ctx.event = match.events.front().get();
    ctx.schema = &schema;
    ctx.scratch = &scratch;
    for (size_t i = 0; i < first->by.size(); ++i) {
      if (i > 0) json.push_back(',');
      event::Value v = eql::EvalIr(*first->by[i], ctx);
      event::AppendJsonValue(&json, v);
      if (names != nullptr) {
        if (i > 0) names->append(", ");
        const eql::IrNode& k = *first->by[i];
        names->append(k.op == eql::IrOp::kField ? std::string(schema.Info(k.field).name)
                                                : "key" + std::to_string(i + 1));
        names->push_back('=');
        event::AppendJsonValue(names, v);
      }
    }
  }
  json.push_back(']');
  return json;
}

std::string ElideMiddle(std::string_view text, size_t width) {
  size_t have = DisplayWidth(text);
  if (have <= width) return std::string(text);
  if (width == 0) return "";
  if (width == 1) return "…";
  size_t keep = width - 1;
  size_t head = (keep + 1) / 2, tail = keep - head;
  // Byte offsets of the end of the first `head` code points and the start of the last `tail`.
  size_t pos = 0, seen = 0;
  while (pos < text.size()) {
    if (!IsContinuation(static_cast<unsigned char>(text[pos]))) {
      if (seen == head) break;
      ++seen;
    }
    ++pos;
  }
  size_t end = text.size(), counted = 0;
  while (end > 0 && counted < tail) {
    --end;
    if (!IsContinuation(static_cast<unsigned char>(text[end]))) ++counted;
  }
  std::string out(text.substr(0, pos));
  out.append("…");
  out.append(text.substr(end));
  return out;
}

void WriteQueryResults(const eql::IrProgram& program, schema::Schema& schema,
                       const std::vector<engine::QueryMatch>& results,
                       const QueryOutputOptions& options,
                       const std::function<void(std::string_view)>& write) {
  Out out(write);
  switch (options.format) {
    case QueryFormat::kNdjson:
      if (options.count_only) {
        out.buf().append(std::to_string(results.size() + options.counted_before));
        out.buf().push_back('\n');
      } else {
        WriteNdjson(program, schema, results, out);
      }
      break;
    case QueryFormat::kJson:
      WriteJson(program, schema, results, options, out);
      break;
    case QueryFormat::kTable:
      WriteTable(program, schema, results, options, out);
      break;
  }
}

}  // namespace kestrel::cli
