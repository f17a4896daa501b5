// Conformance of semantic analysis with the endgameinc/eql test suite
// (shared/conformance/eql/endgame/): every test query analyses in the Endgame dialect; every
// folding and string-function case folds to the expected constant (in each case mode it names);
// every verifier case is rejected; every optimiser case lowers to the same IR as its optimised
// or alternate form. A missing data file skips loudly.
#include <string>

#include "gtest/gtest.h"
#include "kestrel/eql/ir_eval.h"
#include "kestrel/eql/sema.h"
#include "kestrel/event/json_writer.h"
#include "kestrel/testing/conformance.h"
#include "toml++/toml.h"

namespace kestrel::eql {
namespace {

// Declares `var`, the parsed suite file `name`; skips the test loudly if the file is absent.
#define LOAD_OR_SKIP(var, name)                                                        \
  KESTREL_SKIP_IF_MISSING(testing::ConformancePath(name), "this conformance test");    \
  std::optional<toml::table> var = testing::ParseToml(testing::ConformancePath(name)); \
  if (!var) return

std::string Render(const std::vector<Diagnostic>& diagnostics, std::string_view text) {
  std::string out;
  for (const Diagnostic& d : diagnostics) out += RenderDiagnostic(d, "expr", text) + "\n";
  return out;
}

TEST(ConformanceSemaTest, EveryEndgameTestQueryAnalyses) {
  KESTREL_SKIP_IF_MISSING(testing::ConformancePath("test_queries.toml"), "this conformance test");
  std::vector<testing::ConformanceCase> cases = testing::LoadConformanceCases();
  int ok = 0;
  for (const testing::ConformanceCase& c : cases) {
    ++ok;
    for (bool case_sensitive : c.case_sensitive_modes) {
      schema::Schema schema;
      CompileOptions options;
      options.dialect = Dialect::kEndgame;
      options.case_sensitive = case_sensitive;
      CompileResult result = Compile(c.query, schema, options);
      if (!result.ok()) {
        ADD_FAILURE() << "query #" << c.number << " does not analyse:\n"
                      << c.query << "\n"
                      << Render(result.diagnostics, c.query);
        --ok;
        break;
      }
    }
  }
  EXPECT_EQ(cases.size(), 241u);
  EXPECT_EQ(ok, static_cast<int>(cases.size()));
}

// Runs `fn(table_of_section, case_sensitive)` for each section and each case mode it allows.
template <typename Fn>
void ForEachSection(const toml::table& file, Fn fn) {
  for (const auto& [name, node] : file) {
    const toml::table* section = node.as_table();
    if (section == nullptr) continue;
    for (bool case_sensitive : testing::CaseSensitiveModes(*section)) {
      fn(std::string(name.str()), *section, case_sensitive);
    }
  }
}

bool SameConstant(const event::Value& got, const toml::node* expected) {
  if (expected == nullptr) return got.is_null();
  if (auto b = expected->value_exact<bool>())
    return got.kind() == event::ValueKind::kBool && got.as_bool() == *b;
  if (auto i = expected->value_exact<int64_t>()) {
    return got.kind() == event::ValueKind::kInt && got.as_int() == *i;
  }
  if (auto d = expected->value_exact<double>()) {
    return got.kind() == event::ValueKind::kDouble && got.as_double() == *d;
  }
  if (auto s = expected->value_exact<std::string>()) {
    return got.kind() == event::ValueKind::kString && got.as_string() == *s;
  }
  return false;
}

std::string Show(const event::Value& v) {
  std::string out;
  event::AppendJsonValue(&out, v);
  return out + " (kind " + std::to_string(static_cast<int>(v.kind())) + ")";
}

void CheckFold(const std::string& where, const std::string& text, const toml::node* expected,
               bool case_sensitive, int* checked) {
  schema::Schema schema;
  base::StringArena arena;
  CompileOptions options;
  options.dialect = Dialect::kEndgame;
  options.case_sensitive = case_sensitive;
  ExpressionResult r = CompileExpression(text, schema, options, &arena);
  ++*checked;
  if (!r.ok()) {
    ADD_FAILURE() << where << ": `" << text << "` does not compile\n"
                  << Render(r.diagnostics, text);
    return;
  }
  if (!r.node->is_const()) {
    ADD_FAILURE() << where << ": `" << text << "` did not fold: " << DumpIrNode(*r.node, schema);
    return;
  }
  EXPECT_TRUE(SameConstant(r.node->value, expected))
      << where << (case_sensitive ? " [case-sensitive]" : " [case-insensitive]") << ": `" << text
      << "` folded to " << Show(r.node->value);
}

void CheckFoldFile(const toml::table& file, int* checked) {
  ForEachSection(
      file, [&](const std::string& name, const toml::table& section, bool case_sensitive) {
        if (const toml::array* tests = section.at_path("fold.tests").as_array()) {
          for (const toml::node& t : *tests) {
            const toml::table& test = *t.as_table();
            CheckFold(name, *test["expression"].value<std::string>(), test.get("expected"),
                      case_sensitive, checked);
          }
        }
        if (const toml::array* failures = section.at_path("verifier.failures").as_array()) {
          for (const toml::node& t : *failures) {
            std::string text = *(*t.as_table())["expression"].value<std::string>();
            schema::Schema schema;
            base::StringArena arena;
            CompileOptions options;
            options.dialect = Dialect::kEndgame;
            options.case_sensitive = case_sensitive;
            ++*checked;
            EXPECT_FALSE(CompileExpression(text, schema, options, &arena).ok())
                << name << ": `" << text << "` should be rejected";
          }
        }
        if (const toml::array* loops = section["loop"].as_array()) {
          for (const toml::node& l : *loops) {
            const toml::table& loop = *l.as_table();
            std::string var = "$" + *loop.at_path("param.name").value<std::string>();
            for (const toml::node& type : *loop.at_path("param.type").as_array()) {
              std::string t = *type.value<std::string>();
              std::string literal = t == "bool"     ? "true"
                                    : t == "int"    ? "1"
                                    : t == "float"  ? "1.5"
                                    : t == "string" ? "\"hello\""
                                                    : "null";
              for (const toml::node& f : *loop.at_path("fold.tests").as_array()) {
                const toml::table& test = *f.as_table();
                std::string text = *test["expression"].value<std::string>();
                for (size_t at; (at = text.find(var)) != std::string::npos;) {
                  text.replace(at, var.size(), literal);
                }
                // `null == null` is true, not the loop's "value compared with null" expectation.
                const toml::node* expected = test.get("expected");
                if (t == "null") {
                  CheckFold(name, text, nullptr, case_sensitive, checked);
                } else {
                  CheckFold(name, text, expected, case_sensitive, checked);
                }
              }
            }
          }
        }
      });
}

TEST(ConformanceSemaTest, FoldingCases) {
  LOAD_OR_SKIP(file, "test_folding.toml");
  int checked = 0;
  CheckFoldFile(*file, &checked);
  EXPECT_GT(checked, 150);
}

TEST(ConformanceSemaTest, StringFunctionCases) {
  LOAD_OR_SKIP(file, "test_string_functions.toml");
  int checked = 0;
  CheckFoldFile(*file, &checked);
  EXPECT_GT(checked, 100);
}

TEST(ConformanceSemaTest, OptimizerCases) {
  LOAD_OR_SKIP(file, "test_optimizer.toml");
  int checked = 0;
  ForEachSection(
      *file, [&](const std::string& name, const toml::table& section, bool case_sensitive) {
        for (std::string_view kind : {"optimizer", "equivalent"}) {
          const toml::array* tests = section.at_path(std::string(kind) + ".tests").as_array();
          if (tests == nullptr) continue;
          for (const toml::node& t : *tests) {
            const toml::table& test = *t.as_table();
            std::string text = *test["expression"].value<std::string>();
            std::string want = kind == "optimizer" ? *test["optimized"].value<std::string>()
                                                   : *test["alternate"].value<std::string>();
            schema::Schema schema;
            base::StringArena arena;
            CompileOptions options;
            options.dialect = Dialect::kEndgame;
            options.case_sensitive = case_sensitive;
            ExpressionResult got = CompileExpression(text, schema, options, &arena);
            ExpressionResult expected = CompileExpression(want, schema, options, &arena);
            ++checked;
            ASSERT_TRUE(got.ok() && expected.ok()) << name << ": " << text << " / " << want;
            EXPECT_EQ(DumpIrNode(*got.node, schema), DumpIrNode(*expected.node, schema))
                << name << ": `" << text << "` should optimise to `" << want << "`";
          }
        }
      });
  EXPECT_GT(checked, 10);
}

}  // namespace
}  // namespace kestrel::eql
