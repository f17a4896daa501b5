// AccountEvents: the live source's hook from file events on /etc/passwd and /etc/group to `iam`
// events (account_db.h has the snapshots and the diff; RecordDecoder::DecodeAccountChange the
// event's shape; docs/collection.md, "Account changes").
//
// When the database is re-read:
//   - a rename onto it (shadow-utils writes /etc/passwd+ and renames it): at once, the new content
//     is complete;
//   - a creation or an open for writing (an edit in place: the content is written after the open
//     the event reports): the file is marked dirty with its writer and re-read when the writer
//     exits, when another creation, open for writing or rename of the file is seen, when an event
//     kDirtyNs of event time later arrives, or at Flush() (end of stream). Events are decoded a
//     few milliseconds after they happened, so such a re-read may see a later change by another
//     process: when the file is no longer the inode of the snapshot (a rename replaced it), the
//     re-read is left to that rename's event, which names the right process. An edit in place
//     followed, before the re-read, by another process's rename is attributed to the renamer;
//     shadow-utils (useradd, userdel, groupadd, ...) always renames;
//   - reads, deletions, chmod and chown do not re-read it.
// Each account added, removed or changed is one event, acted by the process that wrote or renamed
// the file, at the time of the event that caused the re-read; they are handed out by Next() after
// that event. Which triggers apply is decided by the event stream alone (event times, pids); only
// the file's content is read from the machine.
// Cost: one pid comparison per exit record while a file is dirty, one path comparison per file
// record; nothing else on the per-event path.
// Thread safety: none (the source's reading thread). Tested by decoder_events_test.cc.
#pragma once

#include <cstdint>
#include <vector>

#include "kestrel/event/event.h"
#include "kestrel/sources/ebpf/account_db.h"
#include "kestrel/sources/ebpf/decoder.h"
#include "kestrel_records.h"

namespace kestrel::sources::ebpf {

class AccountEvents {
 public:
  static constexpr int64_t kDirtyNs = 1'000'000'000;

  explicit AccountEvents(AccountWatcher::Options options);

  // Reads the snapshots the changes are measured against.
  void Start() { watcher_.Start(); }

  // After each record the decoder made an event of: `h` its header, `event` the event. Only
  // KESTREL_FILE and KESTREL_EXIT records (and the time of any) matter.
  void Observe(const kestrel_header& h, const event::Event& event);

  // Re-reads the dirty files now (end of stream), with the time `time_ns`.
  void Flush(int64_t time_ns);

  // Whether a file waits to be re-read (Observe() then needs every record).
  bool dirty() const { return any_dirty_; }
  bool HasPending() const { return next_ < pending_.size(); }
  // Decodes the next pending iam event into `*out`; false when there is none.
  bool Next(RecordDecoder& decoder, event::Event* out);

  const AccountWatcher& watcher() const { return watcher_; }

 private:
  struct Dirty {
    bool set = false;
    kestrel_header writer{};
    int64_t since_ns = 0;
  };
  struct Pending {
    kestrel_header actor;
    int64_t time_ns;
    AccountChange change;
  };
  // `same_file`: AccountWatcher::Reread's (the triggers that may come late: exit, time).
  void Reread(AccountDb db, const kestrel_header& actor, int64_t time_ns, bool same_file);

  AccountWatcher watcher_;
  Dirty dirty_[2];
  bool any_dirty_ = false;
  std::vector<Pending> pending_;
  size_t next_ = 0;
  std::vector<AccountChange> changes_;  // scratch
};

}  // namespace kestrel::sources::ebpf
