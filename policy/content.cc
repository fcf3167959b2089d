#include "policy/content.h"

#include <utf8proc.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "core/strings.h"
#include "policy/identity.h"

namespace veto::policy {
namespace {

// Same options as email/unicode.cc, so phrases fold exactly as normalized_body does.
constexpr utf8proc_option_t kFoldOptions = static_cast<utf8proc_option_t>(
    UTF8PROC_STABLE | UTF8PROC_COMPAT | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD | UTF8PROC_IGNORE);

constexpr size_t kSetThreshold = 32;

inline char ToLowerAscii(char c) {
  return static_cast<unsigned char>(c - 'A') < 26 ? static_cast<char>(c | 0x20) : c;
}

}  // namespace

std::string_view TextFieldName(TextField f) {
  switch (f) {
    case TextField::kText:
      return "text";
    case TextField::kSubject:
      return "subject";
    case TextField::kNormalized:
      return "normalized";
  }
  return "unknown";
}

absl::StatusOr<std::unique_ptr<const RE2>> CompileRegex(std::string_view pattern,
                                                        const RegexLimits& limits) {
  if (pattern.size() > limits.max_pattern_bytes) {
    return absl::InvalidArgumentError(Cat("regex longer than ", limits.max_pattern_bytes,
                                          " bytes (got ", pattern.size(), " bytes)"));
  }
  RE2::Options options;
  options.set_log_errors(false);
  options.set_never_capture(true);
  options.set_max_mem(limits.max_mem);
  options.set_encoding(RE2::Options::EncodingUTF8);
  auto re = std::make_unique<const RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
  if (re->ok()) return re;
  if (re->error_code() == RE2::ErrorPatternTooLarge) {
    return absl::InvalidArgumentError(
        Cat("regex too large for max_mem=", limits.max_mem, " ", Got(pattern)));
  }
  return absl::InvalidArgumentError(Cat("invalid regex: ", re->error(), " ", Got(pattern)));
}

absl::StatusOr<std::string> FoldPhrase(std::string_view phrase) {
  utf8proc_uint8_t* folded = nullptr;
  const utf8proc_ssize_t n =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(phrase.data()),
                   static_cast<utf8proc_ssize_t>(phrase.size()), &folded, kFoldOptions);
  if (n < 0) {
    std::free(folded);
    return absl::InvalidArgumentError(Cat("not valid UTF-8 ", Got(phrase)));
  }
  std::string out;
  out.reserve(static_cast<size_t>(n));
  bool space = false;
  for (utf8proc_ssize_t i = 0; i < n; ++i) {
    const char c = static_cast<char>(folded[i]);
    if (absl::ascii_isspace(static_cast<unsigned char>(c))) {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  std::free(folded);
  if (out.empty()) {
    return absl::InvalidArgumentError(Cat("empty phrase ", Got(phrase)));
  }
  return out;
}

size_t FindBytes(std::string_view h, std::string_view n) {
  const size_t m = n.size();
  if (m == 0) return 0;
  if (m > h.size()) return std::string_view::npos;
  if (m == 1) {
    const void* p = std::memchr(h.data(), n[0], h.size());
    return p == nullptr ? std::string_view::npos : static_cast<const char*>(p) - h.data();
  }
  const size_t last = h.size() - m;  // the last possible start
  size_t i = 0;
#ifdef __SSE2__
  const __m128i first = _mm_set1_epi8(n[0]);
  const __m128i final = _mm_set1_epi8(n[m - 1]);
  for (; i + 15 <= last; i += 16) {  // starts i..i+15, and their last bytes, are all in range
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(h.data() + i));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(h.data() + i + m - 1));
    auto mask = static_cast<unsigned>(
        _mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(a, first), _mm_cmpeq_epi8(b, final))));
    while (mask != 0) {
      const size_t at = i + static_cast<size_t>(__builtin_ctz(mask));
      if (std::memcmp(h.data() + at + 1, n.data() + 1, m - 2) == 0) return at;
      mask &= mask - 1;
    }
  }
#endif
  for (; i <= last; ++i) {
    if (h[i] == n[0] && h[i + m - 1] == n[m - 1] &&
        std::memcmp(h.data() + i + 1, n.data() + 1, m - 2) == 0) {
      return i;
    }
  }
  return std::string_view::npos;
}

bool ContainsIgnoringAsciiCase(std::string_view haystack, std::string_view needle) {
  if (needle.empty()) return true;
  if (needle.size() > haystack.size()) return false;
  const char first = needle[0];
  const char first_upper = absl::ascii_toupper(static_cast<unsigned char>(first));
  const size_t last = haystack.size() - needle.size();
  for (size_t i = 0; i <= last; ++i) {
    const char c = haystack[i];
    if (c != first && c != first_upper) continue;
    size_t j = 1;
    while (j < needle.size() && ToLowerAscii(haystack[i + j]) == needle[j]) ++j;
    if (j == needle.size()) return true;
  }
  return false;
}

std::string_view MessageText::Get(TextField f) const {
  switch (f) {
    case TextField::kText:
      if (m_.channel == Channel::kSms && !m_.sms.text.empty()) return m_.sms.text;
      return m_.body;
    case TextField::kSubject:
      if (!subject_done_) {
        subject_done_ = true;
        if (m_.channel == Channel::kEmail) {
          const Header* h = m_.FirstHeader("Subject");
          if (h != nullptr) subject_ = h->value;
        }
      }
      return subject_;
    case TextField::kNormalized:
      if (!m_.normalized_body.empty()) return m_.normalized_body;
      return Get(TextField::kText);
  }
  return {};
}

