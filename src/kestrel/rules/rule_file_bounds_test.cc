// Tests that the rule file readers bound what they allocate and the work they do before they
// refuse a file (issue #20): nesting, value counts, documents, alignment.
#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "kestrel/rules/document.h"
#include "kestrel/rules/rule_file.h"
#include "kestrel/rules/rule_file_test_util.h"
#include "kestrel/rules/source_text.h"

// Bytes allocated with operator new, for the tests that bound what a reader allocates before it
// refuses a file (a deterministic proxy for peak memory). The replacement pairs malloc and free,
// which gcc cannot see once it inlines them into the containers of this file.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
namespace {
std::atomic<size_t> g_allocated{0};
}  // namespace
void* operator new(size_t n) {
  g_allocated.fetch_add(n, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
// The nothrow forms too (std::stable_sort's buffer): under ASan an unreplaced one allocates with
// ASan's allocator and the replaced delete would free it with free() (alloc-dealloc-mismatch).
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  g_allocated.fetch_add(n, std::memory_order_relaxed);
  return std::malloc(n == 0 ? 1 : n);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace kestrel::rules {
namespace {

// ---- resource bounds (issue #20) ----------------------------------------------------------------

// Bytes allocated while loading `text` as a rule file of `format`.
size_t AllocatedLoading(RuleFormat format, const std::string& text, LoadResult* result) {
  size_t before = g_allocated.load();
  *result = LoadRuleText("x", format, text);
  return g_allocated.load() - before;
}

TEST(RuleFileBounds, DeepJsonIsRefusedBeforeItIsParsed) {
  // 80 KB nested 40,000 deep once cost 1.6 GB (a path string per level per value).
  std::string text = std::string(40000, '[') + std::string(40000, ']');
  LoadResult result;
  size_t allocated = AllocatedLoading(RuleFormat::kJson, text, &result);
  EXPECT_EQ(Diagnostics(result), "x:1:66: error: values nested deeper than 64 levels");
  EXPECT_EQ(result.failed, 1u);
  EXPECT_LT(allocated, size_t{4} << 20);
}

TEST(RuleFileBounds, JsonWithTooManyValuesIsRefusedBeforeItIsParsed) {
  std::string text = "[0";
  for (size_t i = 0; i < kMaxDocumentNodes + 10; ++i) text += ",0";
  text += "]";
  LoadResult result;
  size_t allocated = AllocatedLoading(RuleFormat::kJson, text, &result);
  EXPECT_EQ(Diagnostics(result), "x:1:400000: error: more than 200000 values");
  EXPECT_LT(allocated, size_t{64} << 20);  // the offsets of the values, not a parsed tree
}

TEST(RuleFileBounds, LongYamlIsRefusedBeforeItIsParsed) {
  std::string text;
  for (size_t i = 0; i < kMaxDocumentNodes + 10; ++i) text += "- a\n";
  LoadResult result;
  size_t allocated = AllocatedLoading(RuleFormat::kYaml, text, &result);
  EXPECT_EQ(Diagnostics(result), "x:200001:1: error: more than 200000 values");
  EXPECT_LT(allocated, size_t{16} << 20);  // yaml-cpp's tree of it took 140 MB
}

TEST(RuleFileBounds, ManyYamlDocumentsCostLinearMemory) {
  // Each document was padded with the lines before it (N^2 bytes for N documents): doubling the
  // documents tripled what was allocated. Now it doubles it.
  auto documents = [](int n) {
    std::string text;
    for (int i = 0; i < n; ++i) text += "a: 1\n---\n";
    return text;
  };
  LoadResult result;
  size_t ten = AllocatedLoading(RuleFormat::kYaml, documents(10000), &result);
  size_t twenty = AllocatedLoading(RuleFormat::kYaml, documents(20000), &result);
  EXPECT_EQ(result.failed, 20000u);  // each map lacks `query`
  EXPECT_LT(static_cast<double>(twenty) / static_cast<double>(ten), 2.3);
  EXPECT_NE(Diagnostics(result).find("x:39999:1: error:"), std::string::npos);  // positions kept
}

TEST(RuleFileBounds, DeepTomlKeyIsRefusedBeforeItIsParsed) {
  // 1.5 million dotted-key segments overflowed the stack in toml++.
  std::string text = "a";
  for (int i = 0; i < 1500000; ++i) text += ".a";
  text += " = 1\n";
  LoadResult result = LoadRuleText("x", RuleFormat::kToml, text);
  EXPECT_EQ(Diagnostics(result), "x:1:130: error: values nested deeper than 64 levels");
  EXPECT_EQ(result.failed, 1u);
}

TEST(RuleFileBounds, TomlStringsAndCommentsDoNotCountAsNesting) {
  std::string dots(200, '.');
  std::string text = "# " + dots + "\n[rule]\nrule_id = \"r\"\nname = \"" + dots +
                     "\"\ntype = \"eql\"\nlanguage = \"eql\"\nquery = '''\nprocess where " +
                     "process.name == \"" + dots + "\"\n'''\n";
  LoadResult result = LoadRuleText("x", RuleFormat::kToml, text);
  EXPECT_EQ(Diagnostics(result), "");
  EXPECT_EQ(result.rules.size(), 1u);
}

TEST(RuleFileBounds, AligningAOneLineQueryIsLinear) {
  // A query on one line needs one anchor; extrapolating every run from it was quadratic.
  std::string query = "process where ";
  for (int i = 0; i < 100000; ++i) {
    query += fmt::format("{}process.pid == {}", i ? " and " : "", i);
  }
  LineIndex lines(query);
  size_t work = 0;
  std::vector<QueryAnchor> anchors = AlignValue(lines, 0, query, false, &work);
  EXPECT_EQ(anchors.size(), 1u);
  EXPECT_LT(work, 4 * query.size());
}

}  // namespace
}  // namespace kestrel::rules
