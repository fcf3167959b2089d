#include "classifiers/tokenizer.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "classifiers/hash.h"
#include "gtest/gtest.h"
#include "tests/classifiers/test_util.h"

namespace veto::classifiers {
namespace {

using testing::Email;
using testing::Sms;

bool Has(const FeatureSet& fs, uint32_t f) {
  return std::find(fs.features().begin(), fs.features().end(), f) != fs.features().end();
}

TEST(HashTest, PinnedValuesNeverChange) {
  // The hash is part of the model format: a change here invalidates every trained model.
  EXPECT_EQ(TokenHash(kWord, "free"), 0x293e5089334e0f13ULL) << std::hex << TokenHash(kWord, "free");
  EXPECT_EQ(TokenHash(kWord, ""), 0x78a308ea3eda7e2fULL) << std::hex << TokenHash(kWord, "");
  EXPECT_EQ(TokenHash(kWord, "a much longer token than eight bytes"), 0x6e7e672f0105451aULL)
      << std::hex << TokenHash(kWord, "a much longer token than eight bytes");
  char buf[16] = " free ";
  EXPECT_EQ(ShortHash(kCharGram, buf, 4), 0xb38934ced0930fd1ULL) << std::hex << ShortHash(kCharGram, buf, 4);
}

TEST(TokenizerTest, SameInputSameFeatures) {
  Tokenizer tok(TokenizerOptions::Sms());
  FeatureSet a, b;
  tok.Tokenize(*Sms("WINNER!! Call 09061701461 to claim your £900 prize"), &a);
  tok.Tokenize(*Sms("WINNER!! Call 09061701461 to claim your £900 prize"), &b);
  EXPECT_EQ(a.features(), b.features());
  EXPECT_GT(a.size(), 20u);
}

TEST(TokenizerTest, FeaturesAreDeduplicatedAndInRange) {
  TokenizerOptions o = TokenizerOptions::Sms();
  o.feature_bits = 12;
  Tokenizer tok(o);
  FeatureSet fs;
  tok.Tokenize(*Sms("spam spam spam spam spam spam spam spam"), &fs);
  std::vector<uint32_t> v = fs.features();
  std::sort(v.begin(), v.end());
  EXPECT_EQ(std::unique(v.begin(), v.end()), v.end());
  for (uint32_t f : v) EXPECT_LT(f, 1u << 12);
}

TEST(TokenizerTest, WordsAreCaseFoldedByTheNormaliser) {
  Tokenizer tok(TokenizerOptions::Sms());
  FeatureSet fs;
  tok.Tokenize(*Sms("FREE Entry"), &fs);
  EXPECT_TRUE(Has(fs, tok.Feature(kWord, "free")));
  EXPECT_TRUE(Has(fs, tok.Feature(kWord, "entry")));
}

TEST(TokenizerTest, LeetWordsAlsoGiveTheirSkeleton) {
  Tokenizer tok(TokenizerOptions::Sms());
  FeatureSet fs;
  tok.Tokenize(*Sms("fr33 c4sh"), &fs);
  EXPECT_TRUE(Has(fs, tok.Feature(kWord, "free")));
  EXPECT_TRUE(Has(fs, tok.Feature(kWord, "cash")));
  EXPECT_TRUE(Has(fs, tok.Feature(kWord, "fr33")));
  EXPECT_TRUE(Has(fs, tok.Feature(kShape, "letters_digits")));
}

TEST(TokenizerTest, ApostrophesStayInsideWords) {
  Tokenizer tok(TokenizerOptions::Sms());
  FeatureSet fs;
  tok.Tokenize(*Sms("don't"), &fs);
  EXPECT_TRUE(Has(fs, tok.Feature(kWord, "don't")));
}

TEST(TokenizerTest, PhoneShortCodeAndCurrencyShapes) {
  Tokenizer tok(TokenizerOptions::Sms());
  FeatureSet fs;
  tok.Tokenize(*Sms("call 0800 123 4567 or text WIN to 87121 for £250"), &fs);
  EXPECT_TRUE(Has(fs, tok.Feature(kShape, "phone")));
  EXPECT_TRUE(Has(fs, tok.Feature(kShape, "short_code")));
  EXPECT_TRUE(Has(fs, tok.Feature(kShape, "£")));
  EXPECT_TRUE(Has(fs, tok.Feature(kWord, "87121")));
  FeatureSet plain;
  tok.Tokenize(*Sms("see you at 5 tomorrow"), &plain);
  EXPECT_FALSE(Has(plain, tok.Feature(kShape, "phone")));
  EXPECT_FALSE(Has(plain, tok.Feature(kShape, "short_code")));
}

// By default only long words (>= 8 bytes) and words mixing letters and digits get n-grams.
TEST(TokenizerTest, CharGramsOnlyForLongOrMixedWords) {
  TokenizerOptions o = TokenizerOptions::Sms();
  ASSERT_EQ(o.char_ngram_min_word, 8u);
  Tokenizer tok(o);
  auto gram = [&](const char* padded_word, size_t at) {
    std::string p = std::string(padded_word) + std::string(8, '\0');
    return FeatureIndex(ShortHash(kCharGram, p.data() + at, 4), o.feature_bits);
  };
  FeatureSet fs;
  tok.Tokenize(*Sms("prize"), &fs);  // 5 bytes: no grams
  EXPECT_FALSE(Has(fs, gram(" prize ", 0)));
  tok.Tokenize(*Sms("ringtone"), &fs);  // 8 bytes: grams
  EXPECT_TRUE(Has(fs, gram(" ringtone ", 0)));
  EXPECT_TRUE(Has(fs, gram(" ringtone ", 6)));  // "one "
  tok.Tokenize(*Sms("fr33"), &fs);  // mixed letters and digits: grams however short
  EXPECT_TRUE(Has(fs, gram(" fr33 ", 1)));  // "fr33"
  tok.Tokenize(*Sms("12345"), &fs);  // digits only: a number shape, no grams
  EXPECT_FALSE(Has(fs, gram(" 12345 ", 0)));
  o.char_ngram_min_word = 0;  // every word
  Tokenizer all(o);
  all.Tokenize(*Sms("prize"), &fs);
  EXPECT_TRUE(Has(fs, gram(" prize ", 0)));
}

TEST(TokenizerTest, CharGramsOnlyForShortTexts) {
  TokenizerOptions o = TokenizerOptions::Sms();
  o.char_ngram_max_bytes = 64;
  o.char_ngram_min_word = 0;
  Tokenizer tok(o);
  FeatureSet short_fs, long_fs;
  tok.Tokenize(*Sms("prize"), &short_fs);
  // " prize " -> " pri", "priz", "rize", "ize ": 4 grams, word, shapes.
  char buf[16] = " prize ";
  uint32_t gram = FeatureIndex(ShortHash(kCharGram, buf + 1, 4), o.feature_bits);
  EXPECT_TRUE(Has(short_fs, gram));
  tok.Tokenize(*Sms(std::string(100, 'x') + " prize"), &long_fs);
  EXPECT_FALSE(Has(long_fs, gram));
}

// Every n-gram of " word " (the model format: ShortHash over a padded copy), for every n
// the options allow and words shorter than, equal to and longer than 8 bytes.
TEST(TokenizerTest, CharGramsAreEveryGramOfThePaddedWord) {
  for (uint32_t n = 2; n <= 8; ++n) {
    for (std::string word : {"ab", "prize", "winner", "claimnow", "congratulations", "pr\xc3\xa4mie"}) {
      if (word.size() + 2 <= n) continue;
      TokenizerOptions o = TokenizerOptions::Sms();
      o.char_ngram = n;
      o.char_ngram_min_word = 0;  // every word
      Tokenizer tok(o);
      FeatureSet fs;
      tok.Tokenize(*Sms(word), &fs);
      std::string padded = " " + word + " ";
      padded.append(8, '\0');  // ShortHash reads 8 bytes
      for (size_t i = 0; i + n <= word.size() + 2; ++i) {
        uint32_t gram = FeatureIndex(ShortHash(kCharGram, padded.data() + i, n), o.feature_bits);
        EXPECT_TRUE(Has(fs, gram)) << "n=" << n << " word=" << word << " gram at " << i;
      }
    }
  }
}

// The 8-bytes-at-a-time counter against a plain loop: every byte value (non-ASCII bytes next
// to letters must not carry into them), lengths around 8 and past the 255-word flush.
TEST(TokenizerTest, CountCapsAndBangsMatchesAPlainLoop) {
  uint64_t x = 88172645463325252ULL;  // xorshift: deterministic
  for (size_t len : {0, 1, 7, 8, 9, 15, 16, 17, 100, 2039, 2040, 2041, 2048, 5000}) {
    for (int round = 0; round < 4; ++round) {
      std::string s(len, '\0');
      for (char& c : s) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        // round 0: any byte; 1: letters and '!'; 2: capitals between 0xff bytes; 3: all '!'.
        unsigned v = static_cast<unsigned>(x >> 32);
        c = static_cast<char>(round == 0   ? v & 0xff
                              : round == 1 ? "aZ!qM"[v % 5]
                              : round == 2 ? (v & 1 ? 0xff : 'A' + v % 26)
                                           : '!');
      }
      size_t u = 0, l = 0, b = 0, want_u = 0, want_l = 0, want_b = 0;
      CountCapsAndBangs(s, &u, &l, &b);
      for (unsigned char c : s) {
        want_u += c >= 'A' && c <= 'Z';
        want_l += (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
        want_b += c == '!';
      }
      EXPECT_EQ(u, want_u) << len << " " << round;
      EXPECT_EQ(l, want_l) << len << " " << round;
      EXPECT_EQ(b, want_b) << len << " " << round;
    }
  }
}

// The 16-bytes-at-a-time word scanner against a byte loop over the same byte classes: every
// start offset and end of random texts (ASCII, the 0xC2 / 0xE2 lead bytes, other UTF-8, digits).
TEST(TokenizerTest, PlainWordRunMatchesAByteLoop) {
  uint64_t x = 88172645463325252ULL;
  auto plain = [](unsigned char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= 0x80 && c != 0xC2 && c != 0xE2);
  };
  for (int round = 0; round < 40; ++round) {
    std::string s(70, '\0');
    for (char& c : s) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      unsigned v = static_cast<unsigned>(x >> 32);
      // Mostly word bytes (long runs cross the 16-byte blocks), some of everything else.
      const char* alphabet = round % 2 ? "abcXYZ0189\xc3\xa9\xc2\xe2 '@[`{/:" : "aZ09\x80\xff";
      c = round % 4 == 3 ? static_cast<char>(v & 0xff) : alphabet[v % std::strlen(alphabet)];
    }
    for (size_t b = 0; b <= s.size(); ++b) {
      for (size_t e = b; e <= s.size(); e += 3) {
        bool want_digit = false, want_other = false;
        size_t want = 0;
        while (b + want < e && plain(static_cast<unsigned char>(s[b + want]))) {
          unsigned char c = static_cast<unsigned char>(s[b + want]);
          (c >= '0' && c <= '9' ? want_digit : want_other) = true;
          ++want;
        }
        // Readable only to `e`, and readable to the string's end (bytes past e read, not counted).
        for (const char* readable : {s.data() + e, s.data() + s.size()}) {
          bool digit = false, other = false;
          ASSERT_EQ(PlainWordRun(s.data() + b, s.data() + e, readable, &digit, &other), want)
              << round << " " << b << " " << e;
          EXPECT_EQ(digit, want_digit) << round << " " << b << " " << e;
          EXPECT_EQ(other, want_other) << round << " " << b << " " << e;
        }
      }
    }
  }
}

