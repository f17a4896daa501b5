// Test-only fixtures shared by the ebpf/ tests (included by *_test.cc files only, never by a
// library):
// - ValueText: an event field as the text the tests compare ("<missing>" when absent, arrays
//   joined by "|");
// - the synthetic kernel records: RecordBytes, FillHeader, Components (leaf-first path
//   components, as the BPF side writes them) and DecoderFixture (a schema, a process table, a
//   RecordDecoder and the event it fills);
// - with KESTREL_HAVE_EBPF (the sources_ebpf_test target only): LiveSourceTest, an EbpfSource
//   started against the running kernel (skipped, with the reason printed, when the kernel or the
//   process lacks what it needs), its events collected by a thread until a predicate or a
//   timeout.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "kestrel/sources/ebpf/decoder.h"
#include "kestrel/sources/ebpf/process_table.h"

#if defined(KESTREL_HAVE_EBPF)
#include <atomic>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "kestrel/sources/ebpf/ebpf_source.h"
#endif

namespace kestrel::sources::ebpf_test {

// The text of a field's value: "<missing>" for none, strings as they are, numbers in decimal,
// addresses in their usual form, arrays of strings joined by "|", "<other>" for anything else.
inline std::string ValueText(const event::Value* v) {
  if (v == nullptr) return "<missing>";
  switch (v->kind()) {
    case event::ValueKind::kString:
      return std::string(v->as_string());
    case event::ValueKind::kInt:
      return std::to_string(v->as_int());
    case event::ValueKind::kIp:
      return v->as_ip().ToString();
    case event::ValueKind::kArray: {
      std::string out;
      for (const event::Value& x : v->as_array())
        out += (out.empty() ? "" : "|") + std::string(x.as_string());
      return out;
    }
    default:
      return "<other>";
  }
}

// The first `size` bytes of a record, as the decoder takes them.
template <typename T>
std::span<const uint8_t> RecordBytes(const T& r, size_t size = sizeof(T)) {
  return {reinterpret_cast<const uint8_t*>(&r), size};
}

// What FillHeader writes into a record's header; the rest of the header is zeroed.
struct HeaderFields {
  uint32_t pid = 0;  // tgid and tid; start_boottime is pid clock ticks
  uint32_t ppid = 1;
  uint32_t uid = 0;  // uid and euid
  uint32_t gid = 0;  // gid and egid
  uint32_t sid = 0;
  uint32_t pgid = 0;
  uint64_t boot_ns = 0;
  const char* comm = "";
};

inline void FillHeader(kestrel_header* h, uint32_t kind, const HeaderFields& f) {
  std::memset(h, 0, sizeof(*h));
  h->kind = kind;
  h->tgid = h->tid = f.pid;
  h->ppid = f.ppid;
  h->uid = h->euid = f.uid;
  h->gid = h->egid = f.gid;
  h->sid = f.sid;
  h->pgid = f.pgid;
  h->boot_ns = f.boot_ns;
  h->start_boottime = uint64_t{f.pid} * ebpf::kNsPerClockTick;
  std::strncpy(h->comm, f.comm, sizeof(h->comm) - 1);
}

// Leaf-first components, as the BPF side writes them; returns their length.
template <size_t N>
uint32_t Components(char (&buf)[N], std::initializer_list<std::string_view> parts) {
  size_t off = 0;
  for (std::string_view p : parts) {
    std::memcpy(buf + off, p.data(), p.size());
    off += p.size();
    buf[off++] = '\0';
  }
  return static_cast<uint32_t>(off);
}

// Leaf-first components as one string ("alice\0home\0"), as the BPF side writes a path.
inline std::string Parts(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view p : parts) {
    out += p;
    out += '\0';
  }
  return out;
}

// A string literal with its embedded NULs and its final one ("a\0b" is 4 bytes), as argv and
// the environment are read from a new image's stack.
template <size_t N>
std::string Nul(const char (&s)[N]) {
  return std::string(s, N);
}

// The parts of an exec record; PackExec writes them as the BPF side does (kestrel_records.h:
// packed at their lengths, in this order, after the fixed part).
struct ExecRecord {
  std::string filename = {};  // without a NUL
  std::string cwd = {};       // Parts()
  std::string exe = {};       // Parts()
  std::string args = {};      // NUL-separated (Nul())
  std::string env = {};       // likewise
  uint32_t argc = 0;
  uint32_t args_count = 0;
};

inline std::vector<uint8_t> PackExec(const kestrel_header& h, const ExecRecord& r) {
  kestrel_exec fixed;
  std::memset(&fixed, 0, offsetof(kestrel_exec, data));
  fixed.h = h;
  fixed.h.kind = KESTREL_EXEC;
  fixed.filename_len = static_cast<uint32_t>(r.filename.size());
  fixed.cwd_len = static_cast<uint32_t>(r.cwd.size());
  fixed.exe_len = static_cast<uint32_t>(r.exe.size());
  fixed.args_len = static_cast<uint32_t>(r.args.size());
  fixed.env_len = static_cast<uint32_t>(r.env.size());
  fixed.argc = r.argc;
  fixed.args_count = r.args_count;
  std::vector<uint8_t> out(reinterpret_cast<const uint8_t*>(&fixed),
                           reinterpret_cast<const uint8_t*>(&fixed) + offsetof(kestrel_exec, data));
  for (const std::string* part : {&r.filename, &r.cwd, &r.exe, &r.args, &r.env}) {
    out.insert(out.end(), part->begin(), part->end());
  }
  return out;
}

