// RuleWatcher; see rule_watcher.h.
#include "kestrel/pipeline/rule_watcher.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

namespace kestrel::pipeline {
namespace {

std::atomic<bool> g_sighup{false};

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
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

}  // namespace kestrel::pipeline
