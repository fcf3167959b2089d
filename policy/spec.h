// veto/policy/spec.h — the policy as plain data: what config/ fills (from TOML) and
// BuildPolicy (policy.h) validates and compiles.
//
// Nothing here is validated or normalised; every field is what an operator wrote. BuildPolicy
// reports every problem at once, each with the key path shown next to the field below
// ("tenants.example_com.deny.domains[2]: not a domain (got \"foo..bar\")"), so config/ can map
// a key path back to file:line.
//
//   PolicySpec spec;
//   spec.operator_layer.deny.ips = {"203.0.113.0/24"};                 // operator.deny.ips
//   spec.operator_layer.spamtraps.addresses = {"trap@example.net"};    // operator.spamtraps...
//   spec.operator_layer.email.thresholds = {{.action = Action::kReject, .min = 15},
//                                           {.action = Action::kTag, .min = 5}};
//   TenantSpec& t = spec.tenants.emplace_back();
//   t.name = "example_com";                                            // tenants.example_com
//   t.domains = {"example.com"};
//   t.email.thresholds = {{.action = Action::kQuarantine, .min = 8}};  // adds/overrides a row
//   absl::StatusOr<std::shared_ptr<const Policy>> p = BuildPolicy(spec);
//
// The layers, their order and what inherits from what are described in policy.h.
#ifndef VETO_POLICY_SPEC_H_
#define VETO_POLICY_SPEC_H_

#include <optional>
#include <string>
#include <vector>

#include "core/decision.h"
#include "policy/content.h"

namespace veto::policy {

// An action with its side effect. Key: "<...>.action" / "<...>.report".
struct ActionSpec {
  Action action = Action::kAccept;
  bool report = false;  // also report the message (spam reporting / peer sharing)
};

// One action per channel; unset means "inherit" (or the documented default).
struct ChannelActions {
  std::optional<ActionSpec> email;  // key: <...>.email
  std::optional<ActionSpec> sms;    // key: <...>.sms
};

// Sender identities (or, for spamtraps, recipient identities). Keys: <list>.addresses[i] ...
struct IdentityListSpec {
  std::vector<std::string> addresses;    // "user@example.com"; envelope MAIL FROM and header From
  std::vector<std::string> domains;      // "example.com": the domain and all its subdomains,
                                         // of MAIL FROM and of the From header
  std::vector<std::string> ips;          // client IP: "192.0.2.1", "192.0.2.0/24", "2001:db8::/32"
  std::vector<std::string> helos;        // HELO/EHLO name, exact (case-insensitive)
  std::vector<std::string> msisdns;      // E.164 "+15551234567", prefix "+1900*", wildcard
                                         // "+44770090012?" ('?' = one digit)
  std::vector<std::string> short_codes;  // "7726"
  std::vector<std::string> sender_ids;   // alphanumeric "MyBank" or prefix "PROMO*",
                                         // case-insensitive

