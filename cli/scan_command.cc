// `veto scan`, `veto check-rules`, `veto compile`: the rule engine from the command line.
#include <chrono>
#include <map>
#include <optional>
#include <cstdio>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/input.h"
#include "cli/rule_options.h"
#include "core/json.h"
#include "core/strings.h"
#include "email/parser.h"
#include "config/pipeline.h"
#include "policy/decision_json.h"
#include "rules/engine.h"
#include "rules/loader.h"

namespace veto::cli {
namespace {

constexpr char kScanUsage[] =
    "usage: veto scan [--config FILE] [--format text|jsonl] [ENVELOPE] [RULE OPTIONS] PATH...\n"
    "\n"
    "Runs the whole pipeline over RFC 5322 messages: parse, match the rules, decide with the\n"
    "policy. PATH is a file, a directory (recursive), a tar archive (.tar, .tar.gz, .tgz) of\n"
    "messages, or - for standard input.\n"
    "\n"
    "  --format text|jsonl   text (default): one line per message (score, action, rules);\n"
    "                        jsonl: one JSON object per message with id, message_id, score,\n"
    "                        spam, action, rules, flags and decision (the policy's full\n"
    "                        explanation: per-recipient action, deciding layer and rule, every\n"
    "                        hit, the thresholds in force)\n"
    "  --threshold N         score at or above which `spam` is true (default: the lowest\n"
    "                        operator.email threshold, 5 in the defaults)\n"
    "  --all-hits            jsonl: add all_hits, every rule that hit (also __ sub-rules and\n"
    "                        zero-score reporting exclusions) with its value\n"
    "  --now TIME            the time the policy sees (RFC 3339, for quiet hours); default now\n"
    "\n"
    "Envelope (what an MTA would tell the milter; applies to every message scanned):\n"
    "  --rcpt ADDR           a recipient (repeatable); the policy decides per recipient\n"
    "  --mail-from ADDR      the envelope sender\n"
    "  --client-ip IP        the connecting client's address\n"
    "  --helo NAME           the HELO/EHLO name\n";

constexpr char kCheckUsage[] =
    "usage: veto check-rules [RULE OPTIONS] [PATH...]\n"
    "\n"
    "Loads and compiles rule files and reports every problem at once, one per line, as\n"
    "file:line: RULE: problem. PATHs are added after --rules paths. Exit status: 0 no errors,\n"
    "1 errors found (rules that cannot be loaded or compiled), 2 usage error. Eval rules veto\n"
    "does not implement, and patterns only PCRE2 can run, are listed as notes (with --verbose)\n"
    "but are not errors.\n"
    "\n"
    "  --verbose             also list the notes\n"
    "  --list                list every rule: rule, name, type, target, score (tab-separated)\n";

constexpr char kCompileUsage[] =
    "usage: veto compile [RULE OPTIONS]\n"
    "\n"
    "Compiles the rules into Hyperscan databases and prints what was compiled: rule counts,\n"
    "exact and prefiltered patterns, databases, bytes, compile time.\n";

struct LoadedRules {
  rules::RuleSet set;
  rules::CompileReport report;
  std::shared_ptr<const rules::CompiledRules> compiled;
};

// Loads and compiles the rules the configuration asks for. Returns false (after printing why)
// when they cannot be used at all.
bool LoadAndCompile(const config::RulesConfig& rc, const char* cmd, LoadedRules* out) {
  absl::Status s = rules::LoadRules(config::RulePaths(rc), rules::LoadOptions{}, &out->set);
  if (!s.ok()) {
    std::fprintf(stderr, "veto %s: %s\n", cmd, std::string(s.message()).c_str());
    return false;
  }
  auto compiled =
      rules::CompiledRules::Compile(out->set, config::EngineOptionsFor(rc), &out->report);
  if (!compiled.ok()) {
    std::fprintf(stderr, "veto %s: cannot compile rules: %s\n", cmd,
                 std::string(compiled.status().message()).c_str());
    return false;
  }
  out->compiled = *std::move(compiled);
  return true;
}

// The configuration from --config and the rule flags; prints every problem on failure.
bool LoadConfigOrReport(const RuleOptions& ro, const char* cmd, config::Config* out) {
  absl::StatusOr<config::Config> c = ro.Load();
  if (!c.ok()) {
    std::fprintf(stderr, "veto %s: invalid configuration:\n%s\n", cmd,
                 std::string(c.status().message()).c_str());
    return false;
  }
  *out = *std::move(c);
  return true;
}

void PrintReport(const rules::CompileReport& c, size_t files, size_t load_problems, FILE* f) {
  std::fprintf(f,
               "rules: %zu loaded from %zu files, %zu active (score set), %zu metas\n"
               "patterns: %zu exact, %zu prefiltered (PCRE2 confirm), %zu PCRE2 only, %zu counted "
               "(multiple); %zu on RE2 sets\n"
               "evals: %zu native, %zu unsupported (value 0)\n"
               "databases: %zu (%zu from cache), %.1f MB, and %zu RE2 sets; compile %.2f s; load problems %zu, "
               "compile problems %zu\n",
               c.rules_total, files, c.rules_active, c.metas, c.exact, c.prefiltered, c.pcre_only,
               c.counted, c.re2, c.evals_native, c.evals_unsupported, c.databases, c.cache_hits,
               c.database_bytes / 1e6, c.re2_sets, c.compile_seconds, load_problems,
               c.problems.size() - c.evals_unsupported);
}

bool IsUnsupportedEval(const rules::RuleError& e) {
  return e.message.starts_with("eval not supported");
}

}  // namespace

int ScanCommand(const std::vector<std::string>& args) {
  RuleOptions ro;
  std::vector<std::string> paths;
  bool jsonl = false;
  bool all_hits = false;
  std::optional<double> threshold;
  Envelope envelope;
  absl::Time now = absl::Now();
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    std::string error;
    auto value = [&](std::string* out) {
      if (i + 1 >= args.size()) {
        std::fprintf(stderr, "veto scan: %s needs a value\n", a.c_str());
        return false;
      }
      *out = args[++i];
      return true;
    };
    std::string v;
    if (ro.Consume(args, &i, &error)) {
      if (!error.empty()) {
        std::fprintf(stderr, "veto scan: %s\n", error.c_str());
        return 2;
      }
    } else if (a == "--help" || a == "-h") {
      std::printf("%s\nConfiguration and rule options:\n%s", kScanUsage, kRuleOptionsUsage);
      return 0;
    } else if (a == "--format") {
      if (!value(&v)) return 2;
      if (v != "text" && v != "jsonl") {
        std::fprintf(stderr, "veto scan: --format: expected text or jsonl (got '%s')\n", v.c_str());
        return 2;
      }
      jsonl = v == "jsonl";
    } else if (a == "--all-hits") {
      all_hits = true;
    } else if (a == "--threshold") {
      double t = 0;
      if (!value(&v)) return 2;
      if (!ParseDouble(v, &t)) {
        std::fprintf(stderr, "veto scan: --threshold: not a number (got '%s')\n", v.c_str());
        return 2;
      }
      threshold = t;
    } else if (a == "--now") {
      if (!value(&v)) return 2;
      std::string err;
      if (!absl::ParseTime(absl::RFC3339_full, v, &now, &err)) {
        std::fprintf(stderr, "veto scan: --now: not an RFC 3339 time (got '%s')\n", v.c_str());
        return 2;
      }
    } else if (a == "--rcpt") {
      if (!value(&v)) return 2;
      envelope.rcpt_to.push_back(v);
    } else if (a == "--mail-from") {
      if (!value(&envelope.mail_from)) return 2;
    } else if (a == "--client-ip") {
      if (!value(&envelope.client_ip)) return 2;
    } else if (a == "--helo") {
      if (!value(&envelope.helo)) return 2;
    } else if (a.size() > 1 && a[0] == '-') {
      std::fprintf(stderr, "veto scan: unknown option %s\n%s", a.c_str(), kScanUsage);
      return 2;
    } else {
      paths.push_back(a);
    }
  }
  if (paths.empty()) {
    std::fputs(kScanUsage, stderr);
    return 2;
  }
  config::Config cfg;
  if (!LoadConfigOrReport(ro, "scan", &cfg)) return 1;
  if (!threshold) {  // the lowest email threshold row, 5 if there is none
    for (const policy::ThresholdSpec& t : cfg.policy.operator_layer.email.thresholds) {
      if (t.min && (!threshold || *t.min < *threshold)) threshold = *t.min;
    }
    if (!threshold) threshold = 5.0;
  }
  config::BuildReport report;
  auto built = config::Pipeline::Build(cfg, &report);
  if (!built.ok()) {
    std::fprintf(stderr, "veto scan: %s\n", std::string(built.status().message()).c_str());
    return 1;
  }
  std::shared_ptr<const config::Pipeline> pipeline = *std::move(built);
  size_t compile_problems = report.rules.problems.size() - report.rules.evals_unsupported;
  if (report.rule_errors.size() + compile_problems > 0) {
    std::fprintf(stderr,
                 "veto scan: %zu rule problems were skipped (run `veto check-rules` with the same "
                 "options to list them)\n",
                 report.rule_errors.size() + compile_problems);
  }
  for (const std::string& note : report.notes) std::fprintf(stderr, "veto scan: %s\n", note.c_str());
  auto ctx = pipeline->NewContext();
  size_t n = 0, spam = 0, failed = 0;
  std::map<std::string, size_t> actions;
  auto start = std::chrono::steady_clock::now();
  int rc = 0;
  for (const std::string& path : paths) {
    absl::Status s = ForEachMessage(
        path,
        [&](const InputMessage& in) -> absl::Status {
          auto m = pipeline->ParseEmail(in.bytes);
          if (!m.ok()) {
            ++failed;
            std::fprintf(stderr, "veto scan: %s: %s\n", in.name.c_str(),
                         std::string(m.status().message()).c_str());
            return absl::OkStatus();
          }
          (*m)->envelope = envelope;
          config::Verdict v = pipeline->Evaluate(**m, ctx.get(), now);
          const Scores& scores = v.scores;
          ++n;
          bool is_spam = scores.total >= *threshold;
          spam += is_spam;
          std::string action(ActionName(v.decision.action));
          ++actions[action];
          std::string line;
          if (jsonl) {
            JsonWriter w;
            w.BeginObject();
            w.Key("id");
            w.String(in.name);
            if (const Header* mid = (*m)->FirstHeader("Message-ID")) {
              w.Key("message_id");
              w.String(mid->value);
            }
            w.Key("score");
            w.Number(scores.total);
            w.Key("spam");
            w.Bool(is_spam);
            w.Key("action");
            w.String(action);
            w.Key("rules");
            w.BeginArray();
            for (const veto::Match& h : scores.matches) {
              if (!h.hidden) w.String(h.id);
            }
            w.EndArray();
            w.Key("flags");
            w.BeginArray();
            for (std::string_view f : (*m)->flags.Names()) w.String(f);
            w.EndArray();
            w.Key("decision");
            w.BeginObject();
            policy::WriteDecisionFields(v.decision, &w);
            w.EndObject();
            if (all_hits) {
              w.Key("all_hits");
              w.BeginObject();
              for (const auto& [name, value] : pipeline->rules().AllHits(**m, ctx->rule_scratch())) {
                w.Key(name);
                w.Number(value);
              }
              w.EndObject();
            }
            w.EndObject();
            line = w.Take();
          } else {
            std::vector<std::string_view> ids;
            for (const veto::Match& h : scores.matches) {
              if (!h.hidden) ids.push_back(h.id);
            }
            line = Cat(in.name, ": score=", scores.total, is_spam ? " spam" : " ham",
                       " action=", action, " rules=", Join(ids, ","));
          }
          line.push_back('\n');
          std::fwrite(line.data(), 1, line.size(), stdout);
          return absl::OkStatus();
        },
        cfg.limits.parse.max_message_bytes);
    if (!s.ok()) {
      std::fprintf(stderr, "veto scan: %s\n", std::string(s.message()).c_str());
      rc = 1;
    }
  }
  double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::vector<std::string> per_action;
  for (const auto& [a, count] : actions) per_action.push_back(Cat(a, " ", count));
  std::fprintf(stderr,
               "veto scan: %zu messages, %zu spam (score >= %g), %zu failed; actions: %s; %.2f s, "
               "%.0f msgs/s\n",
               n, spam, *threshold, failed, per_action.empty() ? "none" : Join(per_action, ", ").c_str(),
               secs, secs > 0 ? n / secs : 0.0);
  return failed > 0 ? 1 : rc;
}

