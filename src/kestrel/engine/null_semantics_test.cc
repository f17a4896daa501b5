// Missing fields in the two dialects, through the whole engine (compile, Detector with its rule
// index, matches): the Elasticsearch dialect runs a condition as Elasticsearch runs it as a
// query (a negated query leaf matches events without the field; scripts stay three-valued; a
// sequence's or sample's mandatory join keys must exist), the Endgame dialect keeps the
// reference's three-valued logic everywhere. docs/eql.md, "Missing fields".
#include <gtest/gtest.h>

#include <cctype>
#include <functional>
#include <string>
#include <vector>

#include "kestrel/base/time.h"
#include "kestrel/engine/detector.h"
#include "kestrel/eql/sema.h"

namespace kestrel::engine {
namespace {

using eql::Dialect;
using event::EventBuilder;

using base::kSecond;

class NullSemanticsTest : public ::testing::Test {
 protected:
  // The `n` of each event `query` matches (each match's events joined by ','), in order, run
  // through a Detector (rule index included) in `dialect`.
  std::string Run(std::string_view query, Dialect dialect) {
    eql::CompileOptions options;
    options.dialect = dialect;
    eql::CompileResult r = eql::Compile(query, schema_, options);
    if (!r.ok()) return "compile error: " + r.diagnostics[0].message;
    Detector d(schema_, {});
    if (!d.AddRule(r.program.get()).ok() || !d.Seal().ok()) return "detector error";
    std::string out;
    schema::FieldId n = *schema_.Find("n");
    auto record = [&](size_t, QueryMatch& m) {
      out += out.empty() ? "" : " ";
      for (size_t i = 0; i < m.events.size(); ++i) {
        out += (i ? "," : "") + std::to_string(m.events[i]->Find(n)->as_int());
      }
    };
    for (size_t i = 0; i < events_.size(); ++i) d.Process(events_[i], i, record);
    d.Finish(record);
    return out;
  }
  std::string Es(std::string_view query) { return Run(query, Dialect::kElasticsearch); }
  std::string Endgame(std::string_view query) { return Run(query, Dialect::kEndgame); }
  // `?field` is Elasticsearch syntax (Endgame reads `?"..."` as a raw string).
  static std::string WithoutOptionalMarks(std::string_view query) {
    std::string out;
    for (size_t i = 0; i < query.size(); ++i) {
      if (query[i] == '?' && i + 1 < query.size() && std::isalpha(query[i + 1])) continue;
      out.push_back(query[i]);
    }
    return out;
  }

  // An event numbered `n` (second n) of `category`, with what `fill` adds.
  void Add(int64_t n, std::string_view category,
           const std::function<void(EventBuilder&)>& fill = {}) {
    EventBuilder b(schema_);
    b.Time(n * kSecond).Category(category).Int("n", n);
    if (fill) fill(b);
    events_.push_back(b.Build());
  }

