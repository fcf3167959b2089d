// tests/rules/hs_pattern.h — one Hyperscan pattern compiled alone, for differential tests
// (regex_test.cc: Hyperscan against PCRE2 and Perl; re2_set_test.cc: RE2 against Hyperscan).
#ifndef VETO_TESTS_RULES_HS_PATTERN_H_
#define VETO_TESTS_RULES_HS_PATTERN_H_

#include <hs/hs.h>

#include <string>
#include <string_view>

#include "rules/regex.h"

namespace veto::rules {

// A Hyperscan block-mode database of one pattern with its scratch.
class HsPattern {
 public:
  explicit HsPattern(const HyperscanPattern& p) {
    hs_compile_error_t* error = nullptr;
    if (hs_compile(p.expression.c_str(), p.flags, HS_MODE_BLOCK, nullptr, &db_, &error) !=
        HS_SUCCESS) {
      error_ = error != nullptr ? error->message : "hs_compile failed";
      hs_free_compile_error(error);
      db_ = nullptr;
      return;
    }
    if (hs_alloc_scratch(db_, &scratch_) != HS_SUCCESS) error_ = "hs_alloc_scratch failed";
  }
  ~HsPattern() {
    if (scratch_ != nullptr) hs_free_scratch(scratch_);
    if (db_ != nullptr) hs_free_database(db_);
  }
  HsPattern(const HsPattern&) = delete;
  HsPattern& operator=(const HsPattern&) = delete;

  const std::string& error() const { return error_; }

  bool Matches(std::string_view text) const {
    bool hit = false;
    auto on_match = [](unsigned, unsigned long long, unsigned long long, unsigned,
                       void* ctx) -> int {
      *static_cast<bool*>(ctx) = true;
      return 1;  // stop scanning
    };
    static const char kEmpty[] = "";
    hs_scan(db_, text.empty() ? kEmpty : text.data(), static_cast<unsigned>(text.size()), 0,
            scratch_, on_match, &hit);
    return hit;
  }

 private:
  hs_database_t* db_ = nullptr;
  hs_scratch_t* scratch_ = nullptr;
  std::string error_;
};

}  // namespace veto::rules

#endif  // VETO_TESTS_RULES_HS_PATTERN_H_
