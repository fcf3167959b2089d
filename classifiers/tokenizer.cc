// Tokenisation is the hot path of the classify stage (the SMS goal is ~1 µs per message), so
// it works on bytes of the already-normalised text, hashes tokens in place (no token strings
// are built) and writes into a reusable FeatureSet. The only copies are into small stack
// buffers (padded words for n-grams, de-leeted skeletons, lower-cased header values).
#include "classifiers/tokenizer.h"

#include <algorithm>
#include <array>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "classifiers/hash.h"
#include "core/strings.h"

namespace veto::classifiers {
namespace {

constexpr size_t kMaxWordBytes = 40;  // longer runs are base64/junk: one "long" shape
// At most: 4 number shapes or 2 letter/digit ones, the word, its Subject twin and its bigram,
// and one n-gram per byte of the padded word (n >= 2: at most kMaxWordBytes + 1).
constexpr size_t kMaxWordFeatures = 4 + 2 + 3 + kMaxWordBytes + 1;

inline bool IsAsciiAlnum(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// Length in bytes of a currency sign at p (£ ¥ € $), 0 if none.
inline size_t CurrencyAt(const unsigned char* p, const unsigned char* end) {
  if (*p == '$') return 1;
  if (*p == 0xC2 && end - p >= 2 && (p[1] == 0xA3 || p[1] == 0xA5)) return 2;
  if (*p == 0xE2 && end - p >= 3 && p[1] == 0x82 && p[2] == 0xAC) return 3;
  return 0;
}

// Non-ASCII bytes are word bytes (letters of other scripts), except Latin-1 punctuation and
// symbols (U+0080-U+00BF) and General Punctuation (U+2000-U+206F): those separate words.
// Returns the length of the separator at p, or 0 if p starts a word byte.
inline size_t NonWordAt(const unsigned char* p, const unsigned char* end) {
  unsigned char c = *p;
  if (c < 0x80) return IsAsciiAlnum(c) ? 0 : 1;
  if (c == 0xC2 && end - p >= 2) return 2;
  if (c == 0xE2 && end - p >= 3 && (p[1] == 0x80 || p[1] == 0x81)) return 3;
  return 0;
}

// Byte classes for the word scanner: ASCII letters and digits, UTF-8 continuation bytes and
// lead bytes other than 0xC2 / 0xE2 are plain word bytes (no lookahead needed); digits are
// counted. Everything else goes through NonWordAt / CurrencyAt.
// kAsciiSeparator: an ASCII byte that always separates words on its own (not a letter or
// digit, not '\n', '$' or an apostrophe, which have their own rules): one lookup instead of
// NonWordAt / CurrencyAt.
// kPhoneSeparator: separators that keep a phone number's digit groups together.
constexpr uint8_t kPlainWordByte = 2, kDigitByte = 1, kAsciiSeparator = 4, kPhoneSeparator = 8;
constexpr auto kByteClass = [] {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    bool plain = alnum || (c >= 0x80 && c != 0xC2 && c != 0xE2);
    bool separator = c < 0x80 && !alnum && c != '\n' && c != '$' && c != '\'';
    bool phone = c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '+' || c == '/';
    t[c] = static_cast<uint8_t>((plain ? kPlainWordByte : 0) | (c >= '0' && c <= '9' ? kDigitByte : 0) |
                                (separator ? kAsciiSeparator : 0) | (phone ? kPhoneSeparator : 0));
  }
  return t;
}();

inline bool IsHeaderWordByte(char c) {
  return IsAsciiAlnum(static_cast<unsigned char>(c)) || c == '.' || c == '@' || c == '-' ||
         c == '_' || static_cast<unsigned char>(c) >= 0x80;
}

inline char Deleet(char c) {
  switch (c) {
    case '0': return 'o';
    case '1': return 'i';
    case '3': return 'e';
    case '4': return 'a';
    case '5': return 's';
    case '7': return 't';
    default: return c;
  }
}

size_t Log2Bucket(size_t n) {
  size_t b = 0;
  while (n > 1) {
    n >>= 1;
    ++b;
  }
  return b;
}

// Per byte of v (8 bytes), 0x80 where the byte is ASCII and in [lo, hi], else 0. The high
// bits are cleared before adding, so no carry crosses into the next byte.
inline uint64_t AsciiInRange(uint64_t v, unsigned char lo, unsigned char hi) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL, kHigh = 0x8080808080808080ULL;
  const uint64_t low7 = v & ~kHigh;
  const uint64_t ge_lo = low7 + kOnes * (0x80 - lo);  // high bit: byte >= lo
  const uint64_t gt_hi = low7 + kOnes * (0x7f - hi);  // high bit: byte > hi
  return ge_lo & ~gt_hi & ~v & kHigh;
}

}  // namespace

