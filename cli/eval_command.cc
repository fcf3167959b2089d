// `veto eval email|sms`: how good is a model (or the training recipe, by k-fold
// cross-validation), alone and next to the rules.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "classifiers/classifier.h"
#include "classifiers/evaluation.h"
#include "classifiers/trainer.h"
#include "cli/classifier_input.h"
#include "cli/commands.h"
#include "cli/rule_options.h"
#include "config/config.h"
#include "config/pipeline.h"
#include "core/strings.h"
#include "rules/engine.h"
#include "rules/loader.h"

namespace veto::cli {
namespace {

using classifiers::ScoredLabel;

constexpr char kUsage[] =
    "usage: veto eval email [--model MODEL | --cv K] --ham PATH... --spam PATH... [OPTIONS]\n"
    "       veto eval sms [--model MODEL | --cv K] --input FEED [--format tsv|csv|jsonl] [OPTIONS]\n"
    "\n"
    "Measures a classifier on labelled messages: precision, recall, F1, false-positive rate\n"
    "and accuracy at the threshold, ROC AUC, the confusion matrix, and a threshold table (the\n"
    "best spam recall with a ham false-positive rate of at most 0.1%, 0.2%, 0.5%, 1%).\n"
    "With --model (default: the bundled model of the channel) the model is tested as is; with\n"
    "--cv K the messages are split into K stratified folds and each fold is scored by a model\n"
    "trained on the other K-1 (MODEL OPTIONS as for `veto train`).\n"
    "\n"
    "  --threshold P         P(spam) at or above which a message counts as spam (default 0.5)\n"
    "  --plot FILE.svg       write ROC curves and score histograms as SVG\n"
    "  --with-rules          also score every message with the rules (RULE OPTIONS as for\n"
    "                        `veto scan`) and report rules alone, classifier alone and both\n"
    "                        together (rule score + the classifier's score as --config maps\n"
    "                        it: [classifiers.*] points_per_logodds, max/min_score); with --cv\n"
    "                        also a combination with learned weights (nested CV)\n"
    "  --rules-threshold N   score at or above which rules / combined count as spam (default 5)\n"
    "  --scores FILE         write one line per message: label, P(spam)[, rule score], name\n"
    "\n"
    "Model options (--cv):\n";

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

struct Item {
  std::vector<uint32_t> features;
  bool spam = false;
  double rule_score = 0;
  std::string name;
};

void PrintBlock(const char* title, const std::vector<ScoredLabel>& s, double threshold) {
  classifiers::BinaryMetrics m = classifiers::MetricsAt(s, threshold);
  std::printf("%s (spam iff score >= %g)\n", title, threshold);
  std::printf("  precision %.4f  recall %.4f  F1 %.4f  FPR %.4f%%  accuracy %.4f  ROC AUC %.5f\n",
              m.precision, m.recall, m.f1, 100 * m.fpr, m.accuracy, classifiers::RocAuc(s));
  std::printf("  confusion matrix      predicted spam  predicted ham\n");
  std::printf("    actual spam %6zu  %14zu  %13zu\n", m.tp + m.fn, m.tp, m.fn);
  std::printf("    actual ham  %6zu  %14zu  %13zu\n", m.fp + m.tn, m.fp, m.tn);
  std::printf("  threshold table       max FPR  threshold      recall   FPR (false positives)\n");
  for (double fpr : {0.001, 0.002, 0.005, 0.01}) {
    classifiers::OperatingPoint op = classifiers::RecallAtFpr(s, fpr);
    std::printf("                        %5.1f%%  %9.6g  %10.4f   %.3f%% (%zu)\n", 100 * fpr,
                op.threshold, op.recall, 100 * op.fpr, op.fp);
  }
}

}  // namespace

int EvalCommand(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::fprintf(args.empty() ? stderr : stdout, "%s%s\nRule options (--with-rules):\n%s", kUsage,
                 kTrainFlagsUsage, kRuleOptionsUsage);
    return args.empty() ? 2 : 0;
  }
  Channel channel;
  if (!ParseChannelArg("eval", args[0], kUsage, &channel)) return 2;
  TrainFlags flags;
  flags.SetChannel(channel);
  RuleOptions ro;
  std::vector<std::string> ham, spam;
  std::string model_path, input, format, plot, scores_path;
  int cv = 0;
  bool with_rules = false;
  double threshold = 0.5, rules_threshold = 5.0;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    std::string error;
    bool has_value = i + 1 < args.size();
    if (flags.Consume(args, &i, &error) || ro.Consume(args, &i, &error)) {
      if (!error.empty()) {
        std::fprintf(stderr, "veto eval: %s\n", error.c_str());
        return 2;
      }
    } else if (a == "--help" || a == "-h") {
      std::printf("%s%s\nRule options (--with-rules):\n%s", kUsage, kTrainFlagsUsage,
                  kRuleOptionsUsage);
      return 0;
    } else if (a == "--ham" && has_value && channel == Channel::kEmail) {
      ham.push_back(args[++i]);
    } else if (a == "--spam" && has_value && channel == Channel::kEmail) {
      spam.push_back(args[++i]);
    } else if (a == "--input" && has_value && channel == Channel::kSms) {
      input = args[++i];
    } else if (a == "--format" && has_value && channel == Channel::kSms) {
      format = args[++i];
    } else if (a == "--model" && has_value) {
      model_path = args[++i];
    } else if (a == "--cv" && has_value) {
      long long k = 0;
      if (!ParseInt(args[++i], &k) || k < 2 || k > 100) {
        std::fprintf(stderr, "veto eval: --cv: expected 2..100 folds (got '%s')\n", args[i].c_str());
        return 2;
      }
      cv = static_cast<int>(k);
    } else if (a == "--threshold" && has_value) {
      if (!ParseDouble(args[++i], &threshold)) {
        std::fprintf(stderr, "veto eval: --threshold: not a number (got '%s')\n", args[i].c_str());
        return 2;
      }
    } else if (a == "--rules-threshold" && has_value) {
      if (!ParseDouble(args[++i], &rules_threshold)) {
        std::fprintf(stderr, "veto eval: --rules-threshold: not a number (got '%s')\n", args[i].c_str());
        return 2;
      }
    } else if (a == "--plot" && has_value) {
      plot = args[++i];
    } else if (a == "--scores" && has_value) {
      scores_path = args[++i];
    } else if (a == "--with-rules") {
      with_rules = true;
    } else {
      std::fprintf(stderr, "veto eval: unexpected argument %s\n%s", a.c_str(), kUsage);
      return 2;
    }
  }
  if (channel == Channel::kEmail ? ham.empty() || spam.empty() : input.empty()) {
    std::fprintf(stderr, "veto eval: missing %s\n%s",
                 channel == Channel::kEmail ? "--ham/--spam" : "--input", kUsage);
    return 2;
  }
  if (cv > 0 && !model_path.empty()) {
    std::fprintf(stderr, "veto eval: give --model or --cv, not both\n");
    return 2;
  }

  // Rules, if asked for.
  classifiers::ClassifierOptions copts;
  std::shared_ptr<const rules::CompiledRules> compiled;
  std::unique_ptr<rules::MatchScratch> scratch;
  if (with_rules) {
    absl::StatusOr<config::Config> cfg = ro.Load();
    if (!cfg.ok()) {
      std::fprintf(stderr, "veto eval: invalid configuration:\n%s\n",
                   std::string(cfg.status().message()).c_str());
      return 1;
    }
    // The classifier's score as the configured pipeline maps it, so "rules + classifier" is
    // the pipeline's own sum.
    const config::ClassifierConfig& cc =
        channel == Channel::kEmail ? cfg->email_classifier : cfg->sms_classifier;
    copts.points_per_logodds = cc.points_per_logodds;
    copts.max_score = cc.max_score;
    copts.min_score = cc.min_score;
    rules::RuleSet set;
    absl::Status s = rules::LoadRules(config::RulePaths(cfg->rules), rules::LoadOptions{}, &set);
    if (!s.ok()) {
      std::fprintf(stderr, "veto eval: %s\n", std::string(s.message()).c_str());
      return 1;
    }
    auto c = rules::CompiledRules::Compile(set, config::EngineOptionsFor(cfg->rules));
    if (!c.ok()) {
      std::fprintf(stderr, "veto eval: cannot compile rules: %s\n",
                   std::string(c.status().message()).c_str());
      return 1;
    }
    compiled = *c;
    scratch = compiled->NewScratch();
  }

  // The model under test (not for --cv) fixes the tokenizer.
  std::shared_ptr<const classifiers::Classifier> model;
  if (cv == 0) {
    if (model_path.empty()) model_path = DefaultModelPath(channel);
    copts.check_channel = true;
    copts.channel = channel;
    auto c = classifiers::LoadClassifier(model_path, copts);
    if (!c.ok()) {
      std::fprintf(stderr, "veto eval: %s\n", std::string(c.status().message()).c_str());
      return 1;
    }
    model = *c;
  }
  classifiers::Tokenizer tok(model ? model->tokenizer().options() : flags.options.tokenizer);

  // Read and tokenise every message once.
  auto start = std::chrono::steady_clock::now();
  std::vector<Item> items;
  classifiers::FeatureSet fs;
  double rules_s = 0;
  auto add = [&](const Message& m, bool is_spam, const std::string& name) {
    tok.Tokenize(m, &fs);
    Item it{fs.features(), is_spam, 0, name};
    if (compiled) {
      auto t = std::chrono::steady_clock::now();
      Scores sc;
      compiled->Match(m, scratch.get(), &sc);
      it.rule_score = sc.total;
      rules_s += Seconds(t);
    }
    items.push_back(std::move(it));
    return absl::OkStatus();
  };
  if (!ForEachLabelled("eval", channel, ham, spam, input, format, add)) return 1;
  double read_s = Seconds(start) - rules_s;
  size_t nspam = 0;
  for (const Item& it : items) nspam += it.spam;
  if (nspam == 0 || nspam == items.size()) {
    std::fprintf(stderr, "veto eval: need both spam and ham (got %zu spam, %zu ham)\n", nspam,
                 items.size() - nspam);
    return 1;
  }

  // Classifier probabilities.
  std::vector<double> prob(items.size(), 0.5);
  std::vector<double> mapped(items.size(), 0);
  double train_s = 0;
  std::printf("veto eval %s: %zu messages (%zu spam, %zu ham); ", args[0].c_str(), items.size(),
              nspam, items.size() - nspam);
  if (cv == 0) {
    std::printf("model %s (%s, trained on %llu spam + %llu ham)\n", model_path.c_str(),
                std::string(classifiers::ModelKindName(model->kind())).c_str(),
                static_cast<unsigned long long>(model->spam_messages()),
                static_cast<unsigned long long>(model->ham_messages()));
    for (size_t i = 0; i < items.size(); ++i) {
      prob[i] = model->Probability(items[i].features);
      mapped[i] = model->ScoreFor(prob[i]);
    }
  } else {
    std::printf("%d-fold stratified cross-validation, model %s\n", cv,
                std::string(classifiers::ModelKindName(flags.options.params.kind)).c_str());
    std::vector<classifiers::Example> examples(items.size());
    std::vector<bool> labels(items.size());
    for (size_t i = 0; i < items.size(); ++i) {
      examples[i].features = items[i].features;
      examples[i].spam = labels[i] = items[i].spam;
    }
    std::vector<int> fold = classifiers::StratifiedFolds(labels, cv);
    for (int f = 0; f < cv; ++f) {
      std::vector<size_t> train_idx, test_idx;
      for (size_t i = 0; i < items.size(); ++i) (fold[i] == f ? test_idx : train_idx).push_back(i);
      auto t = std::chrono::steady_clock::now();
      auto data = classifiers::Train(examples, train_idx, flags.options);
      if (!data.ok()) {
        std::fprintf(stderr, "veto eval: fold %d: %s\n", f, std::string(data.status().message()).c_str());
        return 1;
      }
      auto c = classifiers::Classifier::Create(*data, copts);
      train_s += Seconds(t);
      if (!c.ok()) {
        std::fprintf(stderr, "veto eval: fold %d: %s\n", f, std::string(c.status().message()).c_str());
        return 1;
      }
      std::vector<ScoredLabel> fs_scored;
      for (size_t i : test_idx) {
        prob[i] = (*c)->Probability(items[i].features);
        mapped[i] = (*c)->ScoreFor(prob[i]);
        fs_scored.push_back({prob[i], items[i].spam});
      }
      auto op = classifiers::RecallAtFpr(fs_scored, 0.002);
      std::printf("  fold %d: %zu messages, ROC AUC %.5f, recall %.4f at FPR <= 0.2%%\n", f,
                  test_idx.size(), classifiers::RocAuc(fs_scored), op.recall);
    }
  }
  std::printf("  time: read + normalise + tokenise %.2f s%s, train %.2f s%s\n", read_s,
              compiled ? Cat(", rules ", rules_s, " s").c_str() : "", train_s,
              cv ? Cat(" (", cv, " models)").c_str() : "");

  // Rules and classifier combined with learned weights (--cv with --with-rules): for each
  // outer fold, the weights are fitted on the other folds, whose classifier probabilities
  // come from an inner cross-validation, so no score used for fitting or testing comes from
  // a model that saw the message.
  std::vector<double> stacked;
  if (compiled && cv > 0) {
    std::vector<classifiers::Example> examples(items.size());
    std::vector<bool> labels(items.size());
    for (size_t i = 0; i < items.size(); ++i) {
      examples[i].features = items[i].features;
      examples[i].spam = labels[i] = items[i].spam;
    }
    std::vector<int> fold = classifiers::StratifiedFolds(labels, cv);
    stacked.assign(items.size(), 0);
    std::printf("  learned combination (rules * a + classifier log-odds * b + c; nested CV):\n");
    for (int f = 0; f < cv; ++f) {
      std::vector<size_t> outer_train;
      std::vector<bool> outer_labels;
      for (size_t i = 0; i < items.size(); ++i) {
        if (fold[i] != f) {
          outer_train.push_back(i);
          outer_labels.push_back(items[i].spam);
        }
      }
      std::vector<int> inner = classifiers::StratifiedFolds(outer_labels, cv - 1, 2);
      std::vector<classifiers::StackingExample> fit(outer_train.size());
      for (int g = 0; g < cv - 1; ++g) {
        std::vector<size_t> tr;
        for (size_t k = 0; k < outer_train.size(); ++k) {
          if (inner[k] != g) tr.push_back(outer_train[k]);
        }
        auto data = classifiers::Train(examples, tr, flags.options);
        if (!data.ok()) {
          std::fprintf(stderr, "veto eval: %s\n", std::string(data.status().message()).c_str());
          return 1;
        }
        auto c = classifiers::Classifier::Create(*data, copts);
        for (size_t k = 0; k < outer_train.size(); ++k) {
          if (inner[k] != g) continue;
          const Item& it = items[outer_train[k]];
          fit[k] = {it.rule_score, (*c)->Probability(it.features), it.spam};
        }
      }
      classifiers::Stacking st = classifiers::FitStacking(fit);
      for (size_t i = 0; i < items.size(); ++i) {
        if (fold[i] == f) stacked[i] = st.Apply(items[i].rule_score, prob[i]);
      }
      std::string note = st.rules > 0
                             ? Cat("classifier worth ", st.classifier / st.rules,
                                   " rule points per unit of log-odds")
                             : std::string("rule weight not positive: the rules add nothing here");
      std::printf("    fold %d: a %.3f  b %.3f  c %.3f  (%s)\n", f, st.rules, st.classifier,
                  st.bias, note.c_str());
    }
  }

  std::vector<ScoredLabel> cls, rul, comb, learned;
  for (size_t i = 0; i < items.size(); ++i) {
    cls.push_back({prob[i], items[i].spam});
    rul.push_back({items[i].rule_score, items[i].spam});
    comb.push_back({items[i].rule_score + mapped[i], items[i].spam});
    if (!stacked.empty()) learned.push_back({stacked[i], items[i].spam});
  }
  std::printf("\n");
  PrintBlock("classifier", cls, threshold);
  std::vector<classifiers::Curve> curves = {{"classifier", cls}};
  if (compiled) {
    std::printf("\n");
    PrintBlock("rules", rul, rules_threshold);
    std::printf("\n");
    PrintBlock("rules + classifier", comb, rules_threshold);
    curves.push_back({"rules", rul});
    curves.push_back({"rules + classifier", comb});
    if (!learned.empty()) {
      std::printf("\n");
      PrintBlock("rules + classifier, learned weights (log-odds)", learned, 0.0);
      curves.push_back({"learned combination", learned});
    }
    std::printf("\nsummary                 precision  recall     F1      FPR   ROC AUC  recall@FPR<=0.2%%\n");
    struct Row { const char* name; const std::vector<ScoredLabel>* s; double t; };
    std::vector<Row> rows = {Row{"classifier", &cls, threshold}, Row{"rules", &rul, rules_threshold},
                             Row{"rules + classifier", &comb, rules_threshold}};
    if (!learned.empty()) rows.push_back(Row{"learned combination", &learned, 0.0});
    for (const Row& r : rows) {
      auto m = classifiers::MetricsAt(*r.s, r.t);
      std::printf("  %-20s  %8.4f  %6.4f  %6.4f  %6.3f%%  %7.5f  %.4f\n", r.name, m.precision,
                  m.recall, m.f1, 100 * m.fpr, classifiers::RocAuc(*r.s),
                  classifiers::RecallAtFpr(*r.s, 0.002).recall);
    }
  }
  if (!plot.empty()) {
    std::ofstream f(plot);
    f << classifiers::PlotSvg(curves, Cat("veto eval ", args[0], cv ? Cat(" (", cv, "-fold CV)") : ""));
    if (!f) {
      std::fprintf(stderr, "veto eval: %s: cannot write\n", plot.c_str());
      return 1;
    }
    std::fprintf(stderr, "veto eval: wrote %s\n", plot.c_str());
  }
  if (!scores_path.empty()) {
    std::ofstream f(scores_path);
    for (size_t i = 0; i < items.size(); ++i) {
      f << (items[i].spam ? "spam" : "ham") << '\t' << prob[i];
      if (compiled) f << '\t' << items[i].rule_score;
      f << '\t' << items[i].name << '\n';
    }
  }
  return 0;
}

}  // namespace veto::cli
