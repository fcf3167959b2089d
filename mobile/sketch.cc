#include "mobile/sketch.h"

#include <cmath>

namespace veto::mobile {

uint64_t StableHash(std::string_view s, uint64_t seed) {
  uint64_t h = 0xcbf29ce484222325ULL ^ Mix64(seed + 0x9e3779b97f4a7c15ULL);
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return Mix64(h ^ s.size());
}

namespace {

// kWordByte.v[c]: 0 if c is no word byte (words are runs of ASCII letters and digits and
// bytes >= 0x80), else the byte a word's hash reads for it (ASCII lower-cased, digits as
// '0'); never 0 for a word byte.
struct WordByteTable {
  uint8_t v[256];
  constexpr WordByteTable() : v() {
    for (int c = 0; c < 256; ++c) {
      if (c >= '0' && c <= '9') v[c] = '0';
      else if (c >= 'A' && c <= 'Z') v[c] = static_cast<uint8_t>(c + 32);
      else if ((c >= 'a' && c <= 'z') || c >= 0x80) v[c] = static_cast<uint8_t>(c);
    }
  }
};
constexpr WordByteTable kWordByte;

// Adds `carry` (one bit per lane) at weight 2^kFrom to the bit-sliced counts in planes[]
// (planes[k] holds bit k of all 64 lane counts).
template <int kFrom>
inline void RippleAdd(uint64_t (&planes)[8], uint64_t carry) {
  for (int k = kFrom; k < 8; ++k) {
    const uint64_t next = planes[k] & carry;
    planes[k] ^= carry;
    carry = next;
  }
}

// Carry-save adder: a + b + c = low + 2 * high, lane by lane.
inline void Csa(uint64_t a, uint64_t b, uint64_t c, uint64_t* high, uint64_t* low) {
  const uint64_t u = a ^ b;
  *high = (a & b) | (u & c);
  *low = u ^ c;
}

// Counts, for each of the 64 bits, how many of the hashes h[0..n) (n <= 255) have it set,
// bit-sliced: planes[k] gets bit k of the 64 counts. Sixteen hashes at a time go through a
// Harley-Seal tree of carry-save adders (15 adders, then one addition of the sixteens into
// the planes) instead of sixteen additions into 8 planes each.
void CountBits(const uint64_t* h, size_t n, uint64_t (&planes)[8]) {
  for (uint64_t& p : planes) p = 0;
  uint64_t ones = 0, twos = 0, fours = 0, eights = 0;
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    uint64_t twos_a, twos_b, fours_a, fours_b, eights_a, eights_b, sixteens;
    Csa(ones, h[i + 0], h[i + 1], &twos_a, &ones);
    Csa(ones, h[i + 2], h[i + 3], &twos_b, &ones);
    Csa(twos, twos_a, twos_b, &fours_a, &twos);
    Csa(ones, h[i + 4], h[i + 5], &twos_a, &ones);
    Csa(ones, h[i + 6], h[i + 7], &twos_b, &ones);
    Csa(twos, twos_a, twos_b, &fours_b, &twos);
    Csa(fours, fours_a, fours_b, &eights_a, &fours);
    Csa(ones, h[i + 8], h[i + 9], &twos_a, &ones);
    Csa(ones, h[i + 10], h[i + 11], &twos_b, &ones);
    Csa(twos, twos_a, twos_b, &fours_a, &twos);
    Csa(ones, h[i + 12], h[i + 13], &twos_a, &ones);
    Csa(ones, h[i + 14], h[i + 15], &twos_b, &ones);
    Csa(twos, twos_a, twos_b, &fours_b, &twos);
    Csa(fours, fours_a, fours_b, &eights_b, &fours);
    Csa(eights, eights_a, eights_b, &sixteens, &eights);
    RippleAdd<4>(planes, sixteens);
  }
  // The rest in pairs (one adder each), then one alone.
  for (; i + 2 <= n; i += 2) {
    uint64_t carry;
    Csa(ones, h[i], h[i + 1], &carry, &ones);
    RippleAdd<1>(planes, carry);
  }
  if (i < n) RippleAdd<0>(planes, h[i]);
  RippleAdd<0>(planes, ones);
  RippleAdd<1>(planes, twos);
  RippleAdd<2>(planes, fours);
  RippleAdd<3>(planes, eights);
}

// Bit b set where lane b's count (bit-sliced in planes) is greater than t (t < 256).
uint64_t GreaterThan(const uint64_t (&planes)[8], uint32_t t) {
  uint64_t greater = 0, equal = ~uint64_t{0};
  for (int k = 7; k >= 0; --k) {
    if ((t >> k) & 1) {
      equal &= planes[k];
    } else {
      greater |= equal & planes[k];
      equal &= ~planes[k];
    }
  }
  return greater;
}

// Adds the bit counts of h[0..n) (n <= 255) to ones[64] (zeroed first when *total is 0) and
// n to *total. Out of line: SimHash's byte loop keeps its registers.
__attribute__((noinline)) void CountChunk(const uint64_t* h, size_t n, uint32_t (&ones)[64],
                                          uint32_t* total) {
  uint64_t planes[8];
  CountBits(h, n, planes);
  if (*total == 0) {
    for (uint32_t& o : ones) o = 0;
  }
  for (int b = 0; b < 64; ++b) {
    uint32_t c = 0;
    for (int k = 0; k < 8; ++k) c |= static_cast<uint32_t>((planes[k] >> b) & 1) << k;
    ones[b] += c;
  }
  *total += static_cast<uint32_t>(n);
}

}  // namespace

