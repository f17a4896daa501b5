// AccountEvents; see account_events.h.
#include "kestrel/sources/ebpf/account_events.h"

#include "kestrel/schema/field.h"

namespace kestrel::sources::ebpf {
namespace {

using schema::ecs::Field;

size_t Index(AccountDb db) { return db == AccountDb::kPasswd ? 0 : 1; }

}  // namespace

AccountEvents::AccountEvents(AccountWatcher::Options options) : watcher_(std::move(options)) {}

void AccountEvents::Reread(AccountDb db, const kestrel_header& actor, int64_t time_ns,
                           bool same_file) {
  dirty_[Index(db)].set = false;
  any_dirty_ = dirty_[0].set || dirty_[1].set;
  changes_.clear();
  watcher_.Reread(db, &changes_, same_file);
  if (changes_.empty()) return;
  if (next_ == pending_.size()) {  // all handed out: start over
    pending_.clear();
    next_ = 0;
  }
  for (AccountChange& c : changes_) pending_.push_back(Pending{actor, time_ns, std::move(c)});
}

void AccountEvents::Observe(const kestrel_header& h, const event::Event& event) {
  const int64_t now = event.time_ns();
  if (any_dirty_) {
    for (AccountDb db : {AccountDb::kPasswd, AccountDb::kGroup}) {
      const Dirty& d = dirty_[Index(db)];
      if (!d.set) continue;
      // The writer exited (its edit is done), or long enough ago.
      if ((h.kind == KESTREL_EXIT && h.tgid == d.writer.tgid) || now - d.since_ns >= kDirtyNs) {
        Reread(db, d.writer, now, true);
      }
    }
  }
  if (h.kind != KESTREL_FILE) return;
  const event::Value* path = event.Find(Field("file.path"));
  if (path == nullptr || path->kind() != event::ValueKind::kString) return;
  std::optional<AccountDb> db = watcher_.Watched(path->as_string());
  if (!db) return;
  const event::Value* action = event.Find(Field("event.action"));
  std::string_view a = action != nullptr && action->kind() == event::ValueKind::kString
                           ? action->as_string()
                           : std::string_view();
  Dirty& d = dirty_[Index(*db)];
  if (a == Kind(EmittedKindId::kFileRename).action) {
    Reread(*db, h, now, false);
  } else if (a == Kind(EmittedKindId::kFileCreate).action ||
             a == Kind(EmittedKindId::kFileModify).action) {
    if (d.set) Reread(*db, d.writer, now, true);  // an earlier writer's edit first
    d.set = true;
    d.writer = h;
    d.since_ns = now;
    any_dirty_ = true;
  }
}

void AccountEvents::Flush(int64_t time_ns) {
  for (AccountDb db : {AccountDb::kPasswd, AccountDb::kGroup}) {
    if (dirty_[Index(db)].set) Reread(db, dirty_[Index(db)].writer, time_ns, false);
  }
}

bool AccountEvents::Next(RecordDecoder& decoder, event::Event* out) {
  if (next_ >= pending_.size()) return false;
  const Pending& p = pending_[next_++];
  std::string_view group_name;
  if (p.change.db == AccountDb::kPasswd) {
    for (const AccountEntry& g : watcher_.snapshot(AccountDb::kGroup).entries) {
      if (g.id == p.change.gid) {
        group_name = g.name;
        break;
      }
    }
  }
  decoder.DecodeAccountChange(p.actor, p.time_ns, p.change, group_name, out);
  return true;
}

}  // namespace kestrel::sources::ebpf
