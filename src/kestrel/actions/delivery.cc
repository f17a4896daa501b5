// SinkPipeline; see delivery.h for the algorithm and its budgets. Tested by delivery_test.cc.
#include "kestrel/actions/delivery.h"

#include <algorithm>
#include <span>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "kestrel/base/status.h"

namespace kestrel::actions {

using Clock = std::chrono::steady_clock;

absl::StatusOr<std::unique_ptr<SinkPipeline>> SinkPipeline::Start(std::unique_ptr<Sink> sink,
                                                                  DeliveryOptions options) {
  if (options.spool_path.empty()) {
    return absl::InvalidArgumentError(fmt::format("sink {}: no spool path", sink->name()));
  }
  auto spool = Spool::Open(options.spool_path, options.spool_max_bytes, options.spool_write);
  if (!spool.ok()) return spool.status();
  if ((*spool)->recovered_records() > 0) {
    spdlog::info("sink {}: {} alerts left in spool {} by an earlier run are delivered first",
                 sink->name(), (*spool)->recovered_records(), options.spool_path);
  }
  if ((*spool)->recovered_damaged_bytes() > 0) {
    spdlog::warn("sink {}: spool {}: {} damaged bytes at its end discarded", sink->name(),
                 options.spool_path, (*spool)->recovered_damaged_bytes());
  }
  std::unique_ptr<SinkPipeline> p(
      new SinkPipeline(std::move(sink), std::move(options), std::move(*spool)));
  p->thread_ = std::thread([raw = p.get()] { raw->Loop(); });
  return p;
}

SinkPipeline::SinkPipeline(std::unique_ptr<Sink> sink, DeliveryOptions options,
                           std::unique_ptr<Spool> spool)
    : sink_(std::move(sink)),
      options_(std::move(options)),
      spool_(std::move(spool)),
      backoff_(options_.backoff_initial),
      retry_at_(Clock::now()) {
  stats_.spool_pending = spool_->pending();
  stats_.spool_bytes = spool_->live_bytes();
}

SinkPipeline::~SinkPipeline() { Close(std::chrono::milliseconds(0)); }

bool SinkPipeline::Offer(SinkMessage m) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closing_ || queue_.size() >= options_.queue_capacity) {
      ++stats_.queue_dropped;
      return false;
    }
    queue_.push_back(std::move(m));
    ++stats_.offered;
    stats_.queued = queue_.size();
    // Wake the delivery thread only when it sleeps: a busy or lingering thread finds the message
    // itself, so a burst of alerts costs the caller no system call each.
    if (!sleeping_) return true;
    sleeping_ = false;
  }
  cv_.notify_one();
  return true;
}

void SinkPipeline::Close(std::chrono::milliseconds deadline) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (joined_) return;
    if (!closing_) {
      closing_ = true;
      close_deadline_ = Clock::now() + deadline;
    }
  }
  cv_.notify_one();
  if (thread_.joinable()) {
    // A Deliver() that blocks past the deadline is interrupted: the rest goes to the spool.
    constexpr auto kGrace = std::chrono::milliseconds(100);
    bool finished;
    {
      std::unique_lock<std::mutex> lock(mu_);
      finished = cv_.wait_until(lock, close_deadline_ + kGrace, [&] { return loop_done_; });
    }
    if (!finished) sink_->Interrupt();
    thread_.join();
  }
  std::lock_guard<std::mutex> lock(mu_);
  joined_ = true;
}

bool SinkPipeline::Drained() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.empty() && !busy_ && stats_.spool_pending == 0;
}

SinkStats SinkPipeline::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void SinkPipeline::NoteFailure(const absl::Status& s) {
  retry_at_ = Clock::now() + backoff_;
  bool was_healthy;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.failures;
    was_healthy = stats_.healthy;
    stats_.healthy = false;
  }
  if (was_healthy || !logged_outage_) {
    spdlog::warn("sink {}: {}; alerts are spooled to {} and retried", sink_->name(),
                 base::Message(s), spool_->path());
    logged_outage_ = true;
  }
  backoff_ = std::min(backoff_ * 2, options_.backoff_max);
}