uint64_t SimHash(std::string_view text, int* words) {
  // One pass: kWordByte says whether a byte belongs to a word and what the word's hash
  // (FNV-1a, then Mix64) reads for it. The unigram and bigram hashes are collected (at most
  // 255 at a time), then their bits counted together (CountBits); the fingerprint has the
  // majority bits.
  constexpr size_t kChunk = 255;  // the most 8 bit-sliced planes count
  uint64_t hashes[kChunk];
  size_t pending = 0;
  uint32_t total = 0;  // hashes counted in earlier chunks
  uint32_t ones[64];   // their per-bit counts (set when total > 0)
  int n = 0;
  uint64_t prev = 0;
  const uint8_t* const table = kWordByte.v;
  const unsigned char* p = reinterpret_cast<const unsigned char*>(text.data());
  const unsigned char* const end = p + text.size();
  while (true) {
    while (p < end && table[*p] == 0) ++p;
    if (p == end) break;
    uint64_t h = 0xcbf29ce484222325ULL;
    uint8_t b = table[*p];
    do {
      h = (h ^ b) * 0x100000001b3ULL;
      ++p;
    } while (p < end && (b = table[*p]) != 0);
    h = Mix64(h);
    if (pending + 2 > kChunk) {  // count what is collected: the next word adds up to two
      CountChunk(hashes, pending, ones, &total);
      pending = 0;
    }
    hashes[pending] = h;
    hashes[pending + 1] = Mix64(prev * 31 + h + 0x51ed270b27f5e3a1ULL);  // the bigram
    pending += n > 0 ? 2 : 1;  // the first word has no bigram (its slot is overwritten)
    prev = h;
    ++n;
  }
  if (words) *words = n;
  if (n == 0) return 0;
  uint64_t planes[8];
  CountBits(hashes, pending, planes);
  const uint32_t all = total + static_cast<uint32_t>(pending);
  // Bit b is set when more than half of the hashes had it set: count > floor(all / 2).
  if (total == 0) return GreaterThan(planes, all / 2);
  uint64_t fp = 0;
  for (int b = 0; b < 64; ++b) {
    uint32_t c = ones[b];
    for (int k = 0; k < 8; ++k) c += static_cast<uint32_t>((planes[k] >> b) & 1) << k;
    if (2 * c > all) fp |= uint64_t{1} << b;
  }
  return fp;
}

std::optional<uint64_t> NearDupIndex::FindNear(uint64_t fp) const {
  for (uint32_t band = 0; band < 4; ++band) {
    const uint32_t key = (band << 16) | static_cast<uint32_t>((fp >> (band * 16)) & 0xFFFF);
    auto it = bands_.find(key);
    if (it == bands_.end()) continue;
    const Bucket& b = it->second;
    for (uint8_t i = 0; i < b.n; ++i) {
      if (HammingDistance(b.fp[i], fp) <= max_distance_) return b.fp[i];
    }
  }
  return std::nullopt;
}

void NearDupIndex::Prefetch(uint64_t fp) const {
  for (uint32_t band = 0; band < 4; ++band) {
    bands_.prefetch((band << 16) | static_cast<uint32_t>((fp >> (band * 16)) & 0xFFFF));
  }
}

void NearDupIndex::Insert(uint64_t fp) {
  for (uint32_t band = 0; band < 4; ++band) {
    const uint32_t key = (band << 16) | static_cast<uint32_t>((fp >> (band * 16)) & 0xFFFF);
    Bucket& b = bands_[key];
    bool have = false;
    for (uint8_t i = 0; i < b.n; ++i) have |= b.fp[i] == fp;
    if (have) continue;
    if (b.n == 4) {
      for (int i = 0; i < 3; ++i) b.fp[i] = b.fp[i + 1];  // the oldest goes
      b.fp[3] = fp;
    } else {
      b.fp[b.n++] = fp;
    }
  }
}

