// Every bundled rule (rules/default/) loads, compiles, and has a case where it hits and a
// case where it does not.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "email/parser.h"
#include "rules/engine.h"
#include "rules/loader.h"

namespace veto::rules {
namespace {

struct Case {
  const char* rule;
  const char* hit;   // message (email: full message; sms: "sms:" + text)
  const char* miss;
};

const Case kCases[] = {
    {"VETO_NO_DATE", "Subject: a\nMessage-ID: <x@y>\n\nb\n",
     "Subject: a\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n\nb\n"},
    {"VETO_NO_MESSAGE_ID", "Subject: a\n\nb\n", "Subject: a\nMessage-ID: <x@y>\n\nb\n"},
    {"VETO_SUBJ_ALL_CAPS", "Subject: FREE OFFER INSIDE\n\nb\n", "Subject: Free offer inside\n\nb\n"},
    {"VETO_SUBJ_MONEY", "Subject: Get $5000 today\n\nb\n", "Subject: Get $50 today\n\nb\n"},
    {"VETO_SUBJ_EXCLAIM", "Subject: Wow!!!\n\nb\n", "Subject: Wow!\n\nb\n"},
    {"VETO_FROM_DIGITS", "From: ab1234567@example.com\n\nb\n", "From: alice@example.com\n\nb\n"},
    {"VETO_TO_UNDISCLOSED", "To: undisclosed-recipients:;\n\nb\n", "To: bob@example.com\n\nb\n"},
    {"VETO_REPLYTO_FREEMAIL", "Reply-To: x@hotmail.com\n\nb\n", "Reply-To: x@example.com\n\nb\n"},
    {"VETO_HTML_TINY_FONT",
     "Content-Type: text/html\n\n<font size=1>tiny words</font>\n",
     "Content-Type: text/html\n\n<font size=3>normal words</font>\n"},
    {"VETO_HTML_HIDDEN_TEXT",
     "Content-Type: text/html\n\n<div style=\"display:none\">hidden words</div>\n",
     "Content-Type: text/html\n\n<div>visible words</div>\n"},
    {"VETO_URL_OBFUSCATED", "Subject: s\n\nvisit hxxp://bad[.]example.com/x now\n",
     "Subject: s\n\nvisit http://good.example.com/x now\n"},
    {"VETO_MIME_BROKEN",
     "Content-Type: multipart/mixed; boundary=zz\n\nno parts at all\n",
     "Content-Type: multipart/mixed; boundary=zz\n\n--zz\n\npart\n--zz--\n"},
    {"VETO_FREE_MONEY", "Subject: s\n\nget free cash here\n", "Subject: s\n\nfree of charge\n"},
    {"VETO_ACT_NOW", "Subject: s\n\nplease order now\n", "Subject: s\n\nnow we order\n"},
    {"VETO_LIMITED_TIME", "Subject: s\n\nlimited time offer\n", "Subject: s\n\nlimited time\n"},
    {"VETO_GUARANTEED", "Subject: s\n\nit is risk-free\n", "Subject: s\n\nit is risky\n"},
    {"VETO_EARN_MONEY", "Subject: s\n\nmake money from home\n", "Subject: s\n\nmake money\n"},
    {"VETO_REMOVE_LIST", "Subject: s\n\nto be removed from this list reply\n",
     "Subject: s\n\nremoved from the table\n"},
    {"VETO_ADVANCE_FEE", "Subject: s\n\nyou are the next of kin\n", "Subject: s\n\nnext of all\n"},
    {"VETO_PHARMA", "Subject: s\n\ncheap viagra\n", "Subject: s\n\ncheap vitamins\n"},
    {"VETO_CLICK_HERE", "Subject: s\n\nclick here\n", "Subject: s\n\nclick there\n"},
    {"VETO_CRYPTO_WALLET", "Subject: s\n\nsend to my bitcoin wallet\n",
     "Subject: s\n\nbitcoin is a currency\n"},
    {"VETO_ACCOUNT_VERIFY", "Subject: s\n\nplease verify your account\n",
     "Subject: s\n\nwe verified the account\n"},
    {"VETO_MANY_DOLLAR_SUMS", "Subject: s\n\n$1,000 and $2,000 and $3,000\n",
     "Subject: s\n\n$1,000 and $2,000\n"},
    {"VETO_URI_NUMERIC_IP", "Subject: s\n\nsee http://192.0.2.1/x\n",
     "Subject: s\n\nsee http://example.com/192.0.2.1\n"},
    {"VETO_URI_SHORTENER", "Subject: s\n\nsee https://bit.ly/abc\n",
     "Subject: s\n\nsee https://example.com/bit.ly\n"},
    {"VETO_URI_EXE", "Subject: s\n\nget http://example.com/setup.exe\n",
     "Subject: s\n\nget http://example.com/setup.html\n"},
    {"VETO_PUSHY_OFFER", "Subject: s\n\norder now! limited time offer, risk-free, click here\n",
     "Subject: s\n\norder now! click here\n"},
    {"VETO_GTUBE",
     "Subject: test\n\nXJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\n",
     "Subject: test\n\nXJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL\n"},
    {"VETO_SMS_WON_PRIZE", "sms:Congratulations you have won a holiday",
     "sms:I think we won the match"},
    {"VETO_SMS_PREMIUM_NUMBER", "sms:call 09061701461 to claim", "sms:call me at 0123"},
    {"VETO_SMS_TEXT_TO_SHORTCODE", "sms:Txt MUSIC to 87066 now", "sms:text me when you get to 5"},
    {"VETO_SMS_STOP", "sms:reply STOP to end", "sms:please stop by later"},
    {"VETO_SMS_PER_MESSAGE_COST", "sms:only 150p/msg", "sms:only 150 people"},
    {"VETO_SMS_URGENT", "sms:URGENT! your number", "sms:it is urgent, call me"},
    {"VETO_SMS_FREE_OFFER", "sms:get a free ringtone", "sms:are you free tonight"},
    {"VETO_SMS_CASH_AMOUNT", "sms:win \xc2\xa3" "1000 cash", "sms:it costs \xc2\xa3" "5"},
    {"VETO_SMS_CALL_NOW", "sms:call now to claim", "sms:call me later"},
    {"VETO_SMS_PRIZE_CALL", "sms:You have won! call now", "sms:You have won! see you"},
};

class DefaultRulesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    set_ = new RuleSet;
    ASSERT_TRUE(LoadRules({std::string(VETO_SOURCE_DIR) + "/rules/default"}, LoadOptions{}, set_)
                    .ok());
    auto r = CompiledRules::Compile(*set_, EngineOptions{}, &report_);
    ASSERT_TRUE(r.ok()) << r.status();
    rules_ = new std::shared_ptr<const CompiledRules>(*r);
  }
  static void TearDownTestSuite() {
    delete rules_;
    delete set_;
  }

