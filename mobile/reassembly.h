// veto/mobile/reassembly.h — joins the parts of concatenated SMS (UDH ref/total/seq).
//
// Parts of one message share (sender, recipient, reference, total). The Reassembler holds
// parts until their message is complete, then emits one SmsRecord with the texts joined in
// sequence order and `part_lines` naming every part's feed line. Memory is bounded: at most
// `max_groups` messages and `max_bytes` of text wait at once; a message waits at most
// `timeout_seconds` of feed time (when records carry times) and `max_age_records` records.
// A message that runs out of time or room is emitted anyway, with the parts it has and the
// flag `incomplete` — never dropped. A part whose sequence number was already seen for its
// message is an error (the caller counts it), as is nothing else.
//
//   Reassembler r(ReassemblyOptions{});
//   std::vector<SmsRecord> ready;
//   for (each record) { absl::Status s = r.Add(std::move(record), &ready); ... emit ready }
//   r.Flush(&ready);   // end of feed: what still waits, as incomplete messages
//
// Thread-safety: one thread (the feed reader's).
#ifndef VETO_MOBILE_REASSEMBLY_H_
#define VETO_MOBILE_REASSEMBLY_H_

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "mobile/sms.h"

namespace veto::mobile {

struct ReassemblyOptions {
  size_t max_groups = 10000;        // messages waiting for parts
  size_t max_bytes = 16u << 20;     // text bytes held in waiting parts
  int64_t timeout_seconds = 600;    // feed time between a message's first part and giving up
  uint64_t max_age_records = 100000;  // records read since a message's first part
};

struct ReassemblyStats {
  uint64_t parts = 0;            // part records received
  uint64_t messages = 0;         // complete messages emitted
  uint64_t incomplete = 0;       // messages emitted with parts missing
  uint64_t duplicate_parts = 0;  // parts rejected as duplicates
  uint64_t evicted = 0;          // of `incomplete`: pushed out by the group or byte cap
};

class Reassembler {
 public:
  explicit Reassembler(const ReassemblyOptions& options) : options_(options) {}

  // Takes one record. Whole messages are appended to *out at once; parts are held and their
  // message appended when complete. Messages that time out (or must make room) are appended
  // as incomplete. Errors: InvalidArgument "duplicate part 2 of 3 (ref 17)" — the record is
  // dropped and must be counted by the caller.
  absl::Status Add(SmsRecord&& record, std::vector<SmsRecord>* out);

  // Emits every waiting message (incomplete).
  void Flush(std::vector<SmsRecord>* out);

  const ReassemblyStats& stats() const { return stats_; }
  size_t waiting_groups() const { return groups_.size(); }
  size_t waiting_bytes() const { return bytes_; }

 private:
  struct Group {
    std::vector<SmsRecord> parts;  // index seq-1; text empty and line 0 when absent
    uint32_t have = 0;
    uint64_t created_record = 0;
    int64_t first_time = 0;
    bool has_time = false;
    uint64_t generation = 0;
    size_t bytes = 0;
  };
  struct Pending {
    std::string key;
    uint64_t generation;
  };

  void Emit(Group& g, bool complete, std::vector<SmsRecord>* out);
  void Expire(int64_t now, bool has_now, std::vector<SmsRecord>* out);
  void EvictOldest(std::vector<SmsRecord>* out);

  ReassemblyOptions options_;
  absl::flat_hash_map<std::string, Group> groups_;
  std::deque<Pending> order_;  // groups by creation (entries of finished groups are stale)
  uint64_t records_ = 0;
  uint64_t generation_ = 0;
  size_t bytes_ = 0;
  ReassemblyStats stats_;
};

}  // namespace veto::mobile

#endif  // VETO_MOBILE_REASSEMBLY_H_