  bool empty() const {
    return addresses.empty() && domains.empty() && ips.empty() && helos.empty() &&
           msisdns.empty() && short_codes.empty() && sender_ids.empty();
  }
};

// A keyword/phrase rule. Key: <layer>.keywords[i]. It either decides (`action`) or adds
// `score` to the recipient's score; exactly one of the two must be set.
struct KeywordRuleSpec {
  std::string id;                      // .id: unique within the layer; shown in decisions
  std::vector<std::string> phrases;    // .phrases[j]: case-insensitive substrings
  TextField field = TextField::kText;  // .field
  std::optional<ActionSpec> action;    // .action: per channel it must fit (see `channel`)
  double score = 0;                    // .score
  std::optional<Channel> channel;      // .channel: only messages of this channel; unset = both
};

// A regex rule (RE2 syntax; untrusted, compiled with RegexLimits). Key: <layer>.regexes[i].
struct RegexRuleSpec {
  std::string id;                      // .id
  std::string pattern;                 // .pattern
  TextField field = TextField::kText;  // .field
  std::optional<ActionSpec> action;    // .action
  double score = 0;                    // .score
  std::optional<Channel> channel;      // .channel
};

// One row of a score → action table. Key: <...>.thresholds[i]. Rows are identified by their
// action: a tenant row with the same action replaces the operator's row, a row with a new
// action is added, and a row with no `min` removes the inherited row.
struct ThresholdSpec {
  Action action = Action::kAccept;  // .action
  std::optional<double> min;        // .min: the row applies when score >= min
  bool report = false;              // .report
};

// Score handling for one channel. Keys: operator.email / operator.sms / tenants.<t>.email ...
struct ChannelSpec {
  std::vector<ThresholdSpec> thresholds;     // operator: the table; tenant: overrides by action
  std::optional<ActionSpec> default_action;  // below every row; default accept / deliver
};

// An SMTP reply. Key: <...>.reject_reply / .tempfail_reply, with .code/.enhanced_code/.text.
struct SmtpReplySpec {
  std::string code;           // "550" (reject: 5xx; tempfail: 4xx)
  std::string enhanced_code;  // "5.7.1" (same class digit as `code`); may be empty
  std::string text;           // printable ASCII, no CR/LF
};

// How email actions are carried out. Every field is optional: a tenant's value overrides the
// operator's, the operator's overrides the built-in default. Key: <...>.email_actions.
struct EmailActionsSpec {
  std::optional<std::string> flag_header;       // "X-Spam-Flag" (value "YES"); "" = none
  std::optional<std::string> score_header;      // "X-Spam-Score" (value "7.50"); "" = none
  std::optional<std::string> report_header;     // "X-Spam-Report" (the explanation); "" = none
  std::optional<std::string> subject_prefix;    // "[SPAM] "
  std::optional<std::string> redirect_to;       // spam mailbox; required if `redirect` is used
  std::optional<SmtpReplySpec> reject_reply;    // 550 5.7.1 Message rejected as spam
  std::optional<SmtpReplySpec> tempfail_reply;  // 451 4.7.1 Try again later
};

// How SMS actions are carried out. Key: <...>.sms_actions.
struct SmsActionsSpec {
  std::optional<std::string> tag_prefix;  // text prefix for `tag`: "[SPAM] "
};

// What every layer (operator, tenant) has. Keys relative to the layer.
struct LayerSpec {
  IdentityListSpec allow;                 // .allow: senders let through (see policy.h for order)
  IdentityListSpec deny;                  // .deny: senders refused
  ChannelActions deny_action;             // .deny_action: default reject / block (tenant: inherit)
  std::vector<KeywordRuleSpec> keywords;  // .keywords
  std::vector<RegexRuleSpec> regexes;     // .regexes
};

// Consent (X.1247): without it only metadata rules run for a recipient.
struct ConsentSpec {
  bool email_required = false;   // .email_required: email content needs consent
  bool sms_required = true;      // .sms_required: SMS content needs consent
  bool default_consent = false;  // .default: consent of recipients nobody said anything about
};

// The operator (global) layer. Key: "operator".
struct OperatorSpec : LayerSpec {
  IdentityListSpec spamtraps;        // .spamtraps: recipient addresses/domains/MSISDNs
  ChannelActions spamtrap_action;    // .spamtrap_action: default discard+report / block+report
  ChannelSpec email;                 // .email: thresholds and default action
  ChannelSpec sms;                   // .sms
  EmailActionsSpec email_actions;    // .email_actions
  SmsActionsSpec sms_actions;        // .sms_actions
  ConsentSpec consent;               // .consent
  ChannelActions subscriber_action;  // .subscriber_action: subscriber block list / keyword /
                                     // regex hits; default quarantine / hold
  ChannelActions quiet_action;       // .quiet_action: default quarantine / hold
  ChannelActions fail_action;        // .fail_action: subscriber store error; default
                                     // tempfail / deliver
  std::string time_zone = "UTC";     // .time_zone: for subscribers without one
  std::string default_country_code;  // .default_country_code: digits, for national MSISDNs
  RegexLimits regex_limits;          // .regex_limits: operator and tenant regexes
};

// A tenant: an email domain (or several), or an SMS operator account / enterprise / MVNO.
// Key: "tenants.<name>".
struct TenantSpec : LayerSpec {
  std::string name;                          // the <name> in key paths; unique; [A-Za-z0-9_.-]
  std::vector<std::string> domains;          // .domains: recipient domains (and subdomains)
  std::vector<std::string> msisdn_prefixes;  // .msisdn_prefixes: recipient number ranges
                                             // "+4477009*" (SMS subscribers may also name
                                             // their tenant directly)
  std::optional<bool> consent;               // .consent: default consent of its recipients
  ChannelSpec email;                         // .email: overrides of the operator's table
  ChannelSpec sms;                           // .sms
  EmailActionsSpec email_actions;            // .email_actions: overrides, field by field
  SmsActionsSpec sms_actions;                // .sms_actions
  std::string time_zone;                     // .time_zone: default zone of its subscribers
};

// Quiet hours of one subscriber (X.1242 "time period"). Key: subscribers.<key>.quiet.
struct QuietHoursSpec {
  std::string window;                // .window: "22:00-07:00" in the subscriber's zone
  std::string days = "mon-sun";      // .days: days a window starts on
  std::optional<ActionSpec> action;  // .action: default operator.quiet_action
  bool allowlist_bypasses = true;    // .allowlist_bypasses: allow-listed senders get through
};

// One subscriber (a mailbox or an MSISDN) with X.1242 user-specified rules. At operator scale
// these come from files (subscriber_store.h); a few can be added with Builder::Add(spec).
// Key: "subscribers.<key>".
struct SubscriberSpec {
  std::string key;                      // "+15551230000" (SMS) or "user@example.com" (email)
  std::string tenant;                   // .tenant: tenant name; empty = by domain / number range
  bool enabled = true;                  // .enabled: the on/off switch of the subscriber's rules
  std::optional<bool> consent;          // .consent: unset = the tenant's / operator's default
  std::string time_zone;                // .time_zone: IANA name; empty = tenant's / operator's
  IdentityListSpec allow;               // .allow: always delivered (except operator hard rules)
  IdentityListSpec deny;                // .deny: block list
  std::vector<std::string> keywords;    // .keywords[i]: phrases (content: needs consent)
  std::vector<std::string> regexes;     // .regexes[i]: RE2 patterns (content: needs consent)
  std::optional<ActionSpec> action;     // .action: for deny/keyword/regex hits; default
                                        // operator.subscriber_action
  std::optional<QuietHoursSpec> quiet;  // .quiet
};

// The whole policy. Subscribers live in a SubscriberStore (subscriber_store.h), loaded from
// files or built from SubscriberSpecs, handed to BuildPolicy next to this spec.
struct PolicySpec {
  OperatorSpec operator_layer;      // key "operator"
  std::vector<TenantSpec> tenants;  // key "tenants.<name>"
};

// One problem found while validating a spec or a subscriber file:
//   path    = "tenants.example_com.deny.domains[2]"   (or "subs.tsv:12: subscribers.+1555...")
//   problem = "not a domain (got \"foo..bar\")"
struct SpecProblem {
  std::string path;
  std::string problem;

  std::string ToString() const { return path.empty() ? problem : path + ": " + problem; }
};

}  // namespace veto::policy

#endif  // VETO_POLICY_SPEC_H_