std::string_view MessageText::LowerAscii(TextField f, bool* ascii) const {
  const auto i = static_cast<size_t>(f);
  if (!lower_done_[i]) {
    lower_done_[i] = true;
    const std::string_view t = Get(f);
    std::string& out = lower_[i];
    out.resize(t.size());
    // Eight bytes at a time: a byte's high bit after adding a bias says whether it is >= 'A'
    // and whether it is > 'Z'; the difference, moved to bit 5, is the 0x20 to add. Bytes with
    // the high bit set (non-ASCII) are left alone and remembered.
    constexpr uint64_t kOnes = 0x0101010101010101ULL;
    constexpr uint64_t kHigh = 0x8080808080808080ULL;
    uint64_t high = 0;
    size_t k = 0;
    for (; k + 8 <= t.size(); k += 8) {
      uint64_t v;
      std::memcpy(&v, t.data() + k, 8);
      high |= v;
      const uint64_t ge_a = (v & ~kHigh) + kOnes * (0x80 - 'A');
      const uint64_t gt_z = (v & ~kHigh) + kOnes * (0x80 - 'Z' - 1);
      v |= (ge_a & ~gt_z & ~v & kHigh) >> 2;
      std::memcpy(out.data() + k, &v, 8);
    }
    for (; k < t.size(); ++k) {
      high |= static_cast<unsigned char>(t[k]);
      out[k] = ToLowerAscii(t[k]);
    }
    lower_ascii_[i] = (high & kHigh) == 0;
  }
  *ascii = lower_ascii_[i];
  return lower_[i];
}

bool RegexPrefilter::Add(std::string_view pattern, const RegexLimits& limits) {
  if (filter_ == nullptr) filter_ = std::make_unique<re2::FilteredRE2>(/*min_atom_len=*/3);
  RE2::Options options;
  options.set_log_errors(false);
  options.set_never_capture(true);
  options.set_max_mem(limits.max_mem);
  int id = -1;
  if (filter_->Add(re2::StringPiece(pattern.data(), pattern.size()), options, &id) !=
      RE2::NoError) {
    return false;
  }
  ++count_;
  return true;
}

void RegexPrefilter::Compile() {
  if (count_ > 0) filter_->Compile(&atoms_);
}

void RegexPrefilter::Candidates(const MessageText& text, TextField field,
                                CandidateSet* candidates) const {
  candidates->assign(static_cast<size_t>(count_), 0);
  if (count_ == 0) return;
  bool ascii = true;
  const std::string_view lower = text.LowerAscii(field, &ascii);
  if (!ascii) {
    candidates->assign(static_cast<size_t>(count_), 1);
    return;
  }
  // Per-thread scratch: FilteredRE2 takes std::vectors, and Decide should not allocate here.
  thread_local std::vector<int> found;
  thread_local std::vector<int> potential;
  found.clear();
  for (size_t a = 0; a < atoms_.size(); ++a) {
    if (FindBytes(lower, atoms_[a]) != std::string_view::npos) found.push_back(static_cast<int>(a));
  }
  filter_->AllPotentials(found, &potential);
  for (int i : potential) (*candidates)[static_cast<size_t>(i)] = 1;
}

absl::StatusOr<KeywordSet> KeywordSet::Build(const std::vector<std::string>& phrases) {
  std::vector<std::string> folded;
  folded.reserve(phrases.size());
  for (size_t i = 0; i < phrases.size(); ++i) {
    absl::StatusOr<std::string> f = FoldPhrase(phrases[i]);
    if (!f.ok()) return absl::InvalidArgumentError(Cat("[", i, "]: ", f.status().message()));
    folded.push_back(*std::move(f));
  }
  return FromFolded(std::move(folded));
}

KeywordSet KeywordSet::FromFolded(std::vector<std::string> folded) {
  KeywordSet k;
  k.phrases_ = std::move(folded);
  if (k.phrases_.size() > kSetThreshold) {
    RE2::Options options;
    options.set_log_errors(false);
    options.set_literal(true);
    options.set_case_sensitive(false);
    options.set_never_capture(true);
    options.set_max_mem(64 << 20);
    auto set = std::make_unique<RE2::Set>(options, RE2::UNANCHORED);
    bool ok = true;
    for (const std::string& p : k.phrases_) ok = ok && set->Add(p, nullptr) >= 0;
    // A set that fails to build (memory) falls back to the phrase-by-phrase search.
    if (ok && set->Compile()) k.set_ = std::move(set);
  }
  return k;
}

int KeywordSet::Find(const MessageText& text, TextField field) const {
  if (phrases_.empty()) return -1;
  const bool use_folded = field != TextField::kSubject && !text.folded().empty();
  const std::string_view hay = use_folded ? text.folded() : text.Get(field);
  if (hay.empty()) return -1;
  if (set_ != nullptr) {
    std::vector<int> hits;
    RE2::Set::ErrorInfo info;
    if (set_->Match(re2::StringPiece(hay.data(), hay.size()), &hits, &info)) {
      return *std::min_element(hits.begin(), hits.end());
    }
    if (info.kind == RE2::Set::kNoError) return -1;
    // DFA out of memory or similar: fall through to the exact search.
  }
  for (size_t i = 0; i < phrases_.size(); ++i) {
    const bool found = use_folded ? FindBytes(hay, phrases_[i]) != std::string_view::npos
                                  : ContainsIgnoringAsciiCase(hay, phrases_[i]);
    if (found) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace veto::policy
