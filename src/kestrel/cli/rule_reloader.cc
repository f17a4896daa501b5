#include "kestrel/cli/rule_reloader.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "absl/container/flat_hash_map.h"
#include "kestrel/base/fingerprint.h"
#include "kestrel/base/time.h"

namespace kestrel::cli {
namespace {

std::atomic<bool> g_sighup{false};

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string NowUtc() {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  return base::FormatTimestamp(ns);
}

// Everything about a rule that its alerts and matches depend on.
std::string Definition(const rules::CompiledRule& r) {
  base::Fingerprint f;
  f.Add(r.spec.id).Add(r.spec.name).Add(r.spec.description);
  f.Add(static_cast<int64_t>(r.spec.severity)).Add(static_cast<int64_t>(r.spec.risk_score));
  for (const std::string& t : r.spec.tags) f.Add(t);
  f.Add(static_cast<int64_t>(r.spec.action)).Add(static_cast<int64_t>(r.spec.dialect));
  f.Add(r.spec.query);
  return f.Hex();
}

absl::Status Build(RuleGeneration& g, schema::Schema& schema, const engine::EngineLimits& limits,
                   engine::PredicateRuntime* runtime, RuleGeneration* previous,
                   ReloadOutcome* outcome) {
  g.detector = std::make_unique<engine::Detector>(schema, limits);
  g.detector->UsePredicateRuntime(runtime);
  g.detector->UseFunctions(g.functions);
  absl::flat_hash_map<std::string, size_t> old_rules;  // definition -> rule in `previous`
  if (previous != nullptr) {
    for (size_t i = 0; i < previous->rules.active.size(); ++i) {
      old_rules.emplace(Definition(*previous->rules.active[i]), i);
    }
  }
  absl::flat_hash_map<std::string, bool> old_ids;
  if (previous != nullptr) {
    for (const rules::CompiledRule* r : previous->rules.active) old_ids[r->spec.id] = false;
  }
  for (const rules::CompiledRule* rule : g.rules.active) {
    auto old = old_rules.find(Definition(*rule));
    if (old != old_rules.end()) {
      // Unchanged: the running engine, its partial matches and its program carry over.
      auto& mine = g.rules.build.rules[static_cast<size_t>(rule - g.rules.build.rules.data())];
      mine.program = previous->rules.active[old->second]->program;
      g.detector->AdoptRule(mine.program.get(), previous->detector->ReleaseEngine(old->second));
      ++outcome->kept;
    } else if (absl::Status s = g.detector->AddRule(rule->program.get()); !s.ok()) {
      return s;
    } else if (old_ids.contains(rule->spec.id)) {
      ++outcome->changed;
    } else {
      ++outcome->added;
    }
    if (auto it = old_ids.find(rule->spec.id); it != old_ids.end()) it->second = true;
  }
  for (const auto& [id, present] : old_ids) outcome->removed += present ? 0 : 1;
  return g.detector->Seal();
}

}  // namespace

absl::StatusOr<std::unique_ptr<RuleWatcher>> RuleWatcher::Start(const std::string& directory,
                                                                int quiet_ms) {
  std::unique_ptr<RuleWatcher> w(new RuleWatcher());
  w->quiet_ms_ = quiet_ms;
  w->fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  w->wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (w->fd_ < 0 || w->wake_fd_ < 0) {
    return absl::InternalError(fmt::format("inotify: {}", std::strerror(errno)));
  }
  w->AddWatches(directory);
  g_sighup.store(false);
  std::signal(SIGHUP, [](int) { g_sighup.store(true); });
  w->thread_ = std::thread([p = w.get()] { p->Run(); });
  return w;
}

RuleWatcher::~RuleWatcher() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
    thread_.join();
  }
  std::signal(SIGHUP, SIG_DFL);
  if (fd_ >= 0) ::close(fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void RuleWatcher::AddWatches(const std::string& directory) {
  constexpr uint32_t kMask =
      IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF;
  int wd = inotify_add_watch(fd_, directory.c_str(), kMask);
  if (wd >= 0) watched_[wd] = directory;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(directory, ec);
       it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (!it->is_directory(ec)) continue;
    wd = inotify_add_watch(fd_, it->path().c_str(), kMask);
    if (wd >= 0) watched_[wd] = it->path().string();
  }
}

