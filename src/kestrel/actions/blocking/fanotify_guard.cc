// FanotifyGuard; see fanotify_guard.h for the threads and the one-answer protocol.
#include "kestrel/actions/blocking/fanotify_guard.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include <fmt/format.h>

namespace kestrel::actions::blocking {
namespace {

int64_t SteadyNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t WallNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The path of an open fd (the file the kernel holds for us), into `out` (no allocation once
// `out` has capacity), read relative to `proc_fd_dir` (an fd of /proc/self/fd: no walk of
// /proc/self per access). False when it cannot be read.
bool FdPath(int proc_fd_dir, int fd, std::string* out) {
  char link[16];
  std::snprintf(link, sizeof link, "%d", fd);
  out->resize(out->capacity() < 4096 ? 4096 : out->capacity());
  ssize_t n = ::readlinkat(proc_fd_dir, link, out->data(), out->size());
  if (n <= 0 || static_cast<size_t>(n) >= out->size()) {
    out->clear();
    return false;
  }
  out->resize(static_cast<size_t>(n));
  return true;
}

// Calls fn(fd, pid, kind) for each permission event in the `n` bytes read into `buf`; closes the
// fds of anything else.
template <typename Fn>
void ForEachPermissionEvent(char* buf, ssize_t n, Fn fn) {
  auto* md = reinterpret_cast<struct fanotify_event_metadata*>(buf);
  for (; FAN_EVENT_OK(md, n); md = FAN_EVENT_NEXT(md, n)) {
    if (md->vers != FANOTIFY_METADATA_VERSION || md->fd < 0) continue;
    if ((md->mask & (FAN_OPEN_PERM | FAN_OPEN_EXEC_PERM)) == 0) {
      ::close(md->fd);
      continue;
    }
    fn(md->fd, static_cast<int32_t>(md->pid),
       (md->mask & FAN_OPEN_EXEC_PERM) ? AccessKind::kExec : AccessKind::kOpen);
  }
}

enum SlotState : uint8_t { kFree, kPending, kAnswering, kAnswered };

}  // namespace

absl::Status ProbeFanotifyPermissionEvents() {
  int fan = ::fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC, O_RDONLY);
  if (fan < 0) {
    return absl::FailedPreconditionError(
        fmt::format("fanotify_init(FAN_CLASS_CONTENT): {}{}", std::strerror(errno),
                    errno == EPERM ? " (needs CAP_SYS_ADMIN: run as root)" : ""));
  }
  // A mark on a file of our own: permission events for exec are accepted by this kernel.
  char tmpl[] = "/tmp/kestrel-fanotify-probe.XXXXXX";
  int tmp = ::mkstemp(tmpl);
  int m = tmp >= 0 ? ::fanotify_mark(fan, FAN_MARK_ADD, FAN_OPEN_EXEC_PERM | FAN_OPEN_PERM,
                                     AT_FDCWD, tmpl)
                   : -1;
  int err = errno;
  if (tmp >= 0) {
    ::close(tmp);
    ::unlink(tmpl);
  }
  ::close(fan);
  if (m != 0) {
    return absl::FailedPreconditionError(
        fmt::format("fanotify_mark(FAN_OPEN_EXEC_PERM | FAN_OPEN_PERM): {} (kernel without "
                    "CONFIG_FANOTIFY_ACCESS_PERMISSIONS?)",
                    std::strerror(err)));
  }
  return absl::OkStatus();
}

struct FanotifyGuard::Impl {
  struct Slot {
    std::atomic<uint8_t> state{kFree};
    int fd = -1;
    int32_t pid = 0;
    AccessKind kind = AccessKind::kExec;
    int64_t read_ns = 0;  // steady clock
    int64_t deadline_ns = 0;
    int64_t wall_ns = 0;
    std::string path;
  };
  // One judge thread: what the watchdog needs to see of it.
  struct JudgeState {
    std::atomic<int64_t> busy_since{0};  // steady ns when it started its current access; 0: idle
  };