size_t PlainWordRun(const char* text, const char* end, const char* readable_end, bool* digit,
                    bool* other) {
  const auto* p = reinterpret_cast<const unsigned char*>(text);
  const auto* e = reinterpret_cast<const unsigned char*>(end);
#if defined(__SSE2__)
  // Signed byte compares: bytes >= 0x80 are negative, so only the "high" test takes them.
  const __m128i lower_a = _mm_set1_epi8('a' - 1), lower_z = _mm_set1_epi8('z' + 1),
                digit_0 = _mm_set1_epi8('0' - 1), digit_9 = _mm_set1_epi8('9' + 1),
                case_bit = _mm_set1_epi8(0x20), c2 = _mm_set1_epi8(static_cast<char>(0xC2)),
                e2 = _mm_set1_epi8(static_cast<char>(0xE2));
  const auto* readable = reinterpret_cast<const unsigned char*>(readable_end);
  while (readable - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i folded = _mm_or_si128(v, case_bit);  // 'A'-'Z' -> 'a'-'z', no new letters
    const __m128i letter =
        _mm_and_si128(_mm_cmpgt_epi8(folded, lower_a), _mm_cmplt_epi8(folded, lower_z));
    const __m128i digits = _mm_and_si128(_mm_cmpgt_epi8(v, digit_0), _mm_cmplt_epi8(v, digit_9));
    const __m128i high = _mm_cmplt_epi8(v, _mm_setzero_si128());
    const __m128i lookahead = _mm_or_si128(_mm_cmpeq_epi8(v, c2), _mm_cmpeq_epi8(v, e2));
    const __m128i plain =
        _mm_or_si128(_mm_or_si128(letter, digits), _mm_andnot_si128(lookahead, high));
    // Bytes at or past `end` end the run: keep the first min(end - p, 16) bits (a cmov).
    const size_t left = static_cast<size_t>(e - p);
    const unsigned in_text = (1u << (left < 16 ? left : 16)) - 1;
    const unsigned plain_mask = static_cast<unsigned>(_mm_movemask_epi8(plain)) & in_text;
    const unsigned digit_mask = static_cast<unsigned>(_mm_movemask_epi8(digits));
    const unsigned run = static_cast<unsigned>(__builtin_ctz(~plain_mask));  // <= 16
    const unsigned in_run = (1u << run) - 1;
    *digit |= (digit_mask & in_run) != 0;
    *other |= (~digit_mask & in_run) != 0;
    p += run;
    if (run < 16) return static_cast<size_t>(p - reinterpret_cast<const unsigned char*>(text));
  }
#else
  (void)readable_end;
#endif
  for (; p < e; ++p) {
    const uint8_t cls = kByteClass[*p];
    if (!(cls & kPlainWordByte)) break;
    if (cls & kDigitByte) {
      *digit = true;
    } else {
      *other = true;
    }
  }
  return static_cast<size_t>(p - reinterpret_cast<const unsigned char*>(text));
}