int CheckRulesCommand(const std::vector<std::string>& args) {
  RuleOptions ro;
  bool verbose = false;
  bool list = false;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string error;
    if (args[i] == "--list") {
      list = true;
    } else if (ro.Consume(args, &i, &error)) {
      if (!error.empty()) {
        std::fprintf(stderr, "veto check-rules: %s\n", error.c_str());
        return 2;
      }
    } else if (args[i] == "--help" || args[i] == "-h") {
      std::printf("%s\nRule options:\n%s", kCheckUsage, kRuleOptionsUsage);
      return 0;
    } else if (args[i] == "--verbose") {
      verbose = true;
    } else if (args[i].size() > 1 && args[i][0] == '-') {
      std::fprintf(stderr, "veto check-rules: unknown option %s\n%s", args[i].c_str(), kCheckUsage);
      return 2;
    } else {
      ro.paths.push_back(args[i]);
    }
  }
  config::Config cfg;
  if (!LoadConfigOrReport(ro, "check-rules", &cfg)) return 1;
  LoadedRules lr;
  if (!LoadAndCompile(cfg.rules, "check-rules", &lr)) return 1;
  size_t errors = 0;
  for (const rules::RuleError& e : lr.set.errors) {
    std::printf("%s\n", e.ToString().c_str());
    ++errors;
  }
  for (const rules::RuleError& e : lr.report.problems) {
    if (IsUnsupportedEval(e)) {
      if (verbose) std::printf("%s (note)\n", e.ToString().c_str());
      continue;
    }
    std::printf("%s\n", e.ToString().c_str());
    ++errors;
  }
  if (verbose) {
    for (const rules::RuleError& e : lr.report.notes) std::printf("%s (note)\n", e.ToString().c_str());
  }
  if (list) {
    // One rule per line: NAME TYPE TARGET, where TARGET is the header spec, the eval call or
    // the meta expression. For tools (the SpamAssassin differential test).
    for (const rules::Rule& r : lr.set.rules) {
      std::string target = r.type == rules::RuleType::kMeta   ? r.meta
                           : r.type == rules::RuleType::kEval ? r.eval_call
                                                              : r.header.name;
      std::printf("rule\t%s\t%s\t%s\t%g\n", r.name.c_str(),
                  std::string(rules::RuleTypeName(r.type)).c_str(), target.c_str(),
                  r.scores[cfg.rules.score_set]);
    }
  }
  PrintReport(lr.report, lr.set.files_read.size(), lr.set.errors.size(), stderr);
  return errors > 0 ? 1 : 0;
}

int CompileCommand(const std::vector<std::string>& args) {
  RuleOptions ro;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string error;
    if (ro.Consume(args, &i, &error)) {
      if (!error.empty()) {
        std::fprintf(stderr, "veto compile: %s\n", error.c_str());
        return 2;
      }
    } else if (args[i] == "--help" || args[i] == "-h") {
      std::printf("%s\nRule options:\n%s", kCompileUsage, kRuleOptionsUsage);
      return 0;
    } else {
      std::fprintf(stderr, "veto compile: unexpected argument %s\n%s", args[i].c_str(),
                   kCompileUsage);
      return 2;
    }
  }
  config::Config cfg;
  if (!LoadConfigOrReport(ro, "compile", &cfg)) return 1;
  LoadedRules lr;
  if (!LoadAndCompile(cfg.rules, "compile", &lr)) return 1;
  PrintReport(lr.report, lr.set.files_read.size(), lr.set.errors.size(), stdout);
  std::printf("scratch: %zu bytes per thread\n", lr.compiled->scratch_bytes());
  return 0;
}

}  // namespace veto::cli
