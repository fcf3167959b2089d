// libFuzzer target, differential: the RE2 form of a regex's Hyperscan translation
// (rules/re2_set.h) must match a text exactly when Hyperscan does (exact translations), and at
// least when PCRE2 does (prefilters), and the RE2 confirm of a prefilter (its exact form, when
// there is one) exactly when PCRE2 does; anything else traps. Input: one byte of modifiers (bits:
// i, m, s, x), then the pattern, a NUL, and the subject (the pattern itself if there is no NUL).
#include <hs/hs.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "rules/re2_set.h"
#include "rules/regex.h"

namespace {

bool HyperscanMatches(const veto::rules::HyperscanPattern& p, std::string_view text, bool* ok) {
  hs_database_t* db = nullptr;
  hs_compile_error_t* error = nullptr;
  *ok = false;
  if (hs_compile(p.expression.c_str(), p.flags, HS_MODE_BLOCK, nullptr, &db, &error) !=
      HS_SUCCESS) {
    hs_free_compile_error(error);
    return false;
  }
  hs_scratch_t* scratch = nullptr;
  bool hit = false;
  if (hs_alloc_scratch(db, &scratch) == HS_SUCCESS) {
    *ok = true;
    static const char kEmpty[] = "";
    hs_scan(db, text.empty() ? kEmpty : text.data(), static_cast<unsigned>(text.size()), 0,
            scratch,
            [](unsigned, unsigned long long, unsigned long long, unsigned, void* c) -> int {
              *static_cast<bool*>(c) = true;
              return 1;
            },
            &hit);
    hs_free_scratch(scratch);
  }
  hs_free_database(db);
  return hit;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2 || size > 512) return 0;  // Hyperscan compiles each input: keep them small
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  size_t nul = in.find('\0');
  veto::rules::PerlRegex re;
  re.pattern = std::string(in.substr(0, nul));
  std::string_view subject = nul == std::string_view::npos ? in : in.substr(nul + 1);
  for (int bit = 0; bit < 4; ++bit) {
    if (data[0] & (1 << bit)) re.modifiers += "imsx"[bit];
  }
  auto hs = veto::rules::TranslateForHyperscan(re);
  if (!hs.ok() || hs->gated) return 0;
  auto form = veto::rules::Re2Expression(hs->expression, hs->flags);
  if (!form.ok()) return 0;
  veto::rules::Re2Set set;
  if (!set.Add(*form).ok() || !set.Compile().ok()) return 0;
  std::vector<int> hits;
  set.Match(subject, &hits);
  bool re2 = !hits.empty();
  if (hs->prefilter) {
    auto pcre = veto::rules::ConfirmRegex::Compile(re);
    if (!pcre.ok()) return 0;
    bool perl = (*pcre)->Matches(subject);
    if ((*pcre)->limit_hits() > 0) return 0;
    if (perl && !re2) std::abort();
    // The RE2 confirm (the whole regex, exactly) must agree with PCRE2.
    auto whole = veto::rules::TranslateExactly(re);
    if (!whole.ok()) return 0;
    int program = 0;
    auto exact = veto::rules::Re2Expression(whole->expression, whole->flags, &program);
    bool hit = false;
    if (exact.ok() && veto::rules::Re2Regex(*exact, program).Matches(subject, &hit) && hit != perl)
      std::abort();
    return 0;
  }
  bool ok = false;
  bool hyperscan = HyperscanMatches(*hs, subject, &ok);
  if (ok && hyperscan != re2) std::abort();
  return 0;
}
