// veto/core/strings.h — small string helpers on std::string_view.
//
// Debian 12's Abseil is built with its own absl::string_view (not an alias of
// std::string_view), so absl::StrCat / StrSplit / StripAsciiWhitespace do not accept
// std::string_view. These few helpers cover what the project needs.
//
//   std::string s = Cat("line ", 42, ": ", name);      // strings, string_views, numbers
//   for (std::string_view w : SplitAny(text, " \t")) ...
//
// Thread-safety: pure functions.
#ifndef VETO_CORE_STRINGS_H_
#define VETO_CORE_STRINGS_H_

#include <charconv>
#include <cstdio>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace veto {

inline bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

inline std::string_view StripWhitespace(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && IsAsciiSpace(s[b])) ++b;
  while (e > b && IsAsciiSpace(s[e - 1])) --e;
  return s.substr(b, e - b);
}

inline std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return out;
}

// Splits at `sep`; empty pieces kept.
inline std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  for (;;) {
    size_t at = s.find(sep, pos);
    out.push_back(s.substr(pos, at == std::string_view::npos ? std::string_view::npos : at - pos));
    if (at == std::string_view::npos) break;
    pos = at + 1;
  }
  return out;
}

// Splits at any of `seps`; empty pieces dropped.
inline std::vector<std::string_view> SplitAny(std::string_view s, std::string_view seps) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t at = s.find_first_of(seps, pos);
    if (at == std::string_view::npos) at = s.size();
    if (at > pos) out.push_back(s.substr(pos, at - pos));
    pos = at + 1;
  }
  return out;
}

inline bool ParseInt(std::string_view s, long long* out) {
  s = StripWhitespace(s);
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

inline bool ParseDouble(std::string_view s, double* out) {
  s = StripWhitespace(s);
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

template <typename Container>
std::string Join(const Container& parts, std::string_view sep) {
  std::string out;
  bool first = true;
  for (const auto& p : parts) {
    if (!first) out.append(sep);
    first = false;
    out.append(p);
  }
  return out;
}

// Appends code point `cp` (at most 0x10FFFF; callers validate) to *out as UTF-8.
inline void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

namespace strings_internal {
inline void Append(std::string* out, std::string_view s) { out->append(s); }
inline void Append(std::string* out, const char* s) { out->append(s); }
inline void Append(std::string* out, const std::string& s) { out->append(s); }
inline void Append(std::string* out, char c) { out->push_back(c); }
// Other string types (absl::string_view in Debian's Abseil, for status messages).
template <typename T>
  requires requires(const T& t) {
    t.data();
    t.size();
  }
inline void Append(std::string* out, const T& s) {
  out->append(s.data(), s.size());
}
template <typename T>
  requires std::is_arithmetic_v<T>
inline void Append(std::string* out, T v) {
  if constexpr (std::is_floating_point_v<T>) {
    char buf[32];
    int n = std::snprintf(buf, sizeof buf, "%g", static_cast<double>(v));
    out->append(buf, n);
  } else {
    out->append(std::to_string(v));
  }
}
}  // namespace strings_internal

// Concatenates strings, string_views, characters and numbers (%g for floating point).
template <typename... Args>
std::string Cat(const Args&... args) {
  std::string out;
  (strings_internal::Append(&out, args), ...);
  return out;
}

}  // namespace veto

#endif  // VETO_CORE_STRINGS_H_
