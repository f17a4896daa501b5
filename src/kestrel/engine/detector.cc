// Detector; see detector.h.
#include "kestrel/engine/detector.h"

namespace kestrel::engine {

Detector::Detector(schema::Schema& schema, const EngineLimits& limits)
    : schema_(schema), limits_(limits) {}

Detector::~Detector() = default;

absl::Status Detector::AddRule(const eql::IrProgram* program) {
  auto engine = QueryEngine::Create(program, schema_, limits_);
  if (!engine.ok()) return engine.status();
  if (functions_ != nullptr) (*engine)->UseFunctions(functions_);
  if (runtime_ != nullptr) {
    auto predicates = runtime_->Compile(*program);
    if (!predicates.ok()) return predicates.status();
    (*engine)->UsePredicates(std::move(*predicates));
  }
  programs_.push_back(program);
  engines_.push_back(std::move(*engine));
  return absl::OkStatus();
}

void Detector::AdoptRule(const eql::IrProgram* program, std::unique_ptr<QueryEngine> engine) {
  programs_.push_back(program);
  engines_.push_back(std::move(engine));
}

absl::Status Detector::Seal() {
  auto index = RuleIndex::Build(programs_);
  if (!index.ok()) return index.status();
  index_ = std::move(*index);
  matcher_ = std::make_unique<RuleMatcher>(*index_);
  for (auto& engine : engines_) {
    engine->UseIndex(*index_, matcher_.get());
    engine->ShareEvidence(&current_);
  }
  return absl::OkStatus();
}

void Detector::Deliver(size_t rule, MatchCallback on_match) {
  for (QueryMatch& m : engines_[rule]->TakeResults()) on_match(rule, m);
}

void Detector::Process(const event::Event& event, uint64_t index, MatchCallback on_match) {
  matcher_->Prepare(event);
  current_ = nullptr;  // the engines' shared copy of `event`, made by the first that keeps it
  for (uint32_t rule : matcher_->rules()) {
    engines_[rule]->Process(event, index);
    Deliver(rule, on_match);
  }
  current_ = nullptr;
  evaluated_ += matcher_->rules().size();
  skipped_ += engines_.size() - matcher_->rules().size();
  if (++events_ % kSweepInterval == 0) {
    for (auto& engine : engines_) engine->Expire(event.time_ns());
  }
}

void Detector::ProcessBatch(std::span<const event::Event> events, uint64_t first_index,
                            MatchCallback on_match) {
  constexpr size_t kAhead = 4;
  for (size_t i = 0; i < events.size(); ++i) {
    if (i + kAhead < events.size()) events[i + kAhead].Prefetch();
    Process(events[i], first_index + i, on_match);
  }
}

void Detector::Finish(MatchCallback on_match) {
  for (size_t rule = 0; rule < engines_.size(); ++rule) {
    engines_[rule]->EndOfInput();
    Deliver(rule, on_match);
  }
}

}  // namespace kestrel::engine