  schema::Schema schema_;
  std::vector<event::Event> events_;
};

// The issue's cases: `not` over a query leaf is true where the field is missing in the
// Elasticsearch dialect, null (no match) in the Endgame dialect.
TEST_F(NullSemanticsTest, NegatedQueryLeavesMatchMissingFieldsOnlyInElasticsearch) {
  Add(1, "file", [](EventBuilder& b) { b.Str("file.extension", "a"); });
  Add(2, "file", [](EventBuilder& b) { b.Str("file.extension", "txt"); });
  Add(3, "file");  // no file.extension, no process.name, no entry leader
  Add(4, "file", [](EventBuilder& b) {
    b.Str("process.name", "xterm").Str("process.entry_leader.executable", "/usr/sbin/sshd");
  });
  Add(5, "file", [](EventBuilder& b) {
    b.Str("process.name", "bash").Str("process.entry_leader.executable", "/bin/login");
  });

  EXPECT_EQ(Es(R"(file where not (file.extension in ("a", "b")))"), "2 3 4 5");
  EXPECT_EQ(Es(R"(file where file.extension not in ("a", "b"))"), "2 3 4 5");
  EXPECT_EQ(Endgame(R"(file where not (file.extension in ("a", "b")))"), "2");
  EXPECT_EQ(Endgame(R"(file where file.extension not in ("a", "b"))"), "2");

  EXPECT_EQ(Es(R"(file where not process.name : "x*")"), "1 2 3 5");
  EXPECT_EQ(Endgame(R"(file where not wildcard(process.name, "x*"))"), "5");

  EXPECT_EQ(Es(R"(file where not startsWith(?process.entry_leader.executable, "/usr"))"),
            "1 2 3 5");
  EXPECT_EQ(Endgame(R"(file where not startsWith(process.entry_leader.executable, "/usr"))"), "5");

  // Ranges, regexes, like, endsWith, stringContains: the same.
  EXPECT_EQ(Es(R"(file where not process.name like "x*")"), "1 2 3 5");
  EXPECT_EQ(Es(R"(file where not process.name regex "x.*")"), "1 2 3 5");
  EXPECT_EQ(Es(R"(file where not endsWith(process.name, "term"))"), "1 2 3 5");
  EXPECT_EQ(Es(R"(file where not stringContains(process.name, "ter"))"), "1 2 3 5");
  EXPECT_EQ(Es(R"(file where not n > 3)"), "1 2 3");
  EXPECT_EQ(Es(R"(file where not ?process.pid > 3)"), "1 2 3 4 5");
  EXPECT_EQ(Endgame(R"(file where not process.pid > 3)"), "");

  // The positive leaves are unchanged: a missing field does not match.
  EXPECT_EQ(Es(R"(file where file.extension in ("a", "txt"))"), "1 2");
  EXPECT_EQ(Es(R"(file where startsWith(?process.entry_leader.executable, "/"))"), "4 5");
}

// Elasticsearch's `:` with a non-string constant is equality; `!:` is the negation of `:`, a
// query negation: it matches events without the field (issue 24). `x : null` is `x == null`.
TEST_F(NullSemanticsTest, SeqWithAnyConstantAndNotSeq) {
  Add(1, "process", [](EventBuilder& b) {
    b.Str("process.name", "Bash").Int("process.pid", 1).Bool("process.interactive", true);
  });
  Add(2, "process", [](EventBuilder& b) {
    b.Str("process.name", "sh").Int("process.pid", 2).Bool("process.interactive", false);
  });
  Add(3, "process");  // no fields
  Add(4, "process", [](EventBuilder& b) { b.Strs("process.args", {"-C", "curl"}); });

  EXPECT_EQ(Es(R"(process where process.pid : 1)"), "1");
  EXPECT_EQ(Es(R"(process where process.pid : (2, 1))"), "1 2");
  EXPECT_EQ(Es(R"(process where process.interactive : true)"), "1");
  EXPECT_EQ(Es(R"(process where process.interactive : false)"), "2");
  // `: null` / `!: null` are `== null` / `!= null`, as Elasticsearch's spec file expects.
  EXPECT_EQ(Es(R"(process where process.name : null)"), "3 4");
  EXPECT_EQ(Es(R"(process where process.name !: null)"), "1 2");

  EXPECT_EQ(Es(R"(process where process.name !: "bash")"), "2 3 4");
  EXPECT_EQ(Es(R"(process where process.name !: ("b*", "SH"))"), "3 4");
  EXPECT_EQ(Es(R"(process where process.pid !: 1)"), "2 3 4");
  EXPECT_EQ(Es(R"(process where process.interactive !: true)"), "2 3 4");
  EXPECT_EQ(Es(R"(process where not process.name !: "bash")"), "1");
  // An array: `:` holds when an element matches, so `!:` when none does.
  EXPECT_EQ(Es(R"(process where process.args : "-c")"), "4");
  EXPECT_EQ(Es(R"(process where process.args !: "-c")"), "1 2 3");
  // `!:` over a script is `not` over that script, whatever its null semantics.
  EXPECT_EQ(Es(R"(process where length(process.name) : 2)"), "2");
  EXPECT_EQ(Es(R"(process where length(process.name) !: 2)"),
            Es(R"(process where not length(process.name) == 2)"));
  EXPECT_EQ(Es(R"(process where process.args[0] !: "-c")"),
            Es(R"(process where not process.args[0] : "-c")"));
  // `not in~`, the grammar's other negated predicate, with the same null semantics.
  EXPECT_EQ(Es(R"(process where process.name not in~ ("BASH"))"), "2 3 4");
}

// `and`/`or` are bool queries: a negation over them is two-valued too, even when an operand is
// a script (whose null does not match inside the bool query).
TEST_F(NullSemanticsTest, NegationOfBoolQueriesIsTwoValued) {
  Add(1, "process", [](EventBuilder& b) { b.Str("process.name", "bash"); });
  Add(2, "process", [](EventBuilder& b) { b.Str("process.name", "sh"); });
  Add(3, "process");
  const char* query = R"(process where not (process.name == "bash" or length(process.name) > 5))";
  EXPECT_EQ(Es(query), "2 3");
  EXPECT_EQ(Endgame(query), "2");
  const char* both = R"(process where not (process.name != "sh" and process.name : "b*"))";
  EXPECT_EQ(Es(both), "2 3");
}

// What Elasticsearch evaluates as a script keeps null propagation in both dialects.
TEST_F(NullSemanticsTest, ScriptsKeepNullPropagation) {
  // Events 1-2 have exit_code; 3 does not.
  Add(1, "process", [](EventBuilder& b) {
    b.Int("process.exit_code", 0).Int("process.pid", 10).Int("process.parent.pid", 10);
  });
  Add(2, "process", [](EventBuilder& b) {
    b.Int("process.exit_code", -5).Int("process.pid", 11).Int("process.parent.pid", 1);
  });
  Add(3, "process", [](EventBuilder& b) { b.Int("process.pid", 12); });
  for (Dialect dialect : {Dialect::kElasticsearch, Dialect::kEndgame}) {
    SCOPED_TRACE(dialect == Dialect::kEndgame ? "endgame" : "elasticsearch");
    // The spec's comparison used as a value: null == (null > -1) holds where it is missing.
    EXPECT_EQ(Run(R"(process where null == (process.exit_code > -1))", dialect), "3");
    EXPECT_EQ(Run(R"(process where not (process.exit_code > -1))", dialect),
              dialect == Dialect::kEndgame ? "2" : "2 3");
    // Two fields compared, one missing: no match, negated or not.
    EXPECT_EQ(Run(R"(process where process.pid == process.parent.pid)", dialect), "1");
    EXPECT_EQ(Run(R"(process where process.pid < process.parent.pid)", dialect), "");
    EXPECT_EQ(Run(R"(process where not process.pid < process.parent.pid)", dialect), "1 2");
    // Arithmetic over a missing field is null, and so is its negation.
    EXPECT_EQ(Run(R"(process where process.exit_code + 1 > 0)", dialect), "1");
    EXPECT_EQ(Run(R"(process where not (process.exit_code + 1 > 0))", dialect), "2");
    // A function Elasticsearch cannot express as a query: a script, three-valued.
    EXPECT_EQ(Run(R"(process where not (length(process.name) > 0))", dialect), "");
  }
}

// Shapes of real detection-rules rules (elastic/detection-rules, rules/linux): the cron and shell
// profile persistence rules' `not file.extension in (...)` exclusion and the PAM / polkit
// version-discovery rules' `not (?optional ... in (...) or ...)` exclusions, on events that lack
// the excluded fields (as the live eBPF source emits them).
TEST_F(NullSemanticsTest, DetectionRulesExclusionsOverMissingFields) {
  // Cron job creation by a shell, no file.extension; then one by dpkg; then a .swp file.
  Add(1, "file", [](EventBuilder& b) {
    b.Str("host.os.type", "linux").Str("event.action", "creation");
    b.Str("file.path", "/etc/cron.d/job").Str("process.executable", "/usr/bin/bash");
  });
  Add(2, "file", [](EventBuilder& b) {
    b.Str("host.os.type", "linux").Str("event.action", "creation");
    b.Str("file.path", "/etc/cron.d/job").Str("process.executable", "/usr/bin/dpkg");
  });
  Add(3, "file", [](EventBuilder& b) {
    b.Str("host.os.type", "linux").Str("event.action", "creation");
    b.Str("file.path", "/etc/cron.d/.job.swp").Str("file.extension", "swp");
    b.Str("process.executable", "/usr/bin/vim");
  });
  const char* cron =
      R"(file where host.os.type == "linux" and event.action in ("rename", "creation")
    and file.path like ("/etc/cron.d/*", "/etc/crontab") and not (
      process.executable in ("/bin/dpkg", "/usr/bin/dpkg") or
      file.extension in ("swp", "swpx", "swx", "dpkg-remove") or
      file.Ext.original.extension == "dpkg-new" or
      process.executable : ("/nix/store/*", "/var/lib/dpkg/*") or
      process.executable == null
    ))";
  EXPECT_EQ(Es(cron), "1");
  // The same in the Endgame dialect (`==` with `*` is its wildcard): the missing extension
  // makes the exclusion null, and its negation too.
  const char* cron_endgame = R"(file where host.os.type == "linux" and
    event.action in ("rename", "creation") and
    (file.path == "/etc/cron.d/*" or file.path == "/etc/crontab") and not (
      process.executable in ("/bin/dpkg", "/usr/bin/dpkg") or
      file.extension in ("swp", "swpx", "swx", "dpkg-remove") or
      file.Ext.original.extension == "dpkg-new" or
      process.executable == "/nix/store/*" or process.executable == "/var/lib/dpkg/*" or
      process.executable == null
    ))";
  EXPECT_EQ(Endgame(cron_endgame), "");