// A RecordDecoder over its own schema and process table (boot id "boot"), and the event it fills.
class DecoderFixture : public ::testing::Test {
 protected:
  explicit DecoderFixture(const ebpf::DecoderOptions& options)
      : table_("boot"), decoder_(schema_, &table_, options) {}

  // Puts process `pid` (started at tick `pid`) into the table with these names.
  ebpf::ProcessInfo& AddProcess(uint32_t pid, uint32_t ppid, std::string executable,
                                std::string name, std::vector<std::string> args,
                                std::string command_line) {
    ebpf::ProcessInfo& p = table_.Touch(pid, pid);
    p.pid = pid;
    p.ppid = ppid;
    p.executable = std::move(executable);
    p.name = std::move(name);
    p.args = std::move(args);
    p.command_line = std::move(command_line);
    return p;
  }

  // The text of `field` in event_ ("<unknown field>" when the schema has no such field).
  std::string FieldText(std::string_view field) {
    auto id = schema_.Find(field);
    if (!id) return "<unknown field>";
    return ValueText(event_.Find(*id));
  }

  schema::Schema schema_;
  ebpf::ProcessTable table_;
  ebpf::RecordDecoder decoder_;
  event::Event event_;
  std::string why_;
};

#if defined(KESTREL_HAVE_EBPF)

// An EbpfSource against the running kernel, pulled by a thread into events_ from SetUp to
// TearDown. Skips the test, printing the reason, when EbpfMissingRequirements() is not empty.
class LiveSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<std::string> missing = EbpfMissingRequirements();
    if (!missing.empty()) {
      std::string why;
      for (const auto& m : missing) why += m + "; ";
      std::printf("SKIPPED: the kernel or process lacks: %s\n", why.c_str());
      GTEST_SKIP() << "missing: " << why;
    }
    BeforeOpen();
    if (HasFatalFailure()) return;
    EbpfOptions options = Options();
    options.stop = &stop_;
    auto source = EbpfSource::Open(&schema_, options, [](const SourceDiagnostic& d) {
      std::printf("diagnostic: %s %s\n", d.location.c_str(), d.reason.c_str());
    });
    ASSERT_TRUE(source.ok()) << source.status();
    source_ = std::move(*source);
    std::printf("mechanism: %s\n", source_->mechanism().c_str());
    BeforePulling();
    puller_ = std::thread([this] {
      event::Event e;
      while (true) {
        auto more = source_->Next(&e);
        if (!more.ok() || !*more) return;
        std::lock_guard<std::mutex> lock(mu_);
        events_.push_back(e);
      }
    });
  }
  void TearDown() override {
    stop_.store(true);
    if (puller_.joinable()) puller_.join();
  }

  // The options the source opens with (stop is set by SetUp).
  virtual EbpfOptions Options() { return EbpfOptions{}; }
  // After the skip check, before the source opens (a fatal failure here stops SetUp).
  virtual void BeforeOpen() {}
  // After the source opens, before the pulling thread starts.
  virtual void BeforePulling() {}

  std::string Str(const event::Event& e, schema::FieldId id) { return ValueText(e.Find(id)); }
  std::string Str(const event::Event& e, std::string_view field) {
    auto id = schema_.Find(field);
    return ValueText(id ? e.Find(*id) : nullptr);
  }

  // The events pulled so far that `match` accepts.
  std::vector<event::Event> Matching(const std::function<bool(const event::Event&)>& match) {
    std::vector<event::Event> found;
    std::lock_guard<std::mutex> lock(mu_);
    for (const event::Event& e : events_) {
      if (match(e)) found.push_back(e);
    }
    return found;
  }
  bool Any(const std::function<bool(const event::Event&)>& match) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const event::Event& e : events_) {
      if (match(e)) return true;
    }
    return false;
  }

  // Every event `match` accepts, once at least `n` arrived or after `seconds`.
  std::vector<event::Event> WaitFor(size_t n, const std::function<bool(const event::Event&)>& match,
                                    int seconds = 3) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (true) {
      std::vector<event::Event> found = Matching(match);
      if (found.size() >= n || std::chrono::steady_clock::now() >= deadline) return found;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  // The first event that `match` accepts, waiting up to 2 s.
  std::optional<event::Event> WaitFor(const std::function<bool(const event::Event&)>& match) {
    std::vector<event::Event> found = WaitFor(1, match, 2);
    if (found.empty()) return std::nullopt;
    return found.front();
  }

  schema::Schema schema_;
  std::atomic<bool> stop_{false};
  std::unique_ptr<EbpfSource> source_;
  std::thread puller_;
  std::mutex mu_;
  std::vector<event::Event> events_;
};

#endif  // KESTREL_HAVE_EBPF

}  // namespace kestrel::sources::ebpf_test