// TokenHash with a readable end (one load for the tail) equals the byte-by-byte tail.
TEST(HashTest, TokenHashTailLoadSameValue) {
  const std::string text = "a bb ccc dddd eeeee ffffff ggggggg hhhhhhhh iiiiiiiii and more text";
  for (size_t b = 0; b < text.size(); ++b) {
    for (size_t n = 0; b + n <= text.size(); ++n) {
      std::string_view s(text.data() + b, n);
      EXPECT_EQ(TokenHash(kWord, s, text.data() + text.size()), TokenHash(kWord, s)) << b << "+" << n;
    }
  }
}

TEST(TokenizerTest, UrlHostAndDomain) {
  Tokenizer tok(TokenizerOptions::Sms());
  FeatureSet fs;
  tok.Tokenize(*Sms("claim at http://win.example.co.uk/x now"), &fs);
  EXPECT_TRUE(Has(fs, tok.Feature(kUrlHost, "win.example.co.uk")));
  EXPECT_TRUE(Has(fs, tok.Feature(kUrlDomain, "example.co.uk")));
}

TEST(TokenizerTest, EmailHeaderTokens) {
  Tokenizer tok(TokenizerOptions::Email());
  FeatureSet fs;
  tok.Tokenize(*Email("From: Bob <bob@mail.Example.com>\nSubject: Cheap meds\nX-Mailer: "
                      "Foo/1.2\nContent-Type: text/html; charset=utf-8\n\n<p>hello there</p>\n"),
               &fs);
  EXPECT_TRUE(Has(fs, tok.Feature(kFromDomain, "mail.example.com")));
  EXPECT_TRUE(Has(fs, tok.Feature(kFromDomain, "example.com")));
  EXPECT_TRUE(Has(fs, tok.Feature(kSubjectWord, "cheap")));
  EXPECT_TRUE(Has(fs, tok.Feature(kMailer, "foo")));
  EXPECT_TRUE(Has(fs, tok.Feature(kMime, "text/html")));
  EXPECT_TRUE(Has(fs, tok.Feature(kWord, "hello")));
  EXPECT_TRUE(Has(fs, tok.Feature(kHeader, "x-mailer")));
}

