// veto/mobile/sketch.h — the small probabilistic structures behind the behaviour signals:
// a process-independent 64-bit hash, SimHash text fingerprints with a near-duplicate index,
// and HyperLogLog distinct counters with a compact exact start.
//
//   uint64_t fp = SimHash("WINNER!! Claim your prize now, call 09061701461");
//   HammingDistance(fp, SimHash("WINNER! claim your prize now call 09061701939"));  // small
//
//   RecipientSet s;                 // 32 bytes until it sees more than 6 distinct values
//   s.Add(StableHash("+447700900123"));
//   s.Estimate();                   // 1
//
// Hashes are stable across processes and machines (they key shared Redis state and exported
// intelligence), unlike absl::Hash.
//
// Thread-safety: plain values; NearDupIndex and RecipientSet are not thread-safe.
#ifndef VETO_MOBILE_SKETCH_H_
#define VETO_MOBILE_SKETCH_H_

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace veto::mobile {

// 64-bit hash of bytes: FNV-1a folded through a murmur3 finaliser. Stable forever.
uint64_t StableHash(std::string_view s, uint64_t seed = 0);
// The murmur3 64-bit finaliser.
inline uint64_t Mix64(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

// SimHash of a text's word unigrams and bigrams. Words are runs of letters and digits
// (bytes ≥ 0x80 count as letters, so UTF-8 words stay whole), ASCII lower-cased, every digit
// read as '0' so variants that differ only in numbers, codes or prices fingerprint alike.
// `words` (optional) receives the number of words seen. Texts without words give 0.
uint64_t SimHash(std::string_view text, int* words = nullptr);

inline int HammingDistance(uint64_t a, uint64_t b) { return __builtin_popcountll(a ^ b); }

// Finds fingerprints within a Hamming distance ≤ 3 among those inserted, using four 16-bit
// bands (two fingerprints that close share at least one band exactly). Each band bucket keeps
// at most 4 fingerprints (oldest replaced), so memory is bounded by the caller's
// cap on insertions; stale entries (the caller forgot the fingerprint) are harmless.
class NearDupIndex {
 public:
  explicit NearDupIndex(int max_distance = 3)
      : max_distance_(max_distance > 3 ? 3 : max_distance) {}
  // A fingerprint within max_distance of `fp` that was inserted, or nullopt. Exact matches
  // are found even when the caller keeps no band entries for them.
  std::optional<uint64_t> FindNear(uint64_t fp) const;
  void Insert(uint64_t fp);
  // Starts loading the buckets FindNear(fp) reads into the caches. Changes nothing.
  void Prefetch(uint64_t fp) const;
  void Erase(uint64_t fp);
  void Clear() { bands_.clear(); }
  size_t MemoryBytes() const;

 private:
  int max_distance_;
  struct Bucket {
    uint64_t fp[4];
    uint8_t n = 0;
  };
  // key: band number (2 bits) << 16 | band value (16 bits); at most 4 fingerprints inline.
  absl::flat_hash_map<uint32_t, Bucket> bands_;
};

// A HyperLogLog with 2^p one-byte registers (p = 4..14). Standard error ≈ 1.04/sqrt(2^p):
// 6.5% at p = 8. The harmonic sum and the zero count are kept up to date by Add, so
// Estimate is O(1) (it runs for every message of a busy sender or campaign).
class HyperLogLog {
 public:
  explicit HyperLogLog(int p = 8);
  void Add(uint64_t hash);
  double Estimate() const;
  void Merge(const HyperLogLog& other);  // same p
  size_t registers() const { return regs_.size(); }

 private:
  int p_;
  std::vector<uint8_t> regs_;
  double sum_;      // Σ 2^-register
  uint32_t zeros_;  // registers still 0
};

// Distinct values of one window: exact for up to 6 values (their 32-bit hashes inline),
// then a p=8 HyperLogLog (256 registers, one allocation) made on demand. Most senders send to
// a handful of recipients, so most sets never allocate.
class RecipientSet {
 public:
  static constexpr int kInline = 6;
  void Add(uint64_t hash);
  uint32_t Estimate() const;
  void Clear();
  size_t HeapBytes() const { return hll_ ? sizeof(Hll) : 0; }

 private:
  // A HyperLogLog with p = 8 (as HyperLogLog(8) counts) whose registers live in the same
  // allocation as its sum: one pointer from the sender's or text's slot, not two (the replay
  // misses the caches on these).
  struct Hll {
    static constexpr int kP = 8;
    double sum = 256;     // Σ 2^-register
    uint32_t zeros = 256;  // registers still 0
    uint8_t regs[256] = {};
    void Add(uint64_t hash);
    double Estimate() const;
  };
  std::array<uint32_t, kInline> small_{};
  uint8_t n_ = 0;
  std::unique_ptr<Hll> hll_;
};

}  // namespace veto::mobile

#endif  // VETO_MOBILE_SKETCH_H_