void RuleWatcher::Run() {
  alignas(inotify_event) char buf[16384];
  while (true) {
    pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) return;
    if (fds[1].revents & POLLIN) return;
    if (!(fds[0].revents & POLLIN)) continue;
    ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n <= 0) continue;
    for (ssize_t off = 0; off < n;) {
      auto* e = reinterpret_cast<inotify_event*>(buf + off);
      // A new subdirectory: watch it (and what it holds) too.
      if ((e->mask & IN_ISDIR) && (e->mask & (IN_CREATE | IN_MOVED_TO)) && e->len > 0) {
        auto parent = watched_.find(e->wd);
        if (parent != watched_.end()) {
          AddWatches((std::filesystem::path(parent->second) / e->name).string());
        }
      }
      off += static_cast<ssize_t>(sizeof(inotify_event) + e->len);
    }
    last_change_ms_.store(NowMs());
    changed_.store(true);
  }
}

bool RuleWatcher::ReloadDue() {
  if (g_sighup.exchange(false)) {
    changed_.store(false);
    return true;
  }
  if (!changed_.load(std::memory_order_relaxed)) return false;
  if (NowMs() - last_change_ms_.load() < quiet_ms_) return false;
  changed_.store(false);
  return true;
}

absl::StatusOr<RuleGeneration> FirstGeneration(
    const std::optional<std::string>& dir_flag, bool endgame, schema::Schema& schema,
    const engine::EngineLimits& limits, engine::PredicateRuntime* runtime,
    const std::function<absl::StatusOr<engine::PredicateRuntime*>(const LoadedRules&)>& bind,
    const std::vector<eql::CustomFunction>* signatures, engine::FunctionRuntime* functions) {
  RuleGeneration g;
  g.signatures = signatures;
  g.functions = functions;
  auto loaded = LoadRules(dir_flag, endgame, schema, limits, signatures);
  if (!loaded.ok()) return loaded.status();
  g.rules = std::move(*loaded);
  if (bind) {
    auto bound = bind(g.rules);
    if (!bound.ok()) return bound.status();
    runtime = *bound;
  }
  g.version = 1;
  g.loaded_at = NowUtc();
  ReloadOutcome ignored;
  if (absl::Status s = Build(g, schema, limits, runtime, nullptr, &ignored); !s.ok()) return s;
  return g;
}

absl::StatusOr<RuleGeneration> NextGeneration(RuleGeneration& current, bool endgame,
                                              schema::Schema& schema,
                                              const engine::EngineLimits& limits,
                                              engine::PredicateRuntime* runtime,
                                              ReloadOutcome* outcome) {
  *outcome = {};
  RuleGeneration g;
  g.signatures = current.signatures;
  g.functions = current.functions;
  auto loaded = LoadRules(current.rules.directory, endgame, schema, limits, g.signatures);
  if (!loaded.ok()) return loaded.status();
  if (loaded->failed > 0) {
    return absl::FailedPreconditionError(
        fmt::format("{} rule(s) failed to load (diagnostics above)", loaded->failed));
  }
  g.rules = std::move(*loaded);
  g.version = current.version + 1;
  g.loaded_at = NowUtc();
  // A failure past this point (an engine refusal) would leave `current` half given away; the
  // rules were already accepted by LoadRules with the same limits, so it does not happen.
  if (absl::Status s = Build(g, schema, limits, runtime, &current, outcome); !s.ok()) return s;
  return g;
}

}  // namespace kestrel::cli
