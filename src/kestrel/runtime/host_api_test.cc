// Host API v1 over engine events: typed reads, element indexes, the comparison and matching
// operators (the engine's semantics), node evaluation, lineage and error reports.
#include "kestrel/runtime/host_api.h"

#include <gtest/gtest.h>
#include <re2/re2.h>

#include "kestrel/eql/sema.h"

namespace kestrel::runtime {
namespace {

using event::EventBuilder;

class HostApiTest : public ::testing::Test {
 protected:
  HostApiTest() {
    event_ = EventBuilder(schema_)
                 .Category("process")
                 .Str("process.name", "PowerShell.exe")
                 .Int("process.pid", 4242)
                 .Bool("flag", true)
                 .Ip("source.ip", "10.1.2.3")
                 .Strs("process.args", {"-enc", "AAAA", "-nop"})
                 .Build();
    eval_.event = &event_;
    ctx_.eval = &eval_;
    ctx_.regexes = &regexes_;
  }
  uint32_t Id(std::string_view name) { return schema_.Find(name)->value; }

  schema::Schema schema_;
  event::Event event_;
  eql::EvalContext eval_;
  RegexCache regexes_;
  kestrel_host_ctx ctx_;
};

TEST_F(HostApiTest, TypedReadsFollowTheValueKind) {
  EXPECT_EQ(kestrel_host_api_version(), KESTREL_HOST_API_VERSION);
  uint32_t name = Id("process.name"), pid = Id("process.pid");
  EXPECT_EQ(kestrel_field_kind(&ctx_, name, KESTREL_WHOLE_FIELD), KESTREL_KIND_STRING);
  EXPECT_EQ(kestrel_field_kind(&ctx_, pid, KESTREL_WHOLE_FIELD), KESTREL_KIND_INT);
  EXPECT_EQ(kestrel_field_i64(&ctx_, pid, KESTREL_WHOLE_FIELD), 4242);
  EXPECT_EQ(kestrel_field_u64(&ctx_, pid, KESTREL_WHOLE_FIELD), 4242u);
  EXPECT_EQ(kestrel_field_f64(&ctx_, pid, KESTREL_WHOLE_FIELD), 4242.0);
  EXPECT_EQ(kestrel_field_i64(&ctx_, name, KESTREL_WHOLE_FIELD), 0);  // wrong kind: zero
  EXPECT_EQ(kestrel_field_bool(&ctx_, Id("flag"), KESTREL_WHOLE_FIELD), 1);
  const char* data = nullptr;
  uint32_t size = 0;
  ASSERT_EQ(kestrel_field_string(&ctx_, name, KESTREL_WHOLE_FIELD, &data, &size), 1);
  EXPECT_EQ(std::string_view(data, size), "PowerShell.exe");
  EXPECT_EQ(kestrel_field_string(&ctx_, pid, KESTREL_WHOLE_FIELD, &data, &size), 0);
  EXPECT_EQ(data, nullptr);
  uint8_t ip[16];
  ASSERT_EQ(kestrel_field_ip(&ctx_, Id("source.ip"), KESTREL_WHOLE_FIELD, ip), 4);
  EXPECT_EQ(ip[12], 10);
  EXPECT_EQ(ip[15], 3);
  // A field the event does not have.
  uint32_t missing = schema_.Find("process.executable")->value;
  EXPECT_EQ(kestrel_field_kind(&ctx_, missing, KESTREL_WHOLE_FIELD), KESTREL_KIND_NULL);
  EXPECT_EQ(kestrel_field_array_len(&ctx_, missing), -1);
}

TEST_F(HostApiTest, FieldIdsResolveNamesInThePredicatesIdSpace) {
  eval_.schema = &schema_;
  EXPECT_EQ(kestrel_field_id(&ctx_, "process.name", 12), Id("process.name"));
  EXPECT_EQ(kestrel_field_id(&ctx_, "no.such.field", 13), KESTREL_NO_FIELD);
  // A package predicate whose dynamic ids start at `flag`'s id and are shifted by one.
  uint32_t flag = Id("flag");
  std::vector<uint32_t> map = {UINT32_MAX, flag};
  ctx_.field_base = flag;
  ctx_.field_map = map;
  EXPECT_EQ(kestrel_field_id(&ctx_, "flag", 4), flag + 1);
  EXPECT_EQ(kestrel_field_bool(&ctx_, flag + 1, KESTREL_WHOLE_FIELD), 1);      // mapped back
  EXPECT_EQ(kestrel_field_id(&ctx_, "process.name", 12), Id("process.name"));  // catalogue
}

TEST_F(HostApiTest, ArrayElementsCountFromEitherEnd) {
  uint32_t args = Id("process.args");
  EXPECT_EQ(kestrel_field_kind(&ctx_, args, KESTREL_WHOLE_FIELD), KESTREL_KIND_ARRAY);
  EXPECT_EQ(kestrel_field_array_len(&ctx_, args), 3);
  const char* data;
  uint32_t size;
  ASSERT_EQ(kestrel_field_string(&ctx_, args, -1, &data, &size), 1);
  EXPECT_EQ(std::string_view(data, size), "-nop");
  EXPECT_EQ(kestrel_field_kind(&ctx_, args, 3), KESTREL_KIND_NULL);
  // Element 0 of a scalar is the scalar (EQL's `process.name[0]`).
  EXPECT_EQ(kestrel_field_kind(&ctx_, Id("process.name"), 0), KESTREL_KIND_STRING);
  EXPECT_EQ(kestrel_field_kind(&ctx_, Id("process.name"), 1), KESTREL_KIND_NULL);
}

TEST_F(HostApiTest, MatchingUsesTheEngineSemantics) {
  uint32_t name = Id("process.name"), args = Id("process.args");
  auto m = [&](uint32_t f, int32_t op, uint32_t flags, std::string_view p) {
    return kestrel_field_match(&ctx_, f, KESTREL_WHOLE_FIELD, op, flags, p.data(),
                               static_cast<uint32_t>(p.size()));
  };
  EXPECT_EQ(m(name, KESTREL_OP_EQ, 0, "powershell.exe"), KESTREL_FALSE);
  EXPECT_EQ(m(name, KESTREL_OP_EQ, KESTREL_FLAG_CASE_INSENSITIVE, "powershell.exe"), KESTREL_TRUE);
  EXPECT_EQ(m(name, KESTREL_OP_WILDCARD, KESTREL_FLAG_CASE_INSENSITIVE, "*shell*"), KESTREL_TRUE);
  EXPECT_EQ(m(name, KESTREL_OP_WILDCARD, 0, "Power?hell.exe"), KESTREL_FALSE);  // `?` literal
  EXPECT_EQ(m(name, KESTREL_OP_WILDCARD, KESTREL_FLAG_QUESTION_MARK, "Power?hell.exe"),
            KESTREL_TRUE);
  EXPECT_EQ(m(name, KESTREL_OP_REGEX, 0, "Power.*\\.exe"), KESTREL_TRUE);
  EXPECT_EQ(m(name, KESTREL_OP_REGEX, 0, "Power"), KESTREL_FALSE);  // whole string
  EXPECT_EQ(m(name, KESTREL_OP_REGEX, 0, "(unclosed"), KESTREL_NULL);
  EXPECT_EQ(m(name, KESTREL_OP_STARTS_WITH, KESTREL_FLAG_CASE_INSENSITIVE, "power"), KESTREL_TRUE);
  EXPECT_EQ(m(name, KESTREL_OP_ENDS_WITH, 0, ".EXE"), KESTREL_FALSE);
  EXPECT_EQ(m(name, KESTREL_OP_CONTAINS, 0, "Shell"), KESTREL_TRUE);
  // Arrays: any element.
  EXPECT_EQ(m(args, KESTREL_OP_EQ, 0, "-nop"), KESTREL_TRUE);
  EXPECT_EQ(m(args, KESTREL_OP_NE, 0, "-nop"), KESTREL_FALSE);
  EXPECT_EQ(m(args, KESTREL_OP_WILDCARD, 0, "A*"), KESTREL_TRUE);
  // Not a string: null for patterns; `==` treats null as a value.
  uint32_t pid = Id("process.pid");
  EXPECT_EQ(m(pid, KESTREL_OP_WILDCARD, 0, "*"), KESTREL_NULL);
  uint32_t missing = schema_.Find("process.executable")->value;
  EXPECT_EQ(m(missing, KESTREL_OP_EQ, 0, "x"), KESTREL_FALSE);
  EXPECT_EQ(m(missing, KESTREL_OP_LT, 0, "x"), KESTREL_NULL);
  // IPs compare with strings that parse as IPs.
  EXPECT_EQ(m(Id("source.ip"), KESTREL_OP_EQ, 0, "10.1.2.3"), KESTREL_TRUE);
  // Numbers, and the reversed operand order.
  EXPECT_EQ(kestrel_field_compare_i64(&ctx_, pid, KESTREL_WHOLE_FIELD, KESTREL_OP_GT, 0, 4000),
            KESTREL_TRUE);
  EXPECT_EQ(kestrel_field_compare_i64(&ctx_, pid, KESTREL_WHOLE_FIELD, KESTREL_OP_GT,
                                      KESTREL_FLAG_REVERSED, 4000),
            KESTREL_FALSE);
  EXPECT_EQ(kestrel_field_compare_f64(&ctx_, pid, KESTREL_WHOLE_FIELD, KESTREL_OP_EQ, 0, 4242.0),
            KESTREL_TRUE);
  EXPECT_EQ(kestrel_field_compare_i64(&ctx_, name, KESTREL_WHOLE_FIELD, KESTREL_OP_LT, 0, 1),
            KESTREL_NULL);
  std::string_view t = "abc";
  EXPECT_EQ(kestrel_string_match(&ctx_, KESTREL_OP_WILDCARD, 0, t.data(), 3, "a*", 2),
            KESTREL_TRUE);
  EXPECT_EQ(kestrel_string_match(&ctx_, KESTREL_OP_LT, 0, t.data(), 3, "abd", 3), KESTREL_TRUE);
  EXPECT_EQ(kestrel_string_match(&ctx_, 77, 0, t.data(), 3, "abd", 3), KESTREL_NULL);
}

TEST_F(HostApiTest, EvalNodeAndLineageUseThePredicateNodes) {
  eql::CompileResult r =
      eql::Compile(R"(process where process.pid + 1 == 4243 and process.name : "power*")", schema_);
  ASSERT_TRUE(r.ok());
  std::vector<const eql::IrNode*> nodes = NumberNodes(*r.program->stages[0].predicate);
  ASSERT_GE(nodes.size(), 3u);
  EXPECT_EQ(nodes[0]->op, eql::IrOp::kAnd);
  ctx_.nodes = nodes;
  EXPECT_EQ(kestrel_eval_node(&ctx_, 0), KESTREL_TRUE);
  EXPECT_EQ(kestrel_eval_node(&ctx_, 1), KESTREL_TRUE);
  EXPECT_EQ(kestrel_eval_node(&ctx_, static_cast<uint32_t>(nodes.size())), KESTREL_NULL);
  EXPECT_EQ(kestrel_lineage(&ctx_, 0), KESTREL_NULL);  // not a relation node
}

TEST_F(HostApiTest, ReportedErrorsAreKeptOnTheContext) {
  kestrel_report_error(&ctx_, 7, "bad input", 9);
  EXPECT_TRUE(ctx_.error);
  EXPECT_EQ(ctx_.last_error.code, 7);
  EXPECT_EQ(ctx_.last_error.message, "bad input");
}

TEST(RegexCacheTest, ClearsWhenFull) {
  RegexCache cache;
  for (size_t i = 0; i <= RegexCache::kMaxEntries; ++i) {
    ASSERT_NE(cache.Get("a" + std::to_string(i), false), nullptr);
  }
  EXPECT_EQ(cache.clears(), 1u);
  EXPECT_EQ(cache.Get("(", false), nullptr);
}

TEST(RegexCacheTest, CaseModesAreCachedApart) {
  RegexCache cache;
  const re2::RE2* sensitive = cache.Get("abc", false);
  const re2::RE2* insensitive = cache.Get("abc", true);
  ASSERT_NE(sensitive, nullptr);
  ASSERT_NE(insensitive, nullptr);
  EXPECT_NE(sensitive, insensitive);
  EXPECT_EQ(cache.Get("abc", false), sensitive);  // cached
  EXPECT_FALSE(RE2::FullMatch("ABC", *sensitive));
  EXPECT_TRUE(RE2::FullMatch("ABC", *insensitive));
}

}  // namespace
}  // namespace kestrel::runtime
