// veto/config/config.h — the configuration: one TOML file (plus includes), validated whole.
//
// Every key has a default, so veto runs with no file at all (`LoadConfig("")`). Loading
// checks everything and reports every problem at once, one per line, as
//
//   veto.toml:12: rules.score_set: out of range (got 7, expected 0..3)
//   conf.d/tenants.toml:3: tenants.example_com.emial: unknown key (did you mean "email"?)
//
// Usage:
//
//   absl::StatusOr<config::Config> c = config::LoadConfig("/etc/veto/veto.toml");
//   if (!c.ok()) { fputs(std::string(c.status().message()).c_str(), stderr); return 1; }
//   absl::StatusOr<std::shared_ptr<const config::Pipeline>> p = config::Pipeline::Build(*c);
//
// The keys, their defaults and meaning are documented in config/veto.toml (the shipped,
// fully commented file); this header mirrors them field by field. The policy part
// (`operator`, `tenants`, `subscribers`) fills a policy::PolicySpec (policy/spec.h), whose
// comments give each field's key path.
//
// Includes: a top-level `include = ["conf.d/*.toml", "extra.toml"]` (paths relative to the
// including file; `*` globs in the last component, expanded in name order; a directory means
// every *.toml in it) loads further files after the including one. Tables merge; a key set
// in two files is an error naming both places; include cycles are errors. Subscriber files
// (`subscribers.files`) are TSV files in policy/subscriber_store.h's format, loaded by
// Pipeline::Build, not here.
//
// Thread-safety: a Config is plain data.
#ifndef VETO_CONFIG_CONFIG_H_
#define VETO_CONFIG_CONFIG_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "email/parser.h"
#include "policy/spec.h"