  // PAM / polkit version discovery, without parent name, working directory or entry leader.
  Add(4, "process", [](EventBuilder& b) {
    b.Str("host.os.type", "linux").Str("event.type", "start").Str("event.action", "exec");
    b.Str("process.name", "dpkg").Strs("process.args", {"dpkg", "-l", "libpam-modules"});
    b.Str("process.executable", "/usr/bin/dpkg").Str("process.parent.name", "bash");
  });
  Add(5, "process", [](EventBuilder& b) {
    b.Str("host.os.type", "linux").Str("event.type", "start").Str("event.action", "exec");
    b.Str("process.name", "pkaction").Strs("process.args", {"pkaction", "--version"});
    b.Str("process.executable", "/usr/bin/pkaction");
  });
  const char* pam = R"(process where host.os.type == "linux" and event.type == "start" and
    event.action in ("exec", "exec_event", "start") and ?process.parent.name != null and
    ((process.name in ("dpkg", "dpkg-query") and process.args == "libpam-modules") or
     (process.name == "rpm" and process.args == "pam")) and
    not (
      ?process.parent.name in ("dcservice", "inspectorssmplugin") or
      ?process.working_directory in ("/var/ossec", "/opt/msp-agent") or
      ?process.entry_leader.executable in ("/usr/sbin/ScanAssistant") or
      (process.executable == "/usr/bin/rpm" and ?process.parent.name == "systemd")
    ))";
  EXPECT_EQ(Es(pam), "4");
  EXPECT_EQ(Endgame(WithoutOptionalMarks(pam)), "");
  const char* polkit = R"(process where host.os.type == "linux" and event.type == "start" and
    ((process.name == "rpm" and process.args == "polkit") or
     (process.name == "pkaction" and process.args == "--version")) and
    not (
      ?process.working_directory in ("/opt/msp-agent", "/opt/CyberCNSAgent") or
      ?process.parent.executable like ("/usr/local/cpanel/3rdparty/perl/*/bin/perl") or
      (?process.parent.args == "/usr/lib/venv-salt-minion/bin/python.original" and
       ?process.parent.args == "/usr/lib/venv-salt-minion/bin/salt-minion")
    ))";
  EXPECT_EQ(Es(polkit), "5");
  std::string polkit_endgame = WithoutOptionalMarks(polkit);
  size_t like = polkit_endgame.find(" like (");
  ASSERT_NE(like, std::string::npos);
  polkit_endgame.replace(like, 7, " == (");
  EXPECT_EQ(Endgame(polkit_endgame), "");
}

