// veto/classifiers/hash.h — the deterministic token hash behind the feature space.
//
// Models store weights by hashed feature index, so the hash is part of the model file format:
// it must give the same value on every machine, compiler and run. It reads bytes explicitly
// little-endian and uses no per-process seed (unlike absl::Hash).
//
//   uint64_t h = TokenHash(kPrefixWord, "free");
//   uint32_t feature = FeatureIndex(h, /*bits=*/18);
//
// Thread-safety: pure functions.
#ifndef VETO_CLASSIFIERS_HASH_H_
#define VETO_CLASSIFIERS_HASH_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace veto::classifiers {

inline uint64_t Mix64(uint64_t h) {  // murmur3 fmix64
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

inline uint64_t Load64Le(const unsigned char* p) {
  return uint64_t{p[0]} | uint64_t{p[1]} << 8 | uint64_t{p[2]} << 16 | uint64_t{p[3]} << 24 |
         uint64_t{p[4]} << 32 | uint64_t{p[5]} << 40 | uint64_t{p[6]} << 48 |
         uint64_t{p[7]} << 56;
}

// Hash of `s` in the namespace `prefix` (one per token kind, so "w:free" and "s:free" differ).
// `readable_end`, if given, is where readable memory after s ends (at least s's end): the
// last partial 8 bytes are then read with one load when 8 bytes are readable. Same value.
inline uint64_t TokenHash(uint64_t prefix, std::string_view s,
                          const char* readable_end = nullptr) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size();
  uint64_t h = (prefix + 1) * 0x9e3779b97f4a7c15ULL ^ n;
  while (n >= 8) {
    h = (h ^ Load64Le(p)) * 0x87c37b91114253d5ULL;
    h = (h << 31) | (h >> 33);
    p += 8;
    n -= 8;
  }
  uint64_t tail = 0;
  if (n > 0 && readable_end != nullptr &&
      readable_end - reinterpret_cast<const char*>(p) >= 8) {
    tail = Load64Le(p) & ((uint64_t{1} << (8 * n)) - 1);
  } else {
    for (size_t i = 0; i < n; ++i) tail |= uint64_t{p[i]} << (8 * i);
  }
  h = (h ^ tail) * 0x4cf5ad432745937fULL;
  return Mix64(h);
}

// Hash of a short byte string (1..8 bytes) read from `p`, which must have 8 readable bytes:
// the character n-gram hot path, one multiplication (feature indices are the product's top
// bits, which depend on every input bit). Differs from TokenHash; both are part of the model
// format. ShortHashValue takes the n bytes already loaded, little-endian, bytes above n zero.
inline uint64_t ShortHashValue(uint64_t prefix, uint64_t v, size_t n) {
  return (v ^ (prefix * 0xc2b2ae3d27d4eb4fULL) ^ (uint64_t{n} << 59)) * 0x9e3779b97f4a7c15ULL;
}
inline uint64_t ShortHash(uint64_t prefix, const char* p, size_t n) {
  uint64_t v = Load64Le(reinterpret_cast<const unsigned char*>(p));
  if (n < 8) v &= (uint64_t{1} << (8 * n)) - 1;
  return ShortHashValue(prefix, v, n);
}

// Combines two hashes (word bigrams) order-dependently.
inline uint64_t CombineHash(uint64_t a, uint64_t b) {
  return Mix64(a * 0x9e3779b97f4a7c15ULL + (b ^ (b >> 29)));
}

// The top `bits` bits of a hash: the feature index in a space of 2^bits.
inline uint32_t FeatureIndex(uint64_t h, uint32_t bits) {
  return static_cast<uint32_t>(h >> (64 - bits));
}

}  // namespace veto::classifiers

#endif  // VETO_CLASSIFIERS_HASH_H_