TEST(TokenizerTest, HostileInputIsBounded) {
  TokenizerOptions o = TokenizerOptions::Email();
  o.max_body_bytes = 4096;
  Tokenizer tok(o);
  FeatureSet fs;
  std::string body;
  for (int i = 0; i < 100000; ++i) body.append("w").append(std::to_string(i)).append(" ");
  tok.Tokenize(*Email("Subject: x\n\n" + body), &fs);
  EXPECT_LT(fs.size(), 4096u);
  std::string junk(70000, '\xff');
  junk += std::string(5000, 'a');
  tok.Tokenize(*Email("Subject: \xc2\n\n" + junk), &fs);
  EXPECT_GT(fs.size(), 0u);
  tok.Tokenize(Message(), &fs);  // an empty message
  EXPECT_GT(fs.size(), 0u);      // shapes only
}

TEST(TokenizerOptionsTest, Validate) {
  TokenizerOptions o;
  EXPECT_TRUE(o.Validate().ok());
  o.feature_bits = 30;
  EXPECT_EQ(o.Validate().code(), absl::StatusCode::kInvalidArgument);
  o = TokenizerOptions();
  o.char_ngram = 1;
  EXPECT_FALSE(o.Validate().ok());
  o = TokenizerOptions();
  o.max_body_bytes = 0;
  EXPECT_FALSE(o.Validate().ok());
}

}  // namespace
}  // namespace veto::classifiers
