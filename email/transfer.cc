#include "email/transfer.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <limits>

namespace veto::email {
namespace {

// ---------------------------------------------------------------------------------------------
// base64
//
// Two kinds of table. kB64Class classifies any byte for the slow path (one character at a
// time). kB64Quad0..3 hold each alphabet value already shifted into its place in the 24-bit
// group, so a clean 4-character quantum is four loads and three ORs; any non-alphabet byte
// sets bit 24 in its entry, so one test on the OR decides whether the quantum was clean.
// Line breaks every 76 characters fall on quantum boundaries in real mail, so the slow path
// only runs for the CRLF itself.

constexpr uint8_t kB64Pad = 0x40;
constexpr uint8_t kB64Space = 0x41;
constexpr uint8_t kB64Junk = 0x80;
constexpr uint32_t kB64Bad = 1u << 24;

constexpr std::string_view kB64Alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<uint8_t, 256> MakeB64Class() {
  std::array<uint8_t, 256> t{};
  for (auto& v : t) v = kB64Junk;
  for (size_t i = 0; i < kB64Alphabet.size(); ++i) {
    t[static_cast<uint8_t>(kB64Alphabet[i])] = static_cast<uint8_t>(i);
  }
  t['='] = kB64Pad;
  for (char c : {' ', '\t', '\r', '\n', '\v', '\f'}) t[static_cast<uint8_t>(c)] = kB64Space;
  return t;
}
constexpr std::array<uint8_t, 256> kB64Class = MakeB64Class();

constexpr std::array<uint32_t, 256> MakeB64Quad(int shift) {
  std::array<uint32_t, 256> t{};
  for (size_t i = 0; i < 256; ++i) {
    t[i] = kB64Class[i] < 64 ? static_cast<uint32_t>(kB64Class[i]) << shift : kB64Bad;
  }
  return t;
}
constexpr std::array<uint32_t, 256> kB64Quad0 = MakeB64Quad(18);
constexpr std::array<uint32_t, 256> kB64Quad1 = MakeB64Quad(12);
constexpr std::array<uint32_t, 256> kB64Quad2 = MakeB64Quad(6);
constexpr std::array<uint32_t, 256> kB64Quad3 = MakeB64Quad(0);

// Whether the text from p up to the next '=' (or the end) is base64 alphabet and whitespace.
// Each such segment is scanned once, so checking after every padding run stays linear.
bool IsBase64Segment(const uint8_t* p, const uint8_t* end) {
  for (; p < end && *p != '='; ++p) {
    if (kB64Class[*p] >= 64 && kB64Class[*p] != kB64Space) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// hex for "=XX"

constexpr std::array<int8_t, 256> MakeHex() {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 10; ++i) t['0' + i] = static_cast<int8_t>(i);
  for (int i = 0; i < 6; ++i) {
    t['a' + i] = static_cast<int8_t>(10 + i);
    t['A' + i] = static_cast<int8_t>(10 + i);
  }
  return t;
}
constexpr std::array<int8_t, 256> kHex = MakeHex();

// Decodes "=XX" at p[0..2] (p[0] is '='); returns -1 when the two bytes are not hex.
inline int HexPair(const char* p) {
  int hi = kHex[static_cast<uint8_t>(p[1])];
  int lo = kHex[static_cast<uint8_t>(p[2])];
  return (hi | lo) < 0 ? -1 : (hi << 4) | lo;
}

// How many bytes may be appended to `out` under `max_out` (0 = unlimited).
size_t Room(const std::string& out, size_t max_out) {
  if (max_out == 0) return std::numeric_limits<size_t>::max();
  return out.size() >= max_out ? 0 : max_out - out.size();
}

// Output cursor over a pre-sized region of the caller's string. Both decoders can bound their
// output from the input length up front, so the hot loops write through a raw pointer instead
// of going through std::string::push_back.
class Sink {
 public:
  Sink(std::string* out, size_t cap) : out_(out), old_size_(out->size()) {
    out_->resize(old_size_ + cap);
    begin_ = out_->data() + old_size_;
    cur_ = begin_;
    end_ = begin_ + cap;
  }
  Sink(const Sink&) = delete;
  Sink& operator=(const Sink&) = delete;
  ~Sink() { out_->resize(old_size_ + static_cast<size_t>(cur_ - begin_)); }

  size_t room() const { return static_cast<size_t>(end_ - cur_); }
  char*& cur() { return cur_; }

  // Appends what fits; returns false (and sets full) when `n` bytes did not fit.
  bool Append(const char* p, size_t n) {
    size_t k = std::min(n, room());
    std::memcpy(cur_, p, k);
    cur_ += k;
    if (k < n) full_ = true;
    return k == n;
  }
  bool Put(char c) {
    if (cur_ == end_) {
      full_ = true;
      return false;
    }
    *cur_++ = c;
    return true;
  }
  // A line break; a CR just before it (literal or decoded) is folded in, as SpamAssassin
  // turns CRLF into LF after decoding.
  bool Newline() {
    if (cur_ > begin_ && cur_[-1] == '\r') {
      cur_[-1] = '\n';
      return true;
    }
    return Put('\n');
  }
  bool full() const { return full_; }

 private:
  std::string* out_;
  size_t old_size_;
  char* begin_;
  char* cur_;
  char* end_;
  bool full_ = false;
};

// The high bit of each byte of `v` that equals `b` (the zero-byte test on v ^ bbbbbbbb). Bits
// above the lowest match may be spurious, which is fine for finding the first match. Assumes
// a little-endian load, so the lowest set bit is the first byte in memory.
static_assert(std::endian::native == std::endian::little, "ByteMatches assumes little-endian");
inline uint64_t ByteMatches(uint64_t v, char b) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  const uint64_t x = v ^ (kOnes * static_cast<uint8_t>(b));
  return (x - kOnes) & ~x & (kOnes << 7);
}

inline bool IsLineSpace(char c) { return c == ' ' || c == '\t' || c == '\r'; }

}  // namespace

TransferDecodeResult DecodeBase64(std::string_view in, std::string* out, size_t max_out,
                                  bool* truncated) {
  TransferDecodeResult result;
  if (truncated != nullptr) *truncated = false;
  const size_t cap = std::min(Room(*out, max_out), in.size() / 4 * 3 + 3);
  Sink sink(out, cap);

  const auto* p = reinterpret_cast<const uint8_t*>(in.data());
  const uint8_t* const end = p + in.size();
  uint32_t acc = 0;   // sextets of the current partial quantum
  int count = 0;      // how many sextets acc holds
  int pads_owed = 0;  // '=' still expected after a short quantum

  while (p < end) {
    if (count == 0) {
      char*& o = sink.cur();
      size_t quanta = std::min(static_cast<size_t>(end - p) / 4, sink.room() / 3);
      const uint8_t* const fast_end = p + quanta * 4;
      while (p < fast_end) {
        uint32_t v = kB64Quad0[p[0]] | kB64Quad1[p[1]] | kB64Quad2[p[2]] | kB64Quad3[p[3]];
        if (v & kB64Bad) break;
        o[0] = static_cast<char>(v >> 16);
        o[1] = static_cast<char>(v >> 8);
        o[2] = static_cast<char>(v);
        o += 3;
        p += 4;
      }
      if (p == end) break;
    }

    uint8_t v = kB64Class[*p++];
    if (v < 64) {
      pads_owed = 0;
      acc = (acc << 6) | v;
      if (++count == 4) {
        count = 0;
        if (!sink.Put(static_cast<char>(acc >> 16)) || !sink.Put(static_cast<char>(acc >> 8)) ||
            !sink.Put(static_cast<char>(acc))) {
          break;
        }
        acc = 0;
      }
    } else if (v == kB64Space) {
      while (p < end && kB64Class[*p] == kB64Space) ++p;
    } else if (v == kB64Pad) {
      // Padding closes the quantum; decoding goes on after it, so base64 blocks that were
      // concatenated (each with its own padding) decode as one stream.
      if (count == 2) {
        pads_owed = 1;
        if (!sink.Put(static_cast<char>(acc >> 4))) break;
      } else if (count == 3) {
        pads_owed = 0;
        if (!sink.Put(static_cast<char>(acc >> 10)) || !sink.Put(static_cast<char>(acc >> 2))) {
          break;
        }
      } else if (count == 1) {
        result.malformed = true;  // six bits cannot make a byte
      } else if (pads_owed > 0) {
        --pads_owed;
      } else {
        result.malformed = true;  // '=' where no quantum was open
      }
      count = 0;
      acc = 0;
      // After the padding run, more base64 is a concatenated encoding; anything else (a
      // signature, a footer added by a list server) is not decoded as base64.
      if (p < end && *p != '=' && !IsBase64Segment(p, end)) {
        result.malformed = true;
        break;
      }
    } else {
      result.malformed = true;
    }
  }

  // Unpadded tail: decode what the sextets hold, as clients do.
  if (!sink.full()) {
    if (count == 1) {
      result.malformed = true;
    } else if (count == 2) {
      sink.Put(static_cast<char>(acc >> 4));
    } else if (count == 3) {
      if (sink.Put(static_cast<char>(acc >> 10))) sink.Put(static_cast<char>(acc >> 2));
    }
  }
  if (sink.full() && truncated != nullptr) *truncated = true;
  return result;
}

TransferDecodeResult DecodeQuotedPrintable(std::string_view in, std::string* out, size_t max_out,
                                           bool* truncated) {
  TransferDecodeResult result;
  if (truncated != nullptr) *truncated = false;
  // Every construct decodes to at most as many bytes as it spans, so the input length bounds
  // the output.
  Sink sink(out, std::min(Room(*out, max_out), in.size()));
  char*& o = sink.cur();
  // Output before this point may not be stripped as trailing whitespace: it was decoded from
  // "=XX" or belongs to an earlier line.
  char* keep = o;

  const char* p = in.data();
  const char* const end = p + in.size();
  while (p < end) {
    // Bytes other than '=' and the line break are copied eight at a time; the copy stops just
    // before the first special byte of a block.
    while (end - p >= 8 && sink.room() >= 8) {
      uint64_t v;
      std::memcpy(&v, p, 8);
      std::memcpy(o, &v, 8);
      const uint64_t special = ByteMatches(v, '=') | ByteMatches(v, '\n');
      if (special == 0) {
        o += 8;
        p += 8;
        continue;
      }
      const auto k = static_cast<size_t>(std::countr_zero(special) / 8);
      o += k;
      p += k;
      break;
    }
    if (p == end) break;
    const char c = *p;
    if (c == '\n') {
      // RFC 2045 §6.7 (3): whitespace at the end of an encoded line is transport padding. The
      // CR of a CRLF goes with it; the break itself is written as a bare LF.
      while (o > keep && IsLineSpace(o[-1])) --o;
      if (!sink.Newline()) break;
      keep = o;
      ++p;
    } else if (c == '=') {
      const int v = end - p >= 3 ? HexPair(p) : -1;
      if (v >= 0) {
        if (!(v == '\n' ? sink.Newline() : sink.Put(static_cast<char>(v)))) break;
        keep = o;
        p += 3;
        continue;
      }
      // A soft line break: '=' then optional whitespace up to the line break. At the very end
      // of the input it is the last line's soft break, whose line break the MIME parser took
      // as part of the boundary.
      const char* q = p + 1;
      while (q < end && IsLineSpace(*q)) ++q;
      if (q == end || *q == '\n') {
        keep = o;
        p = q == end ? end : q + 1;
        continue;
      }
      result.malformed = true;  // kept literally
      if (!sink.Put('=')) break;
      ++p;
    } else {
      if (!sink.Put(c)) break;
      ++p;
    }
  }
  if (sink.full() && truncated != nullptr) *truncated = true;
  return result;
}

TransferDecodeResult DecodeQEncoding(std::string_view in, std::string* out) {
  TransferDecodeResult result;
  Sink sink(out, in.size());
  char*& o = sink.cur();
  const char* p = in.data();
  const char* const end = p + in.size();
  while (p < end) {
    char c = *p;
    if (c == '_') {
      *o++ = ' ';
      ++p;
    } else if (c != '=') {
      *o++ = c;
      ++p;
    } else {
      int v = end - p >= 3 ? HexPair(p) : -1;
      if (v >= 0) {
        *o++ = static_cast<char>(v);
        p += 3;
      } else {
        result.malformed = true;
        *o++ = '=';
        ++p;
      }
    }
  }
  return result;
}

}  // namespace veto::email
