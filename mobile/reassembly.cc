#include "mobile/reassembly.h"

#include <algorithm>

#include "core/strings.h"

namespace veto::mobile {
namespace {

bool Present(const SmsRecord& p) { return p.line != 0 || p.concat.total != 0; }

}  // namespace

void Reassembler::Emit(Group& g, bool complete, std::vector<SmsRecord>* out) {
  std::string text;
  text.reserve(g.bytes);
  std::vector<uint64_t> lines;
  uint32_t flags = 0;
  SmsRecord* first = nullptr;
  for (SmsRecord& p : g.parts) {
    if (!Present(p)) continue;
    if (first == nullptr) first = &p;
    text.append(p.text);
    lines.push_back(p.line);
    flags |= p.flags;
  }
  SmsRecord merged = std::move(*first);  // a group always has at least one part
  merged.text = std::move(text);
  merged.line = *std::min_element(lines.begin(), lines.end());
  merged.part_lines = std::move(lines);
  merged.flags = flags;
  if (!complete) {
    merged.flags |= kSmsIncomplete;
    ++stats_.incomplete;
  } else {
    ++stats_.messages;
  }
  bytes_ -= g.bytes;
  out->push_back(std::move(merged));
}

void Reassembler::Expire(int64_t now, bool has_now, std::vector<SmsRecord>* out) {
  while (!order_.empty()) {
    const Pending& p = order_.front();
    auto it = groups_.find(p.key);
    if (it == groups_.end() || it->second.generation != p.generation) {
      order_.pop_front();  // finished already
      continue;
    }
    Group& g = it->second;
    const bool too_old = records_ - g.created_record > options_.max_age_records;
    const bool timed_out =
        has_now && g.has_time && now - g.first_time > options_.timeout_seconds;
    if (!too_old && !timed_out) break;
    Emit(g, false, out);
    groups_.erase(it);
    order_.pop_front();
  }
}

void Reassembler::EvictOldest(std::vector<SmsRecord>* out) {
  while (!order_.empty()) {
    const Pending p = order_.front();
    order_.pop_front();
    auto it = groups_.find(p.key);
    if (it == groups_.end() || it->second.generation != p.generation) continue;
    Emit(it->second, false, out);
    ++stats_.evicted;
    groups_.erase(it);
    return;
  }
}

absl::Status Reassembler::Add(SmsRecord&& r, std::vector<SmsRecord>* out) {
  ++records_;
  Expire(r.timestamp_unix, r.has_time, out);
  if (r.concat.total <= 1) {
    out->push_back(std::move(r));
    return absl::OkStatus();
  }
  ++stats_.parts;
  const ConcatInfo c = r.concat;
  std::string key = Cat(r.sender, "\x1f", r.recipient, "\x1f", c.ref, "\x1f", c.total);
  auto it = groups_.find(key);
  if (it == groups_.end()) {
    while (groups_.size() >= options_.max_groups ||
           (bytes_ + r.text.size() > options_.max_bytes && !groups_.empty())) {
      EvictOldest(out);
      if (order_.empty()) break;
    }
    Group g;
    g.parts.resize(c.total);
    g.created_record = records_;
    g.first_time = r.timestamp_unix;
    g.has_time = r.has_time;
    g.generation = ++generation_;
    order_.push_back({key, g.generation});
    it = groups_.emplace(std::move(key), std::move(g)).first;
  } else {
    if (Present(it->second.parts[c.seq - 1])) {
      ++stats_.duplicate_parts;
      return absl::InvalidArgumentError(
          Cat("duplicate part ", c.seq, " of ", c.total, " (ref ", c.ref, ", first seen on line ",
              it->second.parts[c.seq - 1].line, ")"));
    }
    while (bytes_ + r.text.size() > options_.max_bytes && groups_.size() > 1) {
      // Make room, but never by evicting the group this part belongs to.
      const Pending p = order_.front();
      if (p.key == it->first) break;
      EvictOldest(out);
      it = groups_.find(Cat(r.sender, "\x1f", r.recipient, "\x1f", c.ref, "\x1f", c.total));
    }
  }
  Group& g = it->second;
  g.bytes += r.text.size();
  bytes_ += r.text.size();
  if (r.line == 0) r.line = records_;  // records built without a feed line still count
  g.parts[c.seq - 1] = std::move(r);
  if (++g.have == c.total) {
    Emit(g, true, out);
    groups_.erase(it);
  }
  return absl::OkStatus();
}

void Reassembler::Flush(std::vector<SmsRecord>* out) {
  for (const Pending& p : order_) {
    auto it = groups_.find(p.key);
    if (it == groups_.end() || it->second.generation != p.generation) continue;
    Emit(it->second, false, out);
    groups_.erase(it);
  }
  order_.clear();
}

}  // namespace veto::mobile
