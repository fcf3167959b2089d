// Helpers for the classifiers tests: messages built the way the normalisers build them.
#ifndef VETO_TESTS_CLASSIFIERS_TEST_UTIL_H_
#define VETO_TESTS_CLASSIFIERS_TEST_UTIL_H_

#include <memory>
#include <string_view>

#include "core/message.h"
#include "email/parser.h"

namespace veto::classifiers::testing {

inline std::unique_ptr<Message> Sms(std::string_view text) {
  auto m = std::make_unique<Message>();
  m->channel = Channel::kSms;
  m->sms.text = m->arena().Copy(text);
  email::FinishPlainTextMessage(m.get());
  return m;
}

inline std::unique_ptr<Message> Email(std::string_view raw) {
  return std::move(*email::ParseMessage(raw));
}

}  // namespace veto::classifiers::testing

#endif  // VETO_TESTS_CLASSIFIERS_TEST_UTIL_H_