namespace veto::config {

// [rules]
struct RulesConfig {
  bool default_rules = true;       // rules.default_rules: load veto's bundled rules first
  std::vector<std::string> paths;  // rules.paths: rule files/directories, in order
  int score_set = 0;               // rules.score_set: SpamAssassin score set 0..3
  int compile_budget_ms = 250;     // rules.compile_budget_ms: EngineOptions::compile_budget_ms
  int confirm_budget = 5000;       // rules.confirm_budget: PCRE2 calls per message
                                   // (rules::EngineOptions::confirm_budget)
  std::string cache_dir;           // rules.cache_dir: "" = $VETO_CACHE_DIR / ~/.cache/veto;
                                   // "none" = no cache
};

// [limits] — what the parser keeps of a message (email::ParseOptions) and the scan deadline.
struct LimitsConfig {
  email::ParseOptions parse;     // limits.message_bytes, .headers, .parts, .depth, ...
  int scan_timeout_ms = 10000;   // limits.scan_timeout_ms: per message (daemon)
};

// [classifiers.email] / [classifiers.sms]
struct ClassifierConfig {
  bool enabled = true;  // .enabled (used only if a model file exists)
  std::string model;    // .model: path; "" = the bundled default model for the channel
  std::string id;       // .id: name shown in decisions; "" = the model's own
  double points_per_logodds = 4.0;  // .points_per_logodds: score = this * ln(P / (1 - P))
  double max_score = 0;             // .max_score: cap on the score; 0 = none
  double min_score = 0;             // .min_score: floor (negative); 0 = none
};

// [daemon] — vetod.
struct DaemonConfig {
  std::string listen = "inet:11332@127.0.0.1";  // daemon.listen: inet:PORT@HOST or unix:PATH
  std::string socket_mode = "0660";             // daemon.socket_mode (unix sockets)
  std::string socket_user;                      // daemon.socket_user: owner ("" = unchanged)
  std::string socket_group;                     // daemon.socket_group
  std::string user;                             // daemon.user: drop privileges to this user
  std::string group;                            // daemon.group
  std::string pid_file;                         // daemon.pid_file ("" = none)
  std::string fail_mode = "tempfail";           // daemon.fail_mode: tempfail | accept
  uint64_t max_message_bytes = 32u << 20;       // daemon.max_message_bytes: size cap
  std::string oversize_action = "skip";         // daemon.oversize_action: skip | tempfail
  std::string oversize_header = "X-Veto-Skipped";  // daemon.oversize_header
  std::string log = "syslog";                   // daemon.log: syslog | stderr
  std::string syslog_facility = "mail";         // daemon.syslog_facility
  std::string metrics_listen = "127.0.0.1:11334";  // daemon.metrics_listen ("" = off)
  bool tcp_nodelay = true;                      // daemon.tcp_nodelay
  int threads = 0;                              // daemon.threads: scan workers (0 = one per CPU)
};

// [sms] — the SMS channel (mobile/): feeds, concatenated parts, behaviour signals, reports,
// Redis. mobile/sms_config.h turns it into mobile's option structs.
struct SmsConfig {
  size_t max_record_bytes = 65536;   // sms.max_record_bytes: a longer feed record is an error
  size_t max_text_bytes = 16384;     // sms.max_text_bytes: longer texts are truncated
  int64_t concat_timeout_seconds = 600;  // sms.concat_timeout_seconds (feed time)
  size_t concat_max_groups = 10000;      // sms.concat_max_groups: messages waiting for parts
  size_t concat_max_bytes = 16u << 20;   // sms.concat_max_bytes: text held in waiting parts
  // Signals ([sms.signals] in veto.toml documents each).
  int64_t rate_window_seconds = 60;
  int64_t rate_threshold = 30;
  double rate_score = 2.0;
  int64_t dispersion_window_seconds = 3600;
  int64_t dispersion_threshold = 50;
  double dispersion_score = 2.5;
  int64_t duplicate_window_seconds = 3600;
  int64_t duplicate_threshold = 20;
  double duplicate_score = 2.0;
  int duplicate_max_distance = 3;
  int duplicate_min_words = 4;
  std::vector<std::string> spamtraps;
  double spamtrap_score = 5.0;
  double spamtrap_weight = 1.0;
  std::vector<std::string> listed_domains;
  std::vector<std::string> listed_numbers;
  double url_score = 3.0;
  double callback_score = 3.0;
  double report_threshold = 1.0;
  double reported_sender_score = 3.0;
  double reported_content_score = 2.5;
  double default_reporter_weight = 1.0;
  std::vector<std::pair<std::string, double>> reporter_weights;  // [sms.reporter_weights]
  int64_t report_dedup_seconds = 86400;
  int64_t intel_ttl_seconds = 7 * 86400;
  size_t max_senders = 1000000;
  size_t max_fingerprints = 1000000;
  size_t max_intel = 1000000;
  int64_t idle_expiry_seconds = 86400;
  // Redis ([sms.redis]): shared behaviour state and the stream consumer.
  std::string redis_url;             // sms.redis.url: "" = state in process
  std::string redis_prefix = "veto:";  // sms.redis.prefix: key prefix
  int64_t redis_timeout_ms = 2000;   // sms.redis.timeout_ms: connect / command timeout
};

struct Config {
  std::vector<std::string> files;  // the files loaded, in order (empty: defaults only)
  RulesConfig rules;
  LimitsConfig limits;
  ClassifierConfig email_classifier;  // [classifiers.email]
  ClassifierConfig sms_classifier;    // [classifiers.sms]
  policy::PolicySpec policy;          // [operator], [tenants.*]
  std::vector<policy::SubscriberSpec> subscribers;  // [subscribers."<key>"] (a few inline)
  std::vector<std::string> subscriber_files;        // subscribers.files (relative to the file)
  DaemonConfig daemon;
  SmsConfig sms;
};

// The configuration with no file: every key at its default (as config/veto.toml states them).
Config DefaultConfig();

// Reads and validates `path` and its includes. `path` empty: the defaults. Errors:
//   NotFound          the file (or an include) cannot be read: "FILE: cannot read: reason"
//   InvalidArgument   every problem, one "file:line: key.path: problem" per line
// Policy problems (BuildPolicy's checks) are reported here too, mapped to file:line.
absl::StatusOr<Config> LoadConfig(const std::string& path);

// Parses TOML text as if read from `name` (tests, fuzzing). Includes are resolved relative to
// `name`'s directory.
absl::StatusOr<Config> ParseConfig(std::string_view text, const std::string& name);

}  // namespace veto::config

#endif  // VETO_CONFIG_CONFIG_H_