// 16 bytes at a time with SSE2 (below); without it 8 at a time (SWAR): per-byte counters
// (0x80 >> 7 = 1 per hit), summed across the 8 lanes every 255 words, before a byte counter
// could overflow.
void CountCapsAndBangs(std::string_view s, size_t* upper, size_t* letters, size_t* bangs) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size();
#if defined(__SSE2__)
  // 16 bytes at a time: per-byte counters (a compare gives -1 per hit, subtracted), summed
  // with SAD every 255 blocks; the last partial block is the final 16 bytes re-read with the
  // bytes already counted masked off.
  if (n >= 16) {
    const __m128i cap_lo = _mm_set1_epi8('A' - 1), cap_hi = _mm_set1_epi8('Z' + 1),
                  low_lo = _mm_set1_epi8('a' - 1), low_hi = _mm_set1_epi8('z' + 1),
                  bang = _mm_set1_epi8('!'), zero = _mm_setzero_si128();
    __m128i u = zero, l = zero, b = zero;
    auto count = [&](__m128i v, __m128i keep) {
      const __m128i up = _mm_and_si128(_mm_cmpgt_epi8(v, cap_lo), _mm_cmplt_epi8(v, cap_hi));
      const __m128i lo = _mm_and_si128(_mm_cmpgt_epi8(v, low_lo), _mm_cmplt_epi8(v, low_hi));
      u = _mm_sub_epi8(u, _mm_and_si128(up, keep));
      l = _mm_sub_epi8(l, _mm_and_si128(_mm_or_si128(up, lo), keep));
      b = _mm_sub_epi8(b, _mm_and_si128(_mm_cmpeq_epi8(v, bang), keep));
    };
    auto flush = [&] {
      auto sum = [&](__m128i acc) {
        const __m128i s2 = _mm_sad_epu8(acc, zero);  // two 64-bit lane sums
        return static_cast<size_t>(_mm_cvtsi128_si32(s2)) +
               static_cast<size_t>(_mm_cvtsi128_si32(_mm_srli_si128(s2, 8)));
      };
      *upper += sum(u);
      *letters += sum(l);
      *bangs += sum(b);
      u = l = b = zero;
    };
    const __m128i all = _mm_set1_epi8(-1);
    int blocks = 0;
    while (n >= 16) {
      count(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)), all);
      p += 16;
      n -= 16;
      if (++blocks == 255) {
        flush();
        blocks = 0;
      }
    }
    if (n > 0) {
      // keep the last n bytes of the final 16: byte i kept when i >= 16 - n.
      alignas(16) static constexpr signed char kRamp[16] = {0, 1, 2,  3,  4,  5,  6,  7,
                                                           8, 9, 10, 11, 12, 13, 14, 15};
      const __m128i keep = _mm_cmpgt_epi8(_mm_load_si128(reinterpret_cast<const __m128i*>(kRamp)),
                                          _mm_set1_epi8(static_cast<char>(15 - n)));
      count(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + n - 16)), keep);
    }
    flush();
    return;
  }
#endif
  auto lanes = [](uint64_t acc) {  // the 8 byte counters (each <= 255) summed
    constexpr uint64_t kEvenBytes = 0x00ff00ff00ff00ffULL;
    const uint64_t pairs = (acc & kEvenBytes) + ((acc >> 8) & kEvenBytes);  // 4 x 16 bits
    return static_cast<size_t>((pairs * 0x0001000100010001ULL) >> 48);
  };
  while (n >= 8) {
    uint64_t u = 0, l = 0, b = 0;
    for (int k = 0; k < 255 && n >= 8; ++k, p += 8, n -= 8) {
      const uint64_t v = Load64Le(p);
      const uint64_t up = AsciiInRange(v, 'A', 'Z') >> 7;
      u += up;
      l += up | (AsciiInRange(v, 'a', 'z') >> 7);
      b += AsciiInRange(v, '!', '!') >> 7;
    }
    *upper += lanes(u);
    *letters += lanes(l);
    *bangs += lanes(b);
  }
  for (; n > 0; ++p, --n) {
    const unsigned char c = *p;
    *upper += c >= 'A' && c <= 'Z';
    *letters += (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    *bangs += c == '!';
  }
}