  FanotifyGuardOptions options;
  GuardCounters* counters = nullptr;
  ReportFn report;
  int fan_fd = -1;
  int stop_fd = -1;      // eventfd: wakes the judges
  int feed_fd = -1;      // eventfd: the feed grew large, drain it without waiting for an access
  int proc_fd_dir = -1;  // /proc/self/fd, where the events' fds are named
  bool wants_open = false;
  bool stopped = false;
  std::atomic<bool> stopping{false};
  std::unique_ptr<Slot[]> slots;
  std::vector<std::unique_ptr<GuardEvaluator>> evaluators;  // one per judge
  std::unique_ptr<JudgeState[]> judge_state;

  // Free slots and the feed.
  std::mutex mu;
  std::vector<uint32_t> free_slots;
  std::vector<event::Event> feed;  // stream events for the evaluator (sequence state)
  static constexpr size_t kMaxFeed = 65'536;
  static constexpr size_t kFeedWake = 4'096;  // a feed this long is drained without an access

  // Watchdog: ticks while accesses come (a second after the last one), sleeps otherwise; a
  // judge wakes it only out of that sleep, so a steady stream of accesses costs no wake-ups.
  std::atomic<uint32_t> pending{0};
  std::atomic<int64_t> last_access_ns{0};
  std::atomic<bool> watchdog_idle{true};
  std::mutex wd_mu;
  std::condition_variable wd_cv;
  bool stop_watchdog = false;
  static constexpr int64_t kWatchdogLinger = 1'000'000'000;

  // Reporter.
  std::mutex report_mu;
  std::condition_variable report_cv;
  std::deque<Verdict> reports;
  bool stop_reporter = false;
  static constexpr size_t kMaxReports = 4096;

  std::thread watchdog, reporter;
  std::vector<std::thread> judges;
  size_t njudges = 0;  // constant once the threads run

  bool Write(int fd, uint32_t response) {
    struct fanotify_response r;
    r.fd = fd;
    r.response = response;
    if (::write(fan_fd, &r, sizeof r) != static_cast<ssize_t>(sizeof r)) {
      counters->write_errors.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    return true;
  }

  // Writes the one answer for `s` if nobody has; false when it was answered already.
  // `count` (the outcome's counter) is incremented before the answer is written, so whoever
  // sees the access complete (the process, a test) also sees it counted.
  bool Answer(Slot& s, uint32_t response, std::atomic<uint64_t>* count) {
    uint8_t expected = kPending;
    if (!s.state.compare_exchange_strong(expected, kAnswering, std::memory_order_acq_rel)) {
      return false;
    }
    count->fetch_add(1, std::memory_order_relaxed);
    Write(s.fd, response);
    s.state.store(kAnswered, std::memory_order_release);
    pending.fetch_sub(1, std::memory_order_relaxed);
    return true;
  }

  // Answers an access that gets no slot (allow), closes its fd, reports it.
  void AllowUnheld(int fd, int32_t pid, AccessKind kind, VerdictAction action,
                   std::atomic<uint64_t>* count, int64_t read_ns, std::string* path) {
    count->fetch_add(1, std::memory_order_relaxed);  // counted, then answered
    Write(fd, FAN_ALLOW);
    FdPath(proc_fd_dir, fd, path);
    ::close(fd);
    Report(action, kind, pid, *path, WallNs(), SteadyNs() - read_ns, {});
  }

  void Report(VerdictAction action, AccessKind kind, int32_t pid, std::string_view path,
              int64_t wall_ns, int64_t latency_ns, std::optional<GuardMatch> match) {
    std::lock_guard<std::mutex> lock(report_mu);
    if (reports.size() >= kMaxReports) {
      counters->unreported.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    Verdict& v = reports.emplace_back();
    v.action = action;
    v.kind = kind;
    v.pid = pid;
    v.path.assign(path);
    v.time_ns = wall_ns;
    v.latency_ns = latency_ns;
    v.match = std::move(match);
    report_cv.notify_one();
  }

  void ReportSlot(VerdictAction action, const Slot& s, std::optional<GuardMatch> match = {}) {
    Report(action, s.kind, s.pid, s.path, s.wall_ns, SteadyNs() - s.read_ns, std::move(match));
  }

  // Judge thread `j`: reads permission events and judges each one itself (no hand-off: every
  // wake-up between threads costs tens of µs on a busy machine, and each exec waits for it).
  void JudgeLoop(size_t j) {
    GuardEvaluator* evaluator = evaluators[j].get();
    JudgeState& state = judge_state[j];
    // Small reads: what one judge takes, it must judge before the budget runs out; the rest
    // stays in the kernel's queue for the other judges (or the watchdog).
    alignas(struct fanotify_event_metadata) char buf[1024];
    std::string path, exe;
    path.reserve(4096);
    exe.reserve(4096);
    std::vector<event::Event> fed;
    while (!stopping.load(std::memory_order_acquire)) {
      struct pollfd fds[3] = {{fan_fd, POLLIN, 0}, {stop_fd, POLLIN, 0}, {feed_fd, POLLIN, 0}};
      if (::poll(fds, 3, -1) < 0) {
        if (errno == EINTR) continue;
        break;
      }
      if (fds[1].revents != 0) break;
      if (fds[2].revents != 0) {
        uint64_t n;
        if (::read(feed_fd, &n, sizeof n) < 0) {
          // Another judge took it (EAGAIN): nothing to do.
        }
        DrainFeed(evaluator, &fed);
      }
      if ((fds[0].revents & POLLIN) == 0) continue;
      ssize_t n = ::read(fan_fd, buf, sizeof buf);
      if (n < 0) {
        if (errno != EAGAIN && errno != EINTR) {
          counters->errors.fetch_add(1, std::memory_order_relaxed);
        }
        continue;
      }
      ForEachPermissionEvent(buf, n, [&](int fd, int32_t pid, AccessKind kind) {
        if (stopping.load(std::memory_order_acquire)) {
          counters->requests.fetch_add(1, std::memory_order_relaxed);
          AllowUnheld(fd, pid, kind, VerdictAction::kAllowShutdown, &counters->shutdown, SteadyNs(),
                      &path);
          return;
        }
        state.busy_since.store(SteadyNs(), std::memory_order_relaxed);
        OnPermissionEvent(fd, pid, kind, evaluator, &path, &exe, &fed);
        state.busy_since.store(0, std::memory_order_relaxed);
      });
    }
  }

  void DrainFeed(GuardEvaluator* evaluator, std::vector<event::Event>* fed) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (feed.empty()) return;
      fed->swap(feed);
    }
    for (const event::Event& e : *fed) evaluator->Observe(e);
    fed->clear();
  }

