// veto/mobile/sms_config.h — the [sms] configuration section as mobile/'s option structs.
//
//   absl::StatusOr<config::Config> c = config::LoadConfig(path);
//   SignalOptions so = SignalOptionsFrom(c->sms);
//   FeedOptions fo = FeedOptionsFrom(c->sms, FeedFormat::kTsv);
//
// Thread-safety: pure functions.
#ifndef VETO_MOBILE_SMS_CONFIG_H_
#define VETO_MOBILE_SMS_CONFIG_H_

#include "config/config.h"
#include "mobile/feed.h"
#include "mobile/reassembly.h"
#include "mobile/signals.h"

namespace veto::mobile {

SignalOptions SignalOptionsFrom(const config::SmsConfig& c);
ReassemblyOptions ReassemblyOptionsFrom(const config::SmsConfig& c);
FeedOptions FeedOptionsFrom(const config::SmsConfig& c, FeedFormat format);

}  // namespace veto::mobile

#endif  // VETO_MOBILE_SMS_CONFIG_H_