// Sequences and samples: each stage (`until` too) is a query; a join key that is a plain field
// not written `?field` must exist (Elasticsearch adds an exists filter per mandatory key), an
// optional key may be null and joins null with null.
TEST_F(NullSemanticsTest, SequenceStagesUntilAndJoinKeys) {
  Add(1, "process", [](EventBuilder& b) { b.Str("process.name", "curl"); });  // no entity id
  Add(2, "file", [](EventBuilder& b) { b.Str("file.path", "/tmp/x"); });      // no entity id
  Add(3, "process",
      [](EventBuilder& b) { b.Str("process.name", "curl").Str("process.entity_id", "e1"); });
  Add(4, "file", [](EventBuilder& b) {
    b.Str("file.path", "/tmp/y").Str("process.entity_id", "e1").Str("file.extension", "sh");
  });
  Add(5, "file",
      [](EventBuilder& b) { b.Str("file.path", "/tmp/z").Str("process.entity_id", "e1"); });
  EXPECT_EQ(Es(R"(sequence by process.entity_id [process where true] [file where true])"), "3,4");
  EXPECT_EQ(Es(R"(sequence by ?process.entity_id [process where true] [file where true])"),
            "1,2 3,4");
  // The Endgame dialect joins on null keys, as its reference does.
  EXPECT_EQ(Endgame(R"(sequence by process.entity_id [process where true] [file where true])"),
            "1,2 3,4");
  // A negated leaf in a stage: the file without an extension completes the sequence.
  const char* negated = R"(sequence by process.entity_id
    [process where process.name == "curl"] [file where not file.extension in ("sh")])";
  EXPECT_EQ(Es(negated), "3,5");
  EXPECT_EQ(Endgame(negated), "");
  // `until` is a query too: a negated leaf over a missing field ends the sequence.
  const char* until = R"(sequence by ?process.entity_id
    [process where true] [file where file.path : "/tmp/*"]
    until [file where not file.extension in ("sh") and file.path == "/tmp/x"])";
  EXPECT_EQ(Es(until), "3,4");
  // Samples: the mandatory key is required as well.
  EXPECT_EQ(Es(R"(sample by process.entity_id [process where true] [file where true])"), "3,4");
}

// The rule index (hashed equalities, vectorscan) never closes a stage whose predicate is a
// negated leaf: events without the field reach it.
TEST_F(NullSemanticsTest, RuleIndexOpensNegatedStagesForEventsWithoutTheField) {
  Add(1, "process", [](EventBuilder& b) { b.Str("process.name", "ls"); });
  Add(2, "process");
  Add(3, "process", [](EventBuilder& b) { b.Str("process.name", "sshd"); });
  EXPECT_EQ(Es(R"(process where not process.name in ("sshd", "cron"))"), "1 2");
  EXPECT_EQ(Es(R"(process where not process.name : "ssh*")"), "1 2");
  EXPECT_EQ(Es(R"(process where not startsWith(process.name, "ssh"))"), "1 2");
  EXPECT_EQ(Es(R"(process where n >= 1 and not process.name == "ls")"), "2 3");
}

}  // namespace
}  // namespace kestrel::engine