  bool Hits(const std::string& rule, const std::string& input) {
    std::unique_ptr<Message> m;
    if (input.starts_with("sms:")) {
      m = std::make_unique<Message>();
      m->channel = Channel::kSms;
      m->sms.text = m->arena().Copy(input.substr(4));
      email::FinishPlainTextMessage(m.get());
    } else {
      auto parsed = email::ParseMessage(input);
      EXPECT_TRUE(parsed.ok());
      m = std::move(*parsed);
    }
    auto scratch = (*rules_)->NewScratch();
    for (auto& [name, v] : (*rules_)->AllHits(*m, scratch.get())) {
      if (name == rule) return true;
    }
    return false;
  }

  static RuleSet* set_;
  static CompileReport report_;
  static std::shared_ptr<const CompiledRules>* rules_;
};

RuleSet* DefaultRulesTest::set_ = nullptr;
CompileReport DefaultRulesTest::report_;
std::shared_ptr<const CompiledRules>* DefaultRulesTest::rules_ = nullptr;

TEST_F(DefaultRulesTest, LoadAndCompileCleanly) {
  for (const RuleError& e : set_->errors) ADD_FAILURE() << e.ToString();
  for (const RuleError& e : report_.problems) ADD_FAILURE() << e.ToString();
  EXPECT_EQ(report_.evals_unsupported, 0u);
}

TEST_F(DefaultRulesTest, EveryReportedRuleHasACase) {
  std::set<std::string> covered;
  for (const Case& c : kCases) covered.insert(c.rule);
  for (const Rule& r : set_->rules) {
    if (r.name.starts_with("__")) continue;
    EXPECT_TRUE(covered.contains(r.name)) << r.name << " has no test case";
  }
}

// An SMS has no Date or Message-ID header: the email-only rules must not score it.
TEST_F(DefaultRulesTest, EmailHeaderRulesSkipSms) {
  EXPECT_FALSE(Hits("VETO_NO_DATE", "sms:see you at noon"));
  EXPECT_FALSE(Hits("VETO_NO_MESSAGE_ID", "sms:see you at noon"));
  EXPECT_TRUE(Hits("__VETO_IS_EMAIL", "Subject: a\n\nb\n"));
  EXPECT_FALSE(Hits("__VETO_IS_EMAIL", "sms:hello"));
}

TEST_F(DefaultRulesTest, HitsAndMisses) {
  for (const Case& c : kCases) {
    EXPECT_TRUE(Hits(c.rule, c.hit)) << c.rule << " should hit: " << c.hit;
    EXPECT_FALSE(Hits(c.rule, c.miss)) << c.rule << " should not hit: " << c.miss;
  }
}

}  // namespace
}  // namespace veto::rules