void SinkPipeline::NoteSpoolError(const absl::Status& s) {
  if (spool_failing_) return;
  spool_failing_ = true;
  spool_failed_drops_ = 0;
  spdlog::error(
      "sink {}: {}; alerts the spool cannot hold are dropped and counted until it can be "
      "written again",
      sink_->name(), base::Message(s));
}

void SinkPipeline::NoteSpoolWritable() {
  if (!spool_failing_) return;
  spool_failing_ = false;
  spdlog::info("sink {}: spool {} is writable again; {} alerts were dropped while it was not",
               sink_->name(), spool_->path(), spool_failed_drops_);
}

void SinkPipeline::ToSpool(const SinkMessage& m) {
  enum class Appended { kYes, kFull, kError };
  auto append = [&](const SinkMessage& msg, bool force) {
    auto r = spool_->Append(msg, force);
    if (!r.ok()) {
      NoteSpoolError(r.status());
      return Appended::kError;
    }
    if (!*r) return Appended::kFull;
    NoteSpoolWritable();
    return Appended::kYes;
  };
  if (unnoticed_drops_ > 0 && options_.drop_notice) {
    SinkMessage notice = options_.drop_notice(unnoticed_drops_);
    if (append(notice, false) == Appended::kYes) {
      spdlog::warn("sink {}: {} alerts were dropped; a notice follows them", sink_->name(),
                   unnoticed_drops_);
      unnoticed_drops_ = 0;
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.spooled;
    }
  }
  Appended r = append(m, false);
  if (r == Appended::kYes) {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.spooled;
    return;
  }
  if (r == Appended::kError) {
    ++spool_failed_drops_;
  } else if (unnoticed_drops_ == 0) {
    spdlog::error("sink {}: spool {} is full ({} bytes): alerts are dropped and counted",
                  sink_->name(), spool_->path(), options_.spool_max_bytes);
  }
  ++unnoticed_drops_;
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.spool_dropped;
}