  // Counts a permission event read and answers it at once when it needs no judging: the pid is
  // allow-listed, or (marked for the loader bypass only) an open by anything but the loader.
  // True when answered (and its fd closed).
  bool AnsweredUnjudged(int fd, int32_t pid, AccessKind kind, std::string* exe) {
    counters->requests.fetch_add(1, std::memory_order_relaxed);
    std::atomic<uint64_t>* count = nullptr;
    if (options.allow.AllowsPid(pid)) {
      count = &counters->allowlisted;
    } else if (kind == AccessKind::kOpen && !wants_open) {
      char link[64];
      std::snprintf(link, sizeof link, "/proc/%d/exe", pid);
      exe->resize(4096);
      ssize_t n = ::readlink(link, exe->data(), exe->size());
      exe->resize(n > 0 ? static_cast<size_t>(n) : 0);
      if (!GuardEvaluator::IsLoader(*exe)) count = &counters->allowed;
    }
    if (count == nullptr) return false;
    count->fetch_add(1, std::memory_order_relaxed);  // counted, then answered
    Write(fd, FAN_ALLOW);
    ::close(fd);
    return true;
  }

  void NoteAccess(int64_t now) {
    // Paired with the watchdog's going idle (both sequentially consistent): either it sees this
    // access, or this sees it idle and wakes it.
    last_access_ns.store(now);
    if (watchdog_idle.load()) {
      {
        std::lock_guard<std::mutex> lock(wd_mu);
        watchdog_idle.store(false);
      }
      wd_cv.notify_one();
    }
  }

