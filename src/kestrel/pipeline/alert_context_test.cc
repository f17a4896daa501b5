// Message templates, the process tree (ancestry as of the alert's time, bounded depth),
// executable hashes (cache by file key and mtime, size bound) and container ids.
#include "kestrel/pipeline/alert_context.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace kestrel::pipeline {
namespace {

namespace fs = std::filesystem;

std::shared_ptr<const event::Event> Exec(schema::Schema& schema, int64_t t, const char* id,
                                         const char* parent, int64_t pid, const char* name,
                                         const char* cmd = nullptr) {
  event::EventBuilder b(schema);
  b.Time(t).Category("process").Str("host.name", "web-1");
  b.Str("process.entity_id", id).Int("process.pid", pid).Str("process.name", name);
  b.Str("process.executable", std::string("/usr/bin/") + name);
  if (cmd != nullptr) b.Str("process.command_line", cmd);
  if (parent != nullptr) b.Str("process.parent.entity_id", parent);
  return std::make_shared<const event::Event>(b.Build());
}

engine::Alert AlertOf(std::shared_ptr<const event::Event> e) {
  engine::Alert a;
  a.rule_id = "r";
  a.rule_name = "Rule";
  a.events.push_back(std::move(e));
  return a;
}

TEST(MessageTest, TemplateFieldsFromTheLastEvent) {
  schema::Schema schema;
  rules::RuleSpec rule;
  rule.name = "Shell";
  rule.message = "{process.name} spawned a shell from {process.parent.executable} {{literal}}";
  event::EventBuilder b(schema);
  b.Time(1).Str("process.name", "bash").Str("process.parent.executable", "/usr/sbin/nginx");
  engine::Alert a = AlertOf(std::make_shared<const event::Event>(b.Build()));
  EXPECT_EQ(RenderMessage(rule, a, schema), "bash spawned a shell from /usr/sbin/nginx {literal}");
}

TEST(MessageTest, MissingFieldIsAVisiblePlaceholderAndValuesAreBoundedOneLine) {
  schema::Schema schema;
  rules::RuleSpec rule;
  rule.message = "{process.name} ran {process.command_line} as {user.name} ({process.pid})";
  event::EventBuilder b(schema);
  b.Time(1).Str("process.name", "ba\nsh\x1b").Int("process.pid", 42);
  b.Str("process.command_line", std::string(5000, 'x'));
  engine::Alert a = AlertOf(std::make_shared<const event::Event>(b.Build()));
  std::string m = RenderMessage(rule, a, schema);
  EXPECT_EQ(m.find('\n'), std::string::npos);
  EXPECT_EQ(m.rfind("ba sh  ran ", 0), 0u) << m;
  EXPECT_NE(m.find(std::string(kMaxMessageValue, 'x') + "\u2026 as <user.name?> (42)"),
            std::string::npos)
      << m;
  EXPECT_LE(m.size(), kMaxMessage + 3);
}

TEST(MessageTest, DefaultMessageNamesExecutablePidAndHost) {
  schema::Schema schema;
  rules::RuleSpec rule;
  rule.name = "Shell";
  engine::Alert a = AlertOf(Exec(schema, 1, "p-2", "p-1", 42, "bash"));
  EXPECT_EQ(RenderMessage(rule, a, schema), "Shell: /usr/bin/bash (pid 42) on web-1");
  engine::Alert empty =
      AlertOf(std::make_shared<const event::Event>(event::EventBuilder(schema).Time(1).Build()));
  EXPECT_EQ(RenderMessage(rule, empty, schema), "Shell");
}

TEST(MessageTest, TemplatesAreCheckedAtLoad) {
  size_t at = 0;
  EXPECT_EQ(rules::CheckMessageTemplate("{process.name} ok {{x}}", &at), "");
  EXPECT_NE(rules::CheckMessageTemplate("bad {process.name", &at), "");
  EXPECT_EQ(at, 4u);
  EXPECT_NE(rules::CheckMessageTemplate("bad }", &at), "");
  EXPECT_NE(rules::CheckMessageTemplate("{not a field}", &at), "");
}

TEST(ProcessTreeTest, AncestryAsNamesExecutablesPidsCommandLines) {
  schema::Schema schema;
  ProcessTree tree(schema);
  tree.Observe(*Exec(schema, 10, "p-1", nullptr, 1, "systemd", "/sbin/init"));
  tree.Observe(*Exec(schema, 20, "p-2", "p-1", 880, "nginx", "nginx: worker"));
  auto shell = Exec(schema, 30, "p-3", "p-2", 3301, "bash", "bash -i");
  tree.Observe(*shell);
  engine::Alert a = AlertOf(shell);
  tree.Describe(&a);
  ASSERT_EQ(a.process_tree.size(), 1u);
  const engine::AlertProcessTree& t = a.process_tree[0];
  EXPECT_EQ(t.process.name, "bash");
  ASSERT_EQ(t.ancestors.size(), 2u);
  EXPECT_EQ(t.ancestors[0].name, "nginx");
  EXPECT_EQ(t.ancestors[0].pid, 880);
  EXPECT_EQ(t.ancestors[0].executable, "/usr/bin/nginx");
  EXPECT_EQ(t.ancestors[0].command_line, "nginx: worker");
  EXPECT_EQ(t.ancestors[1].name, "systemd");
  std::string json;
  engine::AppendProcessTreeJson(a, &json);
  auto parsed = nlohmann::json::parse(json);
  EXPECT_EQ(parsed[0]["ancestors"][1]["command_line"], "/sbin/init");
}

TEST(ProcessTreeTest, AnswersAsOfTheAlertTimeAndBoundsDepth) {
  schema::Schema schema;
  ProcessTree tree(schema);
  tree.Observe(*Exec(schema, 10, "p-1", nullptr, 1, "old-name"));
  auto child = Exec(schema, 20, "p-2", "p-1", 2, "sh");
  tree.Observe(*child);
  tree.Observe(*Exec(schema, 30, "p-1", nullptr, 1, "new-name"));  // p-1 exec'd later
  engine::Alert a = AlertOf(child);
  tree.Describe(&a);
  ASSERT_EQ(a.process_tree.at(0).ancestors.size(), 1u);
  EXPECT_EQ(a.process_tree[0].ancestors[0].name, "old-name");  // what was true at time 20
  // A chain longer than kMaxDepth is cut there; a cycle ends too.
  ProcessTree deep(schema);
  std::vector<std::string> ids;
  for (int i = 0; i < 40; ++i) ids.push_back("d-" + std::to_string(i));
  for (int i = 0; i < 40; ++i) {
    deep.Observe(
        *Exec(schema, 100 + i, ids[i].c_str(), i > 0 ? ids[i - 1].c_str() : "d-39", i, "p"));
  }
  engine::Alert d = AlertOf(Exec(schema, 200, "leaf", "d-39", 99, "leaf"));
  deep.Describe(&d);
  EXPECT_EQ(d.process_tree.at(0).ancestors.size(), static_cast<size_t>(ProcessTree::kMaxDepth));
}

TEST(ProcessTreeTest, BoundedSlotsForgetTheOldest) {
  schema::Schema schema;
  ProcessTree tree(schema, 4);
  for (int i = 0; i < 10; ++i) {
    std::string id = "p-" + std::to_string(i);
    tree.Observe(*Exec(schema, i, id.c_str(), nullptr, i, "x"));
  }
  EXPECT_EQ(tree.forgotten(), 6u);
}

TEST(ExecutableHashesTest, CachedByFileKeyAndMtimeBoundedInSize) {
  fs::path dir = fs::temp_directory_path() / ("kestrel_hash." + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::path file = dir / "tool";
  std::ofstream(file) << "abc";
  ExecutableHashes hashes(/*max_bytes=*/16, /*max_entries=*/2);
  // SHA-256("abc").
  const std::string abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  EXPECT_EQ(hashes.Sha256(file.string()), abc);
  EXPECT_EQ(hashes.Sha256(file.string()), abc);
  EXPECT_EQ(hashes.computed(), 1u);  // the second from the cache
  std::ofstream(file) << "abcd";     // new size and mtime: hashed again
  struct timespec times[2] = {{0, UTIME_NOW}, {12345, 0}};
  ::utimensat(AT_FDCWD, file.c_str(), times, 0);
  EXPECT_NE(hashes.Sha256(file.string()), abc);
  EXPECT_EQ(hashes.computed(), 2u);
  std::ofstream(dir / "big") << std::string(17, 'x');  // over max_bytes: not hashed
  EXPECT_EQ(hashes.Sha256((dir / "big").string()), "");
  EXPECT_EQ(hashes.Sha256((dir / "missing").string()), "");
  EXPECT_EQ(hashes.Sha256(dir.string()), "");  // not a regular file
  fs::remove_all(dir);
}

TEST(ContainerIdTest, FromCgroupPaths) {
  const std::string id(64, 'a');
  EXPECT_EQ(ContainerIdFromCgroup("0::/system.slice/docker-" + id + ".scope\n"), id);
  EXPECT_EQ(ContainerIdFromCgroup("0::/kubepods/besteffort/pod1/cri-containerd-" + id + ".scope"),
            id);
  EXPECT_EQ(ContainerIdFromCgroup("12:memory:/docker/" + id + "\n"), id);
  EXPECT_EQ(ContainerIdFromCgroup("0::/user.slice/user-1000.slice/session-2.scope\n"), "");
  EXPECT_EQ(ContainerIdFromCgroup("0::/x/" + std::string(65, 'b')), "");
  EXPECT_EQ(ContainerIdOf(::getpid()).size() % 64, 0u);  // this test may run in a container
}

}  // namespace
}  // namespace kestrel::pipeline
