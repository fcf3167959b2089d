#include "mobile/sms_config.h"

namespace veto::mobile {

SignalOptions SignalOptionsFrom(const config::SmsConfig& c) {
  SignalOptions o;
  o.rate_window_seconds = c.rate_window_seconds;
  o.rate_threshold = static_cast<uint32_t>(c.rate_threshold);
  o.rate_score = c.rate_score;
  o.dispersion_window_seconds = c.dispersion_window_seconds;
  o.dispersion_threshold = static_cast<uint32_t>(c.dispersion_threshold);
  o.dispersion_score = c.dispersion_score;
  o.duplicate_window_seconds = c.duplicate_window_seconds;
  o.duplicate_threshold = static_cast<uint32_t>(c.duplicate_threshold);
  o.duplicate_score = c.duplicate_score;
  o.duplicate_max_distance = c.duplicate_max_distance;
  o.duplicate_min_words = c.duplicate_min_words;
  o.spamtraps = c.spamtraps;
  o.spamtrap_score = c.spamtrap_score;
  o.spamtrap_weight = c.spamtrap_weight;
  o.listed_domains = c.listed_domains;
  o.listed_numbers = c.listed_numbers;
  o.url_score = c.url_score;
  o.callback_score = c.callback_score;
  o.report_threshold = c.report_threshold;
  o.reported_sender_score = c.reported_sender_score;
  o.reported_content_score = c.reported_content_score;
  o.default_reporter_weight = c.default_reporter_weight;
  o.reporter_weights = c.reporter_weights;
  o.report_dedup_seconds = c.report_dedup_seconds;
  o.intel_ttl_seconds = c.intel_ttl_seconds;
  o.max_senders = c.max_senders;
  o.max_fingerprints = c.max_fingerprints;
  o.max_intel = c.max_intel;
  o.idle_expiry_seconds = c.idle_expiry_seconds;
  return o;
}

ReassemblyOptions ReassemblyOptionsFrom(const config::SmsConfig& c) {
  ReassemblyOptions o;
  o.timeout_seconds = c.concat_timeout_seconds;
  o.max_groups = c.concat_max_groups;
  o.max_bytes = c.concat_max_bytes;
  return o;
}

FeedOptions FeedOptionsFrom(const config::SmsConfig& c, FeedFormat format) {
  FeedOptions o;
  o.format = format;
  o.max_record_bytes = c.max_record_bytes;
  o.max_text_bytes = c.max_text_bytes;
  return o;
}

}  // namespace veto::mobile
