// A fake kernel side of the BPF-LSM path (sources::LsmMaps) for tests that run anywhere: what
// is denied, the mode, the allow-list, attach/detach, and the decisions a test makes it
// "record". Used by lsm_guard_test.cc and cli/blocking_test.cc. Test-only.
#pragma once

#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "absl/status/status.h"
#include "kestrel/sources/ebpf/lsm_program.h"

namespace kestrel::actions::blocking::testing {

using sources::LsmTable;

struct FakeState {
  std::mutex mu;
  std::map<std::pair<uint32_t, uint64_t>, uint32_t> maps[2];  // [LsmTable] (dev, ino) -> rule
  std::vector<std::string> log;                               // "put exec R", "remove open", ...
  std::vector<uint32_t> allowed;
  bool enforce = false;
  bool attached = false;
  bool detached = false;
  size_t capacity = 4096;
  std::deque<kestrel_lsm_decision> pending;
  uint64_t lost = 0;
};

class FakeMaps final : public sources::LsmMaps {
 public:
  explicit FakeMaps(FakeState* state) : s_(state) {}
  absl::Status Put(LsmTable table, const kestrel_lsm_key& key, uint32_t rule) override {
    std::lock_guard<std::mutex> lock(s_->mu);
    auto& map = s_->maps[static_cast<size_t>(table)];
    auto k = std::make_pair(key.dev, key.ino);
    if (!map.contains(k) && map.size() >= s_->capacity) {
      return absl::ResourceExhaustedError("the BPF LSM deny map is full");
    }
    map[k] = rule;
    s_->log.push_back(fmt::format("put {} {}", Name(table), rule));
    return absl::OkStatus();
  }
  absl::Status Remove(LsmTable table, const kestrel_lsm_key& key) override {
    std::lock_guard<std::mutex> lock(s_->mu);
    auto& map = s_->maps[static_cast<size_t>(table)];
    auto it = map.find({key.dev, key.ino});
    s_->log.push_back(
        fmt::format("remove {} {}", Name(table), it == map.end() ? -1 : int(it->second)));
    if (it != map.end()) map.erase(it);
    return absl::OkStatus();
  }
  absl::Status AllowTgid(uint32_t tgid) override {
    std::lock_guard<std::mutex> lock(s_->mu);
    s_->allowed.push_back(tgid);
    return absl::OkStatus();
  }
  absl::Status SetEnforce(bool enforce) override {
    std::lock_guard<std::mutex> lock(s_->mu);
    s_->enforce = enforce;
    return absl::OkStatus();
  }
  absl::Status Attach() override {
    std::lock_guard<std::mutex> lock(s_->mu);
    s_->attached = true;
    return absl::OkStatus();
  }
  void Detach() override {
    std::lock_guard<std::mutex> lock(s_->mu);
    s_->detached = true;
  }
  size_t Drain(const std::function<void(const kestrel_lsm_decision&)>& fn) override {
    std::deque<kestrel_lsm_decision> taken;
    {
      std::lock_guard<std::mutex> lock(s_->mu);
      taken.swap(s_->pending);
    }
    for (const kestrel_lsm_decision& d : taken) fn(d);
    return taken.size();
  }
  uint64_t Lost() override {
    std::lock_guard<std::mutex> lock(s_->mu);
    return s_->lost;
  }

 private:
  static const char* Name(LsmTable t) { return t == LsmTable::kExec ? "exec" : "open"; }
  FakeState* s_;
};

}  // namespace kestrel::actions::blocking::testing
