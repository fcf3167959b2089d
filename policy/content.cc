#include "policy/content.h"

#include <utf8proc.h>

#include <algorithm>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace veto::policy {
namespace {

// Same options as email/unicode.cc, so phrases fold exactly as normalized_body does.
constexpr utf8proc_option_t kFoldOptions = static_cast<utf8proc_option_t>(
    UTF8PROC_STABLE | UTF8PROC_COMPAT | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD | UTF8PROC_IGNORE);

constexpr size_t kSetThreshold = 32;

inline char LowerAscii(char c) {
  return static_cast<unsigned char>(c - 'A') < 26 ? static_cast<char>(c | 0x20) : c;
}

std::string Quote(std::string_view s) {
  constexpr size_t kMax = 80;  // keep error lines readable for huge patterns
  if (s.size() > kMax) return absl::StrCat(absl::CEscape(s.substr(0, kMax)), "...");
  return absl::CEscape(s);
}

}  // namespace

std::string_view TextFieldName(TextField f) {
  switch (f) {
    case TextField::kText: return "text";
    case TextField::kSubject: return "subject";
    case TextField::kNormalized: return "normalized";
  }
  return "unknown";
}

absl::StatusOr<std::unique_ptr<const RE2>> CompileRegex(std::string_view pattern,
                                                        const RegexLimits& limits) {
  if (pattern.size() > limits.max_pattern_bytes) {
    return absl::InvalidArgumentError(absl::StrFormat("regex longer than %d bytes (got %d bytes)",
                                                      limits.max_pattern_bytes, pattern.size()));
  }
  RE2::Options options;
  options.set_log_errors(false);
  options.set_never_capture(true);
  options.set_max_mem(limits.max_mem);
  options.set_encoding(RE2::Options::EncodingUTF8);
  auto re = std::make_unique<const RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
  if (re->ok()) return re;
  if (re->error_code() == RE2::ErrorPatternTooLarge) {
    return absl::InvalidArgumentError(absl::StrFormat("regex too large for max_mem=%d (got \"%s\")",
                                                      limits.max_mem, Quote(pattern)));
  }
  return absl::InvalidArgumentError(
      absl::StrFormat("invalid regex: %s (got \"%s\")", re->error(), Quote(pattern)));
}

absl::StatusOr<std::string> FoldPhrase(std::string_view phrase) {
  utf8proc_uint8_t* folded = nullptr;
  const utf8proc_ssize_t n =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(phrase.data()),
                   static_cast<utf8proc_ssize_t>(phrase.size()), &folded, kFoldOptions);
  if (n < 0) {
    std::free(folded);
    return absl::InvalidArgumentError(
        absl::StrFormat("not valid UTF-8 (got \"%s\")", Quote(phrase)));
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
    return absl::InvalidArgumentError(absl::StrFormat("empty phrase (got \"%s\")", Quote(phrase)));
  }
  return out;
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
    while (j < needle.size() && LowerAscii(haystack[i + j]) == needle[j]) ++j;
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

absl::StatusOr<KeywordSet> KeywordSet::Build(const std::vector<std::string>& phrases) {
  std::vector<std::string> folded;
  folded.reserve(phrases.size());
  for (size_t i = 0; i < phrases.size(); ++i) {
    absl::StatusOr<std::string> f = FoldPhrase(phrases[i]);
    if (!f.ok()) return absl::InvalidArgumentError(absl::StrCat("[", i, "]: ", f.status().message()));
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
    const bool found = use_folded ? hay.find(phrases_[i]) != std::string_view::npos
                                  : ContainsIgnoringAsciiCase(hay, phrases_[i]);
    if (found) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace veto::policy