  void OnPermissionEvent(int fd, int32_t pid, AccessKind kind, GuardEvaluator* evaluator,
                         std::string* path, std::string* exe, std::vector<event::Event>* fed) {
    int64_t now = SteadyNs();
    if (AnsweredUnjudged(fd, pid, kind, exe)) return;
    uint32_t index = UINT32_MAX;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!free_slots.empty()) {
        index = free_slots.back();
        free_slots.pop_back();
      }
    }
    if (index == UINT32_MAX) {
      AllowUnheld(fd, pid, kind, VerdictAction::kAllowOverload, &counters->overloads, now, path);
      return;
    }
    Slot& s = slots[index];
    s.fd = fd;
    s.pid = pid;
    s.kind = kind;
    s.read_ns = now;
    s.deadline_ns = now + options.budget_ns;
    s.wall_ns = WallNs();
    FdPath(proc_fd_dir, fd, &s.path);
    pending.fetch_add(1, std::memory_order_relaxed);
    s.state.store(kPending, std::memory_order_release);
    NoteAccess(now);
    // The stream first: a held access is judged against every stage seen before it.
    // Within a fifth of the budget: before the watchdog would see this judge as stalled (a
    // quarter), so a slow stream never makes the next accesses pass unjudged.
    if (options.catch_up) options.catch_up(now + options.budget_ns / 5);
    DrainFeed(evaluator, fed);
    Judge(s, evaluator);
    // Free the slot once answered (the watchdog may be writing the answer right now).
    while (s.state.load(std::memory_order_acquire) != kAnswered) std::this_thread::yield();
    ::close(s.fd);
    s.fd = -1;
    s.state.store(kFree, std::memory_order_release);
    std::lock_guard<std::mutex> lock(mu);
    free_slots.push_back(index);
  }

  bool Held(const Slot& s) const { return s.state.load(std::memory_order_acquire) == kPending; }

  void Judge(Slot& s, GuardEvaluator* evaluator) {
    if (!Held(s)) return;  // answered by the watchdog (timeout) or Stop() already
    if (s.path.empty() || s.path[0] != '/') {
      if (Answer(s, FAN_ALLOW, &counters->errors)) {
        ReportSlot(VerdictAction::kAllowError, s);
      }
      return;
    }
    if (options.allow.AllowsPath(s.path)) {
      Answer(s, FAN_ALLOW, &counters->allowlisted);
      return;
    }
    AccessRequest request;
    request.kind = s.kind;
    request.pid = s.pid;
    request.path = s.path;
    request.time_ns = s.wall_ns;
    if (options.before_evaluate) options.before_evaluate(request);
    if (!Held(s)) return;
    std::optional<GuardMatch> match = evaluator->Evaluate(request);
    if (SteadyNs() > s.deadline_ns) {
      // Too late to use the verdict: fail open, as the watchdog would have.
      if (Answer(s, FAN_ALLOW, &counters->timeouts)) {
        ReportSlot(VerdictAction::kAllowTimeout, s);
      }
      return;
    }
    if (!match) {
      Answer(s, FAN_ALLOW, &counters->allowed);
      return;
    }
    bool enforce = options.mode == EnforceMode::kOn;
    if (Answer(s, enforce ? FAN_DENY : FAN_ALLOW,
               enforce ? &counters->denied : &counters->would_deny)) {
      // Answered: what the evidence lacks (read only when a rule needs it) costs no latency now.
      evaluator->Complete(&*match);
      ReportSlot(enforce ? VerdictAction::kDeny : VerdictAction::kWouldDeny, s, std::move(match));
    }
  }

  // True when every judge has been on one access for longer than a quarter of the budget: the
  // accesses queued in the kernel meanwhile would wait for it.
  bool JudgesStalled(int64_t now) const {
    int64_t stall = options.budget_ns / 4;
    for (size_t j = 0; j < njudges; ++j) {
      int64_t since = judge_state[j].busy_since.load(std::memory_order_relaxed);
      if (since == 0 || now - since <= stall) return false;
    }
    return true;
  }

  // The watchdog's own reading while the judges are stalled: every access is allowed
  // unjudged (overload), so none waits for a hung judge.
  void TakeOver(std::string* path, std::string* exe) {
    alignas(struct fanotify_event_metadata) char buf[1024];
    while (true) {
      ssize_t n = ::read(fan_fd, buf, sizeof buf);
      if (n <= 0) return;  // EAGAIN: nothing queued
      ForEachPermissionEvent(buf, static_cast<ssize_t>(n),
                             [&](int fd, int32_t pid, AccessKind kind) {
                               if (AnsweredUnjudged(fd, pid, kind, exe)) return;
                               AllowUnheld(fd, pid, kind, VerdictAction::kAllowOverload,
                                           &counters->overloads, SteadyNs(), path);
                             });
    }
  }

  void WatchdogLoop() {
    // Checks a few times per budget while accesses come; sleeps otherwise.
    auto tick = std::chrono::nanoseconds(std::max<int64_t>(options.budget_ns / 4, 100'000));
    std::string path, exe;
    path.reserve(4096);
    exe.reserve(4096);
    std::unique_lock<std::mutex> lock(wd_mu);
    while (!stop_watchdog) {
      if (watchdog_idle.load()) {
        wd_cv.wait(lock, [&] { return stop_watchdog || !watchdog_idle.load(); });
        continue;
      }
      wd_cv.wait_for(lock, tick);
      lock.unlock();
      int64_t now = SteadyNs();
      for (size_t i = 0; i < options.max_pending; ++i) {
        Slot& s = slots[i];
        if (s.state.load(std::memory_order_acquire) != kPending || now <= s.deadline_ns) continue;
        if (Answer(s, FAN_ALLOW, &counters->timeouts)) {
          ReportSlot(VerdictAction::kAllowTimeout, s);
        }
      }
      if (JudgesStalled(now)) TakeOver(&path, &exe);
      lock.lock();
      if (pending.load() == 0 && now - last_access_ns.load() > kWatchdogLinger) {
        watchdog_idle.store(true);
        // An access that came meanwhile saw the watchdog still active and did not wake it.
        if (pending.load() != 0 || SteadyNs() - last_access_ns.load() <= kWatchdogLinger) {
          watchdog_idle.store(false);
        }
      }
    }
  }

  void ReporterLoop() {
    std::unique_lock<std::mutex> lock(report_mu);
    while (true) {
      report_cv.wait(lock, [&] { return stop_reporter || !reports.empty(); });
      if (reports.empty()) return;
      Verdict v = std::move(reports.front());
      reports.pop_front();
      lock.unlock();
      if (report) report(v);
      lock.lock();
    }
  }
};

absl::StatusOr<std::unique_ptr<FanotifyGuard>> FanotifyGuard::Start(
    FanotifyGuardOptions options, std::vector<std::unique_ptr<GuardEvaluator>> evaluators,
    ReportFn report) {
  if (evaluators.empty()) return absl::InvalidArgumentError("the guard needs an evaluator");
  if (options.max_pending == 0) options.max_pending = 1;
  if (options.budget_ns <= 0) return absl::InvalidArgumentError("the budget must be positive");
  bool exec = evaluators[0]->wants_exec(), open = evaluators[0]->wants_open();
  uint64_t mask = (exec ? FAN_OPEN_EXEC_PERM : 0) |
                  (open || (exec && options.loader_check) ? FAN_OPEN_PERM : 0);
  if (mask == 0) {
    return absl::FailedPreconditionError(
        "no `block` rule ends in a process or file stage: nothing to guard");
  }
  std::unique_ptr<FanotifyGuard> guard(new FanotifyGuard());
  guard->mask_ = mask;
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->counters = &guard->counters_;
  impl->report = std::move(report);
  impl->evaluators = std::move(evaluators);
  impl->wants_open = open;
  impl->slots = std::make_unique<Impl::Slot[]>(impl->options.max_pending);
  for (size_t i = impl->options.max_pending; i-- > 0;) {
    impl->slots[i].path.reserve(4096);
    impl->free_slots.push_back(static_cast<uint32_t>(i));
  }
  impl->fan_fd = ::fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK,
                                 O_RDONLY | O_LARGEFILE | O_CLOEXEC);
  if (impl->fan_fd < 0) {
    return absl::FailedPreconditionError(
        fmt::format("fanotify_init(FAN_CLASS_CONTENT): {}", std::strerror(errno)));
  }
  impl->stop_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  impl->feed_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (impl->stop_fd < 0 || impl->feed_fd < 0) {
    int err = errno;
    ::close(impl->fan_fd);
    if (impl->stop_fd >= 0) ::close(impl->stop_fd);
    if (impl->feed_fd >= 0) ::close(impl->feed_fd);
    return absl::InternalError(fmt::format("eventfd: {}", std::strerror(err)));
  }
  unsigned int flags =
      FAN_MARK_ADD |
      (impl->options.mark_type == MarkType::kFilesystem ? FAN_MARK_FILESYSTEM : FAN_MARK_MOUNT);
  if (::fanotify_mark(impl->fan_fd, flags, mask, AT_FDCWD, impl->options.mark_path.c_str()) != 0) {
    int err = errno;
    ::close(impl->fan_fd);
    ::close(impl->stop_fd);
    ::close(impl->feed_fd);
    return absl::FailedPreconditionError(
        fmt::format("fanotify_mark({} of '{}'): {}",
                    impl->options.mark_type == MarkType::kFilesystem ? "filesystem" : "mount",
                    impl->options.mark_path, std::strerror(err)));
  }
  impl->proc_fd_dir = ::open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (impl->proc_fd_dir < 0) {
    int err = errno;
    ::close(impl->fan_fd);
    ::close(impl->stop_fd);
    ::close(impl->feed_fd);
    return absl::FailedPreconditionError(
        fmt::format("cannot open /proc/self/fd: {}", std::strerror(err)));
  }
  Impl* p = impl.get();
  p->njudges = p->evaluators.size();
  p->judge_state = std::make_unique<Impl::JudgeState[]>(p->njudges);
  p->reporter = std::thread([p] { p->ReporterLoop(); });
  p->watchdog = std::thread([p] { p->WatchdogLoop(); });
  for (size_t j = 0; j < p->njudges; ++j) {
    p->judges.emplace_back([p, j] { p->JudgeLoop(j); });
  }
  if (p->options.rt_priority > 0) {
    struct sched_param param {};
    param.sched_priority = p->options.rt_priority;
    std::vector<std::thread*> answering = {&p->watchdog};
    for (std::thread& t : p->judges) answering.push_back(&t);
    for (std::thread* t : answering) {
      if (int err = ::pthread_setschedparam(t->native_handle(), SCHED_FIFO, &param); err != 0) {
        guard->realtime_error_ =
            fmt::format("SCHED_FIFO {}: {}", p->options.rt_priority, std::strerror(err));
        break;
      }
    }
  }
  guard->impl_ = std::move(impl);
  return guard;
}

