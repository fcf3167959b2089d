// Fuzzes the labelled-feed reader (classifiers/labelled_text.h) in all three formats and the
// tokenizer over what it yields (normalised as the SMS path does).
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "classifiers/labelled_text.h"
#include "classifiers/tokenizer.h"
#include "email/parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace veto::classifiers;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  static const Tokenizer sms(TokenizerOptions::Sms());
  static const Tokenizer email(TokenizerOptions::Email());
  FeatureSet fs;
  for (FeedFormat f : {FeedFormat::kTsv, FeedFormat::kCsv, FeedFormat::kJsonl}) {
    std::vector<LabelledText> texts;
    std::vector<FeedError> errors;
    ParseLabelledTexts(bytes, f, &texts, &errors, 10);
    if (errors.size() > 10) __builtin_trap();
    for (size_t i = 0; i < texts.size() && i < 8; ++i) {
      veto::Message m;
      m.channel = veto::Channel::kSms;
      m.sms.text = m.arena().Copy(texts[i].text);
      veto::email::FinishPlainTextMessage(&m);
      sms.Tokenize(m, &fs);
    }
  }
  // The raw bytes as an email too (header tokens, MIME structure).
  auto m = veto::email::ParseMessage(bytes);
  if (m.ok()) email.Tokenize(**m, &fs);
  return 0;
}
