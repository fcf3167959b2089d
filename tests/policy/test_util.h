// Helpers for policy tests: small email/SMS Messages and Scores built by hand.
#ifndef VETO_TESTS_POLICY_TEST_UTIL_H_
#define VETO_TESTS_POLICY_TEST_UTIL_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "core/match.h"
#include "core/message.h"

namespace veto::policy::testing {

struct EmailMsg {
  std::string mail_from = "sender@example.org";
  std::vector<std::string> rcpt = {"user@example.com"};
  std::string client_ip = "192.0.2.10";
  std::string helo = "mail.example.org";
  std::string from_header;  // empty: no From header
  std::string subject;      // empty: no Subject header
  std::string body;         // also the normalised body (lower-cased ASCII)
};

inline std::string LowerAscii(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return s;
}

inline std::unique_ptr<Message> MakeEmail(const EmailMsg& e) {
  auto m = std::make_unique<Message>();
  m->channel = Channel::kEmail;
  m->envelope.mail_from = e.mail_from;
  m->envelope.rcpt_to = e.rcpt;
  m->envelope.client_ip = e.client_ip;
  m->envelope.helo = e.helo;
  if (!e.from_header.empty()) {
    std::string_view v = m->arena().Copy(e.from_header);
    m->all_headers.push_back({"From", v, v});
  }
  if (!e.subject.empty()) {
    std::string_view v = m->arena().Copy(e.subject);
    m->all_headers.push_back({"Subject", v, v});
  }
  std::string body = e.subject.empty() ? e.body : e.subject + "\n" + e.body;
  m->body = m->arena().Copy(body);
  m->normalized_body = m->arena().Copy(LowerAscii(body));
  return m;
}

struct SmsMsg {
  std::string sender = "+15557654321";
  std::string recipient = "+15551230000";
  std::string text;
  bool normalized = true;  // fill normalized_body (as email::FinishPlainTextMessage does)
};

inline std::unique_ptr<Message> MakeSms(const SmsMsg& s) {
  auto m = std::make_unique<Message>();
  m->channel = Channel::kSms;
  m->sms.sender = m->arena().Copy(s.sender);
  m->sms.recipient = m->arena().Copy(s.recipient);
  m->sms.text = m->arena().Copy(s.text);
  m->body = m->sms.text;
  if (s.normalized) m->normalized_body = m->arena().Copy(LowerAscii(s.text));
  return m;
}

// Evidence: ids must outlive the Scores (string literals do).
inline Scores MakeScores(std::vector<std::pair<const char*, double>> hits,
                         MatchKind kind = MatchKind::kRule) {
  Scores s;
  for (const auto& [id, score] : hits) s.Add({.id = id, .score = score, .count = 1, .kind = kind});
  return s;
}

inline absl::Time Utc(int y, int mo, int d, int h, int mi) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, 0), absl::UTCTimeZone());
}

// A fixed instant used where time does not matter: Wednesday 2024-06-12 12:00 UTC.
inline absl::Time Noon() { return Utc(2024, 6, 12, 12, 0); }

}  // namespace veto::policy::testing

#endif  // VETO_TESTS_POLICY_TEST_UTIL_H_