void SinkPipeline::Loop() {
  std::vector<SinkMessage> incoming;
  std::vector<SinkMessage> batch;
  const size_t max_batch = std::max<size_t>(1, sink_->max_batch());
  Clock::time_point last_activity = Clock::now();
  while (true) {
    bool closing;
    Clock::time_point deadline;
    incoming.clear();
    {
      std::unique_lock<std::mutex> lock(mu_);
      Clock::time_point wake =
          spool_->pending() > 0 ? retry_at_ : Clock::now() + options_.idle_interval;
      if (closing_) wake = std::min(wake, close_deadline_);
      if (queue_.empty() && !closing_) {
        sleeping_ = true;
        cv_.wait_until(lock, wake, [&] { return !queue_.empty() || closing_; });
        sleeping_ = false;
      }
      while (!queue_.empty()) {
        incoming.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      busy_ = !incoming.empty();
      stats_.queued = 0;
      closing = closing_;
      deadline = close_deadline_;
    }
    Clock::time_point now = Clock::now();
    bool past_deadline = closing && now >= deadline;

    // Direct delivery while nothing waits in the spool.
    size_t i = 0;
    if (!past_deadline && spool_->pending() == 0 && unnoticed_drops_ == 0) {
      while (i < incoming.size()) {
        size_t n = std::min(max_batch, incoming.size() - i);
        size_t delivered = 0;
        absl::Status s = sink_->Deliver(std::span<const SinkMessage>(&incoming[i], n), &delivered);
        delivered = std::min(delivered, n);
        i += delivered;
        {
          std::lock_guard<std::mutex> lock(mu_);
          stats_.delivered += delivered;
          if (s.ok()) stats_.healthy = true;
        }
        if (!s.ok()) {
          NoteFailure(s);
          break;
        }
      }
    }
    for (; i < incoming.size(); ++i) ToSpool(incoming[i]);
    if (!incoming.empty()) last_activity = now;

    // One batch from the spool's head, when its retry time has come.
    if (!past_deadline && spool_->pending() > 0 && Clock::now() >= retry_at_) {
      absl::Status s = spool_->Peek(max_batch, &batch);
      if (!s.ok()) {
        // Damaged under us (e.g. the disk): reopening recovers the records before the damage;
        // what follows it cannot be read in order and is counted as dropped.
        uint64_t before = spool_->pending();
        auto reopened =
            Spool::Open(options_.spool_path, options_.spool_max_bytes, options_.spool_write);
        uint64_t lost = before;
        if (reopened.ok()) {
          lost = before - std::min(before, (*reopened)->pending());
          spool_ = std::move(*reopened);
        } else {
          lost = 0;  // still there; try again later
          retry_at_ = Clock::now() + options_.backoff_max;
        }
        spdlog::error("sink {}: {}; {} spooled alerts lost", sink_->name(), base::Message(s), lost);
        std::lock_guard<std::mutex> lock(mu_);
        stats_.spool_dropped += lost;
      } else {
        size_t delivered = 0;
        s = sink_->Deliver(batch, &delivered);
        delivered = std::min(delivered, batch.size());
        if (absl::Status c = spool_->Consume(delivered); !c.ok()) NoteSpoolError(c);
        {
          std::lock_guard<std::mutex> lock(mu_);
          stats_.delivered += delivered;
          if (s.ok()) stats_.healthy = true;
        }
        if (!s.ok()) {
          NoteFailure(s);
        } else {
          if (logged_outage_ && spool_->pending() == 0) {
            spdlog::info("sink {}: delivering again; spool emptied", sink_->name());
            logged_outage_ = false;
          }
          backoff_ = options_.backoff_initial;
          retry_at_ = Clock::now();
        }
      }
      last_activity = Clock::now();
    }
    // The spool emptied with drops not yet reported: the notice goes now, even past the cap.
    // A spool that cannot be written does not hold up delivery: the notice goes straight to
    // the sink (nothing waits before it), and direct delivery resumes behind it.
    if (spool_->pending() == 0 && unnoticed_drops_ > 0 && options_.drop_notice) {
      SinkMessage notice = options_.drop_notice(unnoticed_drops_);
      auto r = spool_->Append(notice, true);
      bool sent = r.ok() && *r;
      if (sent) {
        NoteSpoolWritable();
        std::lock_guard<std::mutex> lock(mu_);
        ++stats_.spooled;
      } else if (!r.ok()) {
        NoteSpoolError(r.status());
        if (!past_deadline && Clock::now() >= retry_at_) {
          size_t delivered = 0;
          absl::Status d = sink_->Deliver(std::span<const SinkMessage>(&notice, 1), &delivered);
          sent = d.ok() && delivered == 1;
          {
            std::lock_guard<std::mutex> lock(mu_);
            stats_.delivered += std::min<size_t>(delivered, 1);
            if (d.ok()) stats_.healthy = true;
          }
          if (!d.ok()) NoteFailure(d);
        }
      }
      if (sent) {
        spdlog::warn("sink {}: {} alerts were dropped; a notice follows them", sink_->name(),
                     unnoticed_drops_);
        unnoticed_drops_ = 0;
      }
    }
    if (incoming.empty() && Clock::now() - last_activity >= options_.idle_interval) {
      if (absl::Status s = sink_->Idle(); !s.ok()) {
        spdlog::warn("sink {}: {}", sink_->name(), base::Message(s));
      }
      last_activity = Clock::now();
    }
    bool done;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stats_.spool_pending = spool_->pending();
      stats_.spool_bytes = spool_->live_bytes();
      busy_ = false;
      done = closing && queue_.empty() &&
             (past_deadline || (spool_->pending() == 0 && unnoticed_drops_ == 0));
    }
    if (done) break;
    // Linger a moment after work, so that the alerts of a burst are taken together (and their
    // producers need not wake this thread one by one).
    if (!incoming.empty() && !closing) std::this_thread::sleep_for(options_.linger);
  }
  if (absl::Status s = sink_->Idle(); !s.ok()) {
    spdlog::warn("sink {}: {}", sink_->name(), base::Message(s));
  }
  if (spool_->pending() > 0) {
    spdlog::warn("sink {}: {} alerts stay in spool {} for the next run", sink_->name(),
                 spool_->pending(), spool_->path());
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    loop_done_ = true;
  }
  cv_.notify_all();
}

}  // namespace kestrel::actions