FanotifyGuard::~FanotifyGuard() { Stop(); }

void FanotifyGuard::Feed(const event::Event& event) {
  size_t size;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->stopping.load(std::memory_order_relaxed) || impl_->feed.size() >= Impl::kMaxFeed) {
      counters_.feed_drops.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    impl_->feed.push_back(event);
    size = impl_->feed.size();
  }
  counters_.fed.fetch_add(1, std::memory_order_relaxed);
  // The judge takes the feed before each access it judges; only a long feed wakes it sooner.
  if (size == Impl::kFeedWake) {
    uint64_t one = 1;
    if (::write(impl_->feed_fd, &one, sizeof one) < 0) {
      // An eventfd write fails only when its counter would overflow: it is readable anyway.
    }
  }
}

void FanotifyGuard::Stop() {
  if (!impl_ || impl_->stopped) return;
  Impl& p = *impl_;
  p.stopped = true;
  p.stopping.store(true, std::memory_order_release);
  uint64_t one = 1;
  if (::write(p.stop_fd, &one, sizeof one) < 0) {
    // An eventfd write cannot fail here; the judges would block in poll() otherwise.
  }
  // Everything held now is allowed; a judge still judging one finds it answered.
  for (size_t i = 0; i < p.options.max_pending; ++i) {
    Impl::Slot& s = p.slots[i];
    if (s.state.load(std::memory_order_acquire) == kPending &&
        p.Answer(s, FAN_ALLOW, &counters_.shutdown)) {
      p.ReportSlot(VerdictAction::kAllowShutdown, s);
    }
  }
  // The watchdog keeps answering (and reading, if every judge hangs) until the judges are out.
  for (std::thread& t : p.judges) t.join();
  {
    std::lock_guard<std::mutex> lock(p.wd_mu);
    p.stop_watchdog = true;
  }
  p.wd_cv.notify_all();
  p.watchdog.join();
  ::close(p.fan_fd);  // removes the mark; the kernel allows anything not yet read
  ::close(p.stop_fd);
  ::close(p.feed_fd);
  ::close(p.proc_fd_dir);
  {
    std::lock_guard<std::mutex> lock(p.report_mu);
    p.stop_reporter = true;
  }
  p.report_cv.notify_all();
  p.reporter.join();
}

}  // namespace kestrel::actions::blocking
