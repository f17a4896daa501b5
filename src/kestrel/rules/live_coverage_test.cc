// AnalyzeLiveCoverage on small rules against a small declared model: each way a rule can or
// cannot fire, and each reason. The model here is hand-written on purpose (this layer does not
// know the eBPF collector); the cli's test runs the real declaration.
#include "kestrel/rules/live_coverage.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kestrel/eql/sema.h"

namespace kestrel::rules {
namespace {

using ::testing::ElementsAre;

LiveModel Model() {
  LiveModel m;
  std::vector<std::string> process = {"process.name", "process.executable",
                                      "process.args", "process.parent.name",
                                      "host.id",      "user.id"};
  m.kinds.push_back({"exec", "process", {"start"}, "exec", {{"host.os.type", "linux"}}, process});
  m.kinds.push_back({"exit", "process", {"end"}, "end", {{"host.os.type", "linux"}}, process});
  std::vector<std::string> file = process;
  file.insert(file.end(), {"file.path", "file.name", "file.extension"});
  m.kinds.push_back(
      {"create", "file", {"creation"}, "creation", {{"host.os.type", "linux"}}, file});
  return m;
}

class LiveCoverageTest : public ::testing::Test {
 protected:
  LiveCoverage Analyze(std::string_view query,
                       eql::Dialect dialect = eql::Dialect::kElasticsearch) {
    eql::CompileOptions options;
    options.dialect = dialect;
    eql::CompileResult r = eql::Compile(query, schema_, options);
    EXPECT_TRUE(r.ok()) << query;
    if (!r.ok()) return {};
    return AnalyzeLiveCoverage(*r.program, schema_, model_);
  }
  schema::Schema schema_;
  LiveModel model_ = Model();
};

TEST_F(LiveCoverageTest, FiresOnDeclaredCategoryTypeActionAndFields) {
  LiveCoverage c = Analyze(
      R"(process where host.os.type == "linux" and event.type in ("start", "process_started") and
         event.action == "exec" and process.name : "ba*" and process.parent.name != null)");
  EXPECT_TRUE(c.can_fire);
  EXPECT_TRUE(c.reasons.empty());
  EXPECT_TRUE(Analyze(R"(any where event.category == "file" and file.extension == "sh")").can_fire);
}

TEST_F(LiveCoverageTest, CategoryNeverProduced) {
  LiveCoverage c = Analyze(R"(authentication where user.id == "0")");
  EXPECT_FALSE(c.can_fire);
  EXPECT_THAT(c.reasons, ElementsAre("category never produced: authentication"));
}

TEST_F(LiveCoverageTest, ValuesNeverEmittedForTheCategory) {
  LiveCoverage c =
      Analyze(R"(process where event.action in ("uid_change", "gid_change") and user.id == "0")");
  EXPECT_FALSE(c.can_fire);
  EXPECT_THAT(c.reasons, ElementsAre("event.action never emitted for process: gid_change",
                                     "event.action never emitted for process: uid_change"));
  c = Analyze(R"(process where event.type == "change")");
  EXPECT_THAT(c.reasons, ElementsAre("event.type never emitted for process: change"));
  // A value emitted by another category does not help: the exec has no "creation" type.
  c = Analyze(R"(process where event.type == "creation")");
  EXPECT_FALSE(c.can_fire);
  // The host's constant fields are declared values too.
  c = Analyze(R"(process where host.os.type == "windows")");
  EXPECT_FALSE(c.can_fire);
  EXPECT_THAT(c.reasons, ElementsAre("host.os.type never emitted for process: windows"));
}

TEST_F(LiveCoverageTest, FieldNeverFilled) {
  LiveCoverage c = Analyze(
      R"(process where event.type == "start" and process.env_vars : "LD_PRELOAD=*" and
         process.name == "bash")");
  EXPECT_FALSE(c.can_fire);
  EXPECT_THAT(c.reasons, ElementsAre("field never filled: process.env_vars"));
  // Either field alone would let it fire: both are named.
  c = Analyze(R"(process where process.entry_leader.entry_meta.type == "ssh" or
                 process.session_leader.name == "sshd")");
  EXPECT_FALSE(c.can_fire);
  EXPECT_THAT(c.reasons, ElementsAre("field never filled: process.entry_leader.entry_meta.type",
                                     "field never filled: process.session_leader.name"));
}

// Elasticsearch: a query leaf over a missing field is false, so its negation is true (the rule
// can fire); the Endgame dialect keeps null, and `not null` never holds.
TEST_F(LiveCoverageTest, NotOverAMissingFieldFiresInElasticsearchOnly) {
  const char* q = R"(file where event.type == "creation" and not process.env_vars : "X*")";
  EXPECT_TRUE(Analyze(q).can_fire);
  const char* both =
      R"(file where file.extension == "sh" and not startsWith(process.env_vars, "X"))";
  EXPECT_TRUE(Analyze(both).can_fire);
  LiveCoverage endgame = Analyze(both, eql::Dialect::kEndgame);
  EXPECT_FALSE(endgame.can_fire);
  EXPECT_THAT(endgame.reasons, ElementsAre("field never filled: process.env_vars"));
  EXPECT_TRUE(Analyze(R"(process where not startsWith(?process.entry_leader.executable, "/usr"))")
                  .can_fire);
  EXPECT_TRUE(Analyze(R"(process where process.entry_leader.executable == null)").can_fire);
  EXPECT_FALSE(Analyze(R"(process where process.entry_leader.executable != null)").can_fire);
  // `!=` and `not in` are negated queries in Elasticsearch: true without the field.
  EXPECT_TRUE(Analyze(R"(process where process.entry_leader.name != "sshd")").can_fire);
  EXPECT_TRUE(Analyze(R"(file where not file.Ext.header_bytes in ("7f454c46"))").can_fire);
  EXPECT_FALSE(Analyze(R"(file where file.Ext.header_bytes in ("7f454c46"))").can_fire);
}

// A script (two fields compared) propagates null, through a `not` directly above it; and/or see
// a script's null as "no match", so a `not` above them is true.
TEST_F(LiveCoverageTest, ScriptLeavesPropagateNull) {
  LiveCoverage c = Analyze(R"(process where not (process.name == file.name))");
  EXPECT_FALSE(c.can_fire);
  EXPECT_THAT(c.reasons, ElementsAre("field never filled: file.name"));
  EXPECT_TRUE(
      Analyze(R"(process where not (process.name == file.name and user.id == "0"))").can_fire);
  EXPECT_TRUE(Analyze(R"(file where process.name == file.name)").can_fire);
}

TEST_F(LiveCoverageTest, SequencesNeedEveryRequiredStageAndTheirJoinKeys) {
  EXPECT_TRUE(Analyze(R"(sequence by host.id with maxspan=1m
      [process where event.type == "start"] [file where event.type == "creation"])")
                  .can_fire);
  LiveCoverage c = Analyze(R"(sequence by process.entity_id
      [process where event.type == "start"] [file where event.type == "creation"])");
  EXPECT_FALSE(c.can_fire);
  EXPECT_THAT(c.reasons, ElementsAre("join key never filled: process.entity_id"));
  // An optional key may be null (Elasticsearch joins on null only for `?field` keys).
  EXPECT_TRUE(Analyze(R"(sequence by ?process.entity_id
      [process where event.type == "start"] [file where event.type == "creation"])")
                  .can_fire);
  c = Analyze(R"(sequence [process where event.type == "start"]
                          [network where destination.port == 4444])");
  EXPECT_FALSE(c.can_fire);
  EXPECT_THAT(c.reasons, ElementsAre("category never produced: network"));
  // A missing-event stage and `until` need not match.
  EXPECT_TRUE(Analyze(R"(sequence with maxspan=1m
      [process where event.type == "start"] ![network where true]
      [file where event.type == "creation"])")
                  .can_fire);
  EXPECT_TRUE(Analyze(R"(sequence [process where event.type == "start"]
      [file where event.type == "creation"] until [network where true])")
                  .can_fire);
}

TEST_F(LiveCoverageTest, BothFieldsAndValues) {
  LiveCoverage c =
      Analyze(R"(process where event.action == "ptrace" and process.Ext.ptrace.request == 16)");
  EXPECT_FALSE(c.can_fire);
  EXPECT_THAT(c.reasons, ElementsAre("event.action never emitted for process: ptrace",
                                     "field never filled: process.Ext.ptrace.request"));
}

// A kind without event.action (auditd_manager's prctl) and per-kind constant fields
// (auditd.data.syscall): rules are judged on the constants' values, and no action is no field.
TEST_F(LiveCoverageTest, KindWithoutActionAndWithConstantFields) {
  LiveModel m = Model();
  std::vector<std::string> fields = {"process.executable", "auditd.data.syscall", "auditd.data.a0",
                                     "auditd.data.a1"};
  m.kinds.push_back({"auditd prctl",
                     "process",
                     {"info"},
                     "",
                     {{"host.os.type", "linux"}, {"auditd.data.syscall", "prctl"}},
                     fields});
  auto analyze = [&](std::string_view query) {
    eql::CompileResult r = eql::Compile(query, schema_, {});
    EXPECT_TRUE(r.ok()) << query;
    return r.ok() ? AnalyzeLiveCoverage(*r.program, schema_, m) : LiveCoverage{};
  };
  EXPECT_TRUE(analyze(R"(process where auditd.data.syscall == "prctl" and auditd.data.a0 == "f")")
                  .can_fire);
  LiveCoverage c = analyze(R"(process where auditd.data.syscall == "execve")");
  EXPECT_FALSE(c.can_fire);
  // The field has declared values (another kind's absence is by declaration): the value is the
  // reason, not the field.
  EXPECT_THAT(c.reasons, ElementsAre("auditd.data.syscall never emitted for process: execve"));
  // event.action is absent on the prctl kind: an action test needs another kind.
  EXPECT_FALSE(
      analyze(R"(process where auditd.data.syscall == "prctl" and event.action != null)").can_fire);
  EXPECT_TRUE(analyze(R"(process where auditd.data.syscall == "prctl" and
                         not event.action == "exec")")
                  .can_fire);
}

}  // namespace
}  // namespace kestrel::rules