void NearDupIndex::Erase(uint64_t fp) {
  for (uint32_t band = 0; band < 4; ++band) {
    const uint32_t key = (band << 16) | static_cast<uint32_t>((fp >> (band * 16)) & 0xFFFF);
    auto it = bands_.find(key);
    if (it == bands_.end()) continue;
    Bucket& b = it->second;
    uint8_t w = 0;
    for (uint8_t i = 0; i < b.n; ++i) {
      if (b.fp[i] != fp) b.fp[w++] = b.fp[i];
    }
    b.n = w;
    if (b.n == 0) bands_.erase(it);
  }
}

size_t NearDupIndex::MemoryBytes() const {
  return bands_.capacity() * (sizeof(std::pair<uint32_t, Bucket>) + 1);
}

HyperLogLog::HyperLogLog(int p)
    : p_(p < 4 ? 4 : (p > 14 ? 14 : p)),
      regs_(size_t{1} << p_, 0),
      sum_(static_cast<double>(regs_.size())),
      zeros_(static_cast<uint32_t>(regs_.size())) {}

namespace {

// kPow2Neg.v[k] = 2^-k exactly (what std::ldexp(1.0, -k) gives), for the register ranks.
struct Pow2NegTable {
  double v[65];
  constexpr Pow2NegTable() : v() {
    double x = 1.0;
    for (int k = 0; k < 65; ++k) {
      v[k] = x;
      x /= 2;
    }
  }
};
constexpr Pow2NegTable kPow2Neg;

}  // namespace

namespace {

// The HyperLogLog arithmetic on registers regs[0..2^p), shared by HyperLogLog and
// RecipientSet's inline one.
inline void HllAdd(uint8_t* regs, int p, double* sum, uint32_t* zeros, uint64_t hash) {
  const uint64_t idx = hash >> (64 - p);
  const uint64_t rest = (hash << p) | (uint64_t{1} << (p - 1));  // guard bit bounds the rank
  const uint8_t rank = static_cast<uint8_t>(__builtin_clzll(rest) + 1);
  const uint8_t old = regs[idx];
  if (rank > old) {
    regs[idx] = rank;
    *sum += kPow2Neg.v[rank] - kPow2Neg.v[old];  // registers hold ranks <= 64 - p + 1
    *zeros -= old == 0;
  }
}

inline double HllEstimate(size_t registers, double sum, uint32_t zeros) {
  const double m = static_cast<double>(registers);
  const double alpha = m == 16 ? 0.673 : m == 32 ? 0.697 : m == 64 ? 0.709 : 0.7213 / (1 + 1.079 / m);
  double e = alpha * m * m / sum;
  if (e <= 2.5 * m && zeros > 0) e = m * std::log(m / zeros);  // linear counting
  return e;
}

}  // namespace

void HyperLogLog::Add(uint64_t hash) { HllAdd(regs_.data(), p_, &sum_, &zeros_, hash); }

double HyperLogLog::Estimate() const { return HllEstimate(regs_.size(), sum_, zeros_); }

void HyperLogLog::Merge(const HyperLogLog& other) {
  if (other.regs_.size() != regs_.size()) return;
  sum_ = 0;
  zeros_ = 0;
  for (size_t i = 0; i < regs_.size(); ++i) {
    regs_[i] = std::max(regs_[i], other.regs_[i]);
    sum_ += std::ldexp(1.0, -regs_[i]);
    zeros_ += regs_[i] == 0;
  }
}

void RecipientSet::Hll::Add(uint64_t hash) { HllAdd(regs, kP, &sum, &zeros, hash); }

double RecipientSet::Hll::Estimate() const { return HllEstimate(sizeof regs, sum, zeros); }

void RecipientSet::Add(uint64_t hash) {
  // Everything is kept as a 32-bit hash (inline) and re-mixed to 64 bits for the HLL, so a
  // value seen before and after the promotion counts once.
  const uint32_t h32 = static_cast<uint32_t>(hash >> 32);
  if (hll_) {
    hll_->Add(Mix64(h32));
    return;
  }
  for (int i = 0; i < n_; ++i) {
    if (small_[i] == h32) return;
  }
  if (n_ < kInline) {
    small_[n_++] = h32;
    return;
  }
  hll_ = std::make_unique<Hll>();
  for (int i = 0; i < n_; ++i) hll_->Add(Mix64(small_[i]));
  hll_->Add(Mix64(h32));
}

uint32_t RecipientSet::Estimate() const {
  if (!hll_) return n_;
  return static_cast<uint32_t>(std::lround(hll_->Estimate()));
}

void RecipientSet::Clear() {
  n_ = 0;
  hll_.reset();
}

}  // namespace veto::mobile