namespace {

// Lower-cases ASCII of `s` into buf (at most cap bytes); returns the view.
std::string_view LowerInto(std::string_view s, char* buf, size_t cap) {
  size_t n = std::min(s.size(), cap);
  for (size_t i = 0; i < n; ++i) {
    char c = s[i];
    buf[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
  }
  return {buf, n};
}

}  // namespace

absl::Status TokenizerOptions::Validate() const {
  if (feature_bits < 10 || feature_bits > 24) {
    return absl::InvalidArgumentError(
        Cat("tokenizer: feature_bits must be 10..24 (got ", feature_bits, ")"));
  }
  if (char_ngram != 0 && (char_ngram < 2 || char_ngram > 8)) {
    return absl::InvalidArgumentError(
        Cat("tokenizer: char_ngram must be 0 or 2..8 (got ", char_ngram, ")"));
  }
  if (char_ngram_min_word > kMaxWordBytes + 1) {
    return absl::InvalidArgumentError(Cat("tokenizer: char_ngram_min_word must be 0..",
                                          kMaxWordBytes + 1, " (got ", char_ngram_min_word, ")"));
  }
  if (max_body_bytes == 0) {
    return absl::InvalidArgumentError("tokenizer: max_body_bytes must be positive");
  }
  return absl::OkStatus();
}

void FeatureSet::Clear(uint32_t feature_bits) {
  size_t words = std::max<size_t>((size_t{1} << feature_bits) / 64, 1);
  if (seen_.size() != words) {
    seen_.assign(words, 0);
  } else {
    // Every set bit belongs to a listed feature, so zeroing their words clears the set.
    for (size_t i = 0; i < size_; ++i) seen_[buffer_[i] >> 6] = 0;
  }
  size_ = 0;
  features_.clear();
}

void FeatureSet::Grow(size_t need) {
  size_t capacity = std::max<size_t>({need, 2 * capacity_, 256});
  auto bigger = std::make_unique<uint32_t[]>(capacity);
  if (size_ > 0) std::memcpy(bigger.get(), buffer_.get(), size_ * sizeof(uint32_t));
  buffer_ = std::move(bigger);
  capacity_ = capacity;
}

Tokenizer::Tokenizer(const TokenizerOptions& options) : options_(options) {}

uint32_t Tokenizer::Feature(TokenKind kind, std::string_view token) const {
  return FeatureIndex(TokenHash(kind, token), options_.feature_bits);
}

void Tokenizer::AddShape(std::string_view shape, FeatureSet* out) const {
  out->Add(Feature(kShape, shape));
}

void Tokenizer::Tokenize(const Message& m, FeatureSet* out) const {
  const uint32_t bits = options_.feature_bits;
  std::string_view text = m.normalized_body;
  if (text.size() > options_.max_body_bytes) text = text.substr(0, options_.max_body_bytes);
  bool grams = options_.char_ngram != 0 && text.size() <= options_.char_ngram_max_bytes;
  out->Clear(options_.feature_bits);

  TokenizeText(text, grams, out);

  // Shapes of the visible text: length, capitals, exclamation marks.
  std::string_view body = m.body;
  if (body.size() > options_.max_body_bytes) body = body.substr(0, options_.max_body_bytes);
  size_t upper = 0, letters = 0, bangs = 0;
  CountCapsAndBangs(body, &upper, &letters, &bangs);
  static const uint64_t kLen = TokenHash(kShape, "len"), kCaps = TokenHash(kShape, "caps"),
                        kBang = TokenHash(kShape, "bang"), kUrls = TokenHash(kShape, "urls");
  out->Add(FeatureIndex(CombineHash(kLen, Log2Bucket(body.size())), bits));
  if (letters >= 10) {
    double r = static_cast<double>(upper) / letters;
    size_t b = r < 0.05 ? 0 : r < 0.15 ? 1 : r < 0.3 ? 2 : r < 0.6 ? 3 : 4;
    out->Add(FeatureIndex(CombineHash(kCaps, b), bits));
  }
  out->Add(FeatureIndex(CombineHash(kBang, std::min<size_t>(bangs, 3)), bits));

  // URLs.
  size_t nuris = std::min<size_t>(m.uris.size(), 64);
  out->Add(FeatureIndex(CombineHash(kUrls, std::min<size_t>(nuris, 4)), bits));
  for (size_t i = 0; i < nuris; ++i) {
    const Uri& u = m.uris[i];
    if (!u.host.empty()) out->Add(Feature(kUrlHost, u.host));
    if (!u.registered_domain.empty()) out->Add(Feature(kUrlDomain, u.registered_domain));
    if (u.obfuscated) AddShape("url_obfuscated", out);
    if (u.schemeless) AddShape("url_schemeless", out);
  }

  if (options_.channel == Channel::kEmail) TokenizeEmailStructure(m, out);
  out->Finish();
}

void Tokenizer::TokenizeText(std::string_view text, bool char_grams, FeatureSet* out) const {
  const uint32_t bits = options_.feature_bits;
  const uint32_t n_gram = options_.char_ngram;
  const bool email = options_.channel == Channel::kEmail;
  static const uint64_t kNum = TokenHash(kShape, "num"), kCurNum = TokenHash(kShape, "curnum"),
                        kBigramSalt = TokenHash(kBigram, "");
  // Shape features (hashes are independent of the feature-space size; indices are not).
  static const uint64_t kLongWordHash = TokenHash(kShape, "long_word"),
                        kPhoneHash = TokenHash(kShape, "phone"),
                        kShortCodeHash = TokenHash(kShape, "short_code"),
                        kLettersDigitsHash = TokenHash(kShape, "letters_digits");
  const uint32_t kLongWord = FeatureIndex(kLongWordHash, bits),
                 kPhone = FeatureIndex(kPhoneHash, bits),
                 kShortCode = FeatureIndex(kShortCodeHash, bits),
                 kLettersDigits = FeatureIndex(kLettersDigitsHash, bits);
  // A short text (every SMS) is copied with 16 zero bytes after it, so the word scanner and
  // the hash read whole blocks up to its last byte (no byte-by-byte tails).
  constexpr size_t kPaddedMax = 1024, kPad = 16;
  char padded[kPaddedMax + kPad];
  const char* readable_end = text.data() + text.size();
  if (text.size() <= kPaddedMax) {
    if (!text.empty()) std::memcpy(padded, text.data(), text.size());
    std::memset(padded + text.size(), 0, kPad);
    text = std::string_view(padded, text.size());
    readable_end = padded + text.size() + kPad;
  }
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  bool subject_line = email;  // email: normalized_body starts with the Subject line
  bool have_prev = false;
  uint64_t prev = 0;
  size_t phone_digits = 0;
  bool phone_emitted = false;
  bool after_currency = false;
  char buf[kMaxWordBytes + 2 + 8] = {};  // +8: ShortHash reads 8 bytes

  while (p < end) {
    unsigned char c = *p;
    // The common separator (a plain ASCII one) is known from the class table alone; the
    // rest goes through the newline, currency and NonWordAt checks.
    size_t sep = kByteClass[c] & kAsciiSeparator ? 1 : 0;
    if (sep == 0) {
      if (c == '\n') {
        subject_line = false;
        have_prev = false;
        phone_digits = 0;
        after_currency = false;
        ++p;
        continue;
      }
      if (size_t cur = CurrencyAt(p, end)) {
        out->Add(Feature(kShape, std::string_view(reinterpret_cast<const char*>(p), cur)));
        after_currency = true;
        p += cur;
        continue;
      }
      sep = NonWordAt(p, end);
    }
    if (sep != 0) {
      // Phone numbers: digit groups separated by these characters stay one run. (Written as
      // selects, not branches: which separator comes next is not predictable.)
      phone_digits = (kByteClass[c] & kPhoneSeparator) ? phone_digits : 0;
      after_currency = after_currency && c == ' ';
      p += sep;
      continue;
    }
    // A word: word bytes, with single apostrophes inside. Runs of plain word bytes are
    // skipped 16 at a time (PlainWordRun); the bytes that end them are looked at one by one.
    const unsigned char* w = p;
    bool has_digit = false, has_other = false;  // a digit / a byte other than a digit
    while (p < end) {
      p += PlainWordRun(reinterpret_cast<const char*>(p), reinterpret_cast<const char*>(end),
                        readable_end, &has_digit, &has_other);
      if (p == end || (kByteClass[*p] & kAsciiSeparator)) break;
      if (*p == '\'' && p > w && p + 1 < end && NonWordAt(p + 1, end) == 0 &&
          CurrencyAt(p + 1, end) == 0) {
        has_other = true;
        ++p;
        continue;
      }
      if (NonWordAt(p, end) != 0 || CurrencyAt(p, end) != 0) break;
      has_other = true;
      ++p;  // a non-ASCII lead byte that starts a letter
    }
    std::string_view word(reinterpret_cast<const char*>(w), p - w);
    // Room for every feature one word can add (below), so the adds need no capacity check.
    out->Room(kMaxWordFeatures);
    if (word.size() > kMaxWordBytes) {
      out->Add(kLongWord);
      have_prev = false;
      phone_digits = 0;
      after_currency = false;
      continue;
    }
    if (!has_other) {  // all digits
      const size_t digits = word.size();
      out->AddUnchecked(FeatureIndex(CombineHash(kNum, std::min<size_t>(digits, 16)), bits));
      if (after_currency) {
        out->AddUnchecked(FeatureIndex(CombineHash(kCurNum, std::min<size_t>(digits, 8)), bits));
      }
      phone_digits += digits;
      if (phone_digits >= 10 && !phone_emitted) {
        out->AddUnchecked(kPhone);
        phone_emitted = true;
      }
      if ((digits == 5 || digits == 6) && phone_digits == digits) out->AddUnchecked(kShortCode);
    } else {
      phone_digits = 0;
      if (has_digit) {
        out->AddUnchecked(kLettersDigits);
        // De-leeted skeleton: "fr33" -> "free", counted as the word itself.
        bool changed = false, still_digits = false;
        for (size_t i = 0; i < word.size(); ++i) {
          buf[i] = Deleet(word[i]);
          changed |= buf[i] != word[i];
          still_digits |= buf[i] >= '0' && buf[i] <= '9';
        }
        if (changed && !still_digits) {
          out->AddUnchecked(Feature(kWord, std::string_view(buf, word.size())));
        }
      }
    }
    after_currency = false;
    uint64_t h = TokenHash(kWord, word, readable_end);
    out->AddUnchecked(FeatureIndex(h, bits));
    if (subject_line) {
      out->AddUnchecked(
          FeatureIndex(TokenHash(kSubjectWord, word, readable_end), bits));
    }
    if (options_.word_bigrams && have_prev) {
      out->AddUnchecked(FeatureIndex(CombineHash(prev ^ kBigramSalt, h), bits));
    }
    prev = h;
    have_prev = true;
    // A word of at most n-2 bytes is a single gram that says no more than the word itself.
    // The n-grams of " word ", each the value ShortHash would read from a padded copy, kept
    // in a register window that shifts one byte in at a time (a copy read back with 8-byte
    // loads stalls on store forwarding, which was a fifth of the tokenizer's time).
    const bool gram_word = word.size() >= options_.char_ngram_min_word || (has_digit && has_other);
    if (char_grams && gram_word && word.size() + 2 > n_gram) {
      const unsigned top = 8 * (n_gram - 1);
      uint64_t window = uint64_t{' '} << top;
      for (size_t i = 0; i + 2 < n_gram; ++i) {  // the leading space and n - 2 bytes
        window = (window >> 8) | (uint64_t{static_cast<unsigned char>(word[i])} << top);
      }
      for (size_t i = n_gram - 2; i <= word.size(); ++i) {
        const unsigned char next = i < word.size() ? static_cast<unsigned char>(word[i]) : ' ';
        window = (window >> 8) | (uint64_t{next} << top);
        out->AddUnchecked(FeatureIndex(ShortHashValue(kCharGram, window, n_gram), bits));
      }
    }
  }
}

void Tokenizer::TokenizeEmailStructure(const Message& m, FeatureSet* out) const {
  const uint32_t bits = options_.feature_bits;
  char buf[256];
  // From domain, and its last two labels.
  if (const Header* from = m.FirstHeader("From")) {
    std::string_view v = from->value;
    size_t at = v.rfind('@');
    if (at != std::string_view::npos) {
      std::string_view d = v.substr(at + 1);
      size_t stop = d.find_first_of("> \t\"')");
      if (stop != std::string_view::npos) d = d.substr(0, stop);
      d = LowerInto(d, buf, sizeof buf);
      out->Add(Feature(kFromDomain, d));
      size_t dot = d.rfind('.');
      if (dot != std::string_view::npos && dot > 0) {
        size_t dot2 = d.rfind('.', dot - 1);
        if (dot2 != std::string_view::npos) out->Add(Feature(kFromDomain, d.substr(dot2 + 1)));
      }
    } else {
      AddShape("from_no_address", out);
    }
  } else {
    AddShape("no_from", out);
  }
  // Mailer: the first word of X-Mailer or User-Agent.
  const Header* mailer = m.FirstHeader("X-Mailer");
  if (mailer == nullptr) mailer = m.FirstHeader("User-Agent");
  if (mailer != nullptr) {
    std::string_view v = StripWhitespace(mailer->value);
    size_t stop = v.find_first_of(" /(;[");
    if (stop != std::string_view::npos) v = v.substr(0, stop);
    out->Add(Feature(kMailer, LowerInto(v, buf, sizeof buf)));
  } else {
    out->Add(Feature(kMailer, ""));
  }
  // MIME tree.
  static const uint64_t kCharset = TokenHash(kMime, "charset"), kExt = TokenHash(kMime, "ext"),
                        kParts = TokenHash(kMime, "parts"), kDepth = TokenHash(kMime, "depth"),
                        kFlags = TokenHash(kFlag, "");
  size_t nparts = std::min<size_t>(m.parts.size(), 64);
  int depth = 0;
  for (size_t i = 0; i < nparts; ++i) {
    const MimePart& part = m.parts[i];
    depth = std::max(depth, part.depth);
    out->Add(Feature(kMime, part.content_type));
    if (!part.charset.empty()) {
      out->Add(FeatureIndex(CombineHash(kCharset, TokenHash(kMime, part.charset)), bits));
    }
    if (!part.filename.empty()) {
      std::string_view f = part.filename;
      size_t dot = f.rfind('.');
      std::string_view ext = dot == std::string_view::npos ? "" : f.substr(dot + 1);
      ext = LowerInto(ext, buf, 16);
      out->Add(FeatureIndex(CombineHash(kExt, TokenHash(kMime, ext)), bits));
    }
  }
  if (options_.header_words && !m.parts.empty()) {
    size_t end = std::min<size_t>(m.parts[0].header_end, m.all_headers.size());
    end = std::min<size_t>(end, 100);
    for (size_t i = 0; i < end; ++i) {
      const Header& h = m.all_headers[i];
      std::string_view name = LowerInto(h.name, buf, 64);
      uint64_t hn = TokenHash(kHeader, name);
      out->Add(FeatureIndex(hn, bits));
      if (name == "date" || name == "message-id") continue;
      std::string_view v = h.value.substr(0, 512);
      size_t pos = 0;
      while (pos < v.size()) {
        while (pos < v.size() && !IsHeaderWordByte(v[pos])) ++pos;
        size_t b = pos;
        while (pos < v.size() && IsHeaderWordByte(v[pos])) ++pos;
        std::string_view w = v.substr(b, pos - b);
        while (!w.empty() && (w.back() == '.' || w.back() == '-')) w.remove_suffix(1);
        if (w.size() < 2 || w.size() > 40) continue;
        w = LowerInto(w, buf + 64, 64);
        out->Add(FeatureIndex(CombineHash(hn, TokenHash(kHeader, w)), bits));
      }
    }
  }
  out->Add(FeatureIndex(CombineHash(kParts, std::min<size_t>(m.parts.size(), 8)), bits));
  out->Add(FeatureIndex(CombineHash(kDepth, std::min(depth, 4)), bits));
  for (uint32_t f = 0; f < static_cast<uint32_t>(MessageFlag::kCount_); ++f) {
    if (m.flags.Has(static_cast<MessageFlag>(f))) {
      out->Add(FeatureIndex(CombineHash(kFlags, f), bits));
    }
  }
}

}  // namespace veto::classifiers
