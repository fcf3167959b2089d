// `veto train email|sms` and `veto learn`: build a model from labelled messages, and update
// one with user feedback.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "classifiers/classifier.h"
#include "classifiers/model.h"
#include "classifiers/trainer.h"
#include "cli/classifier_input.h"
#include "cli/commands.h"
#include "core/strings.h"

namespace veto::cli {
namespace {

constexpr char kTrainUsage[] =
    "usage: veto train email --ham PATH... --spam PATH... -o MODEL [MODEL OPTIONS]\n"
    "       veto train sms --input FILE [--format tsv|csv|jsonl] -o MODEL [MODEL OPTIONS]\n"
    "\n"
    "Trains a classifier and writes it to MODEL. Email PATHs are raw RFC 5322 messages: a\n"
    "file, a directory (recursive) or a tar archive (.tar.gz); --ham and --spam take one\n"
    "path each and may be repeated. The SMS input is a labelled feed: TSV label<TAB>text, CSV\n"
    "label,text or JSON Lines {\"label\":..., \"text\":...}; labels spam/ham or 1/0.\n"
    "\n"
    "Model options:\n";

constexpr char kLearnUsage[] =
    "usage: veto learn [--model MODEL] [--spam PATH...] [--ham PATH...] [--input FEED]\n"
    "                  [--format tsv|csv|jsonl] [-o OUT]\n"
    "\n"
    "Adds labelled messages to a model (the user-feedback loop): Naive Bayes counts are\n"
    "updated exactly, logistic weights take one gradient step per message. MODEL defaults to\n"
    "the bundled email model; OUT defaults to MODEL (rewritten atomically).\n"
    "For an email model, PATHs are messages (file, directory, tar archive); for an SMS model,\n"
    "text files with one message per line. --input adds a labelled SMS feed.\n";

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

void PrintModelSummary(const classifiers::ModelData& m, const std::string& path, double tokenise_s,
                       double train_s) {
  auto c = classifiers::Classifier::Create(m, classifiers::ClassifierOptions{});
  std::string bytes = classifiers::SerializeModel(m);
  std::fprintf(stderr,
               "veto train: %s: %s model '%s' (%s), %llu spam + %llu ham messages, %zu features "
               "of 2^%u; tokenise %.2f s, train %.2f s; %.1f KB on disk, %.1f MB in memory\n",
               path.c_str(), m.tokenizer.channel == Channel::kEmail ? "email" : "sms",
               m.name.c_str(), std::string(classifiers::ModelKindName(m.params.kind)).c_str(),
               static_cast<unsigned long long>(m.spam_messages),
               static_cast<unsigned long long>(m.ham_messages), m.entries.size(),
               m.tokenizer.feature_bits, tokenise_s, train_s, bytes.size() / 1024.0,
               c.ok() ? (*c)->memory_bytes() / 1048576.0 : 0.0);
}

}  // namespace

int TrainCommand(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::fprintf(args.empty() ? stderr : stdout, "%s%s", kTrainUsage, kTrainFlagsUsage);
    return args.empty() ? 2 : 0;
  }
  Channel channel;
  if (!ParseChannelArg("train", args[0], kTrainUsage, &channel)) return 2;
  TrainFlags flags;
  flags.SetChannel(channel);
  std::vector<std::string> ham, spam;
  std::string input, format, out;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    std::string error;
    bool has_value = i + 1 < args.size();
    if (flags.Consume(args, &i, &error)) {
      if (!error.empty()) {
        std::fprintf(stderr, "veto train: %s\n", error.c_str());
        return 2;
      }
    } else if (a == "--help" || a == "-h") {
      std::printf("%s%s", kTrainUsage, kTrainFlagsUsage);
      return 0;
    } else if (a == "--ham" && has_value && channel == Channel::kEmail) {
      ham.push_back(args[++i]);
    } else if (a == "--spam" && has_value && channel == Channel::kEmail) {
      spam.push_back(args[++i]);
    } else if (a == "--input" && has_value && channel == Channel::kSms) {
      input = args[++i];
    } else if (a == "--format" && has_value && channel == Channel::kSms) {
      format = args[++i];
    } else if ((a == "-o" || a == "--output") && has_value) {
      out = args[++i];
    } else {
      std::fprintf(stderr, "veto train: unexpected argument %s\n%s", a.c_str(), kTrainUsage);
      return 2;
    }
  }
  if (out.empty() || (channel == Channel::kEmail ? ham.empty() || spam.empty() : input.empty())) {
    std::fprintf(stderr, "veto train: missing %s\n%s",
                 out.empty() ? "-o MODEL" : channel == Channel::kEmail ? "--ham/--spam" : "--input",
                 kTrainUsage);
    return 2;
  }
  auto start = std::chrono::steady_clock::now();
  classifiers::Tokenizer tok(flags.options.tokenizer);
  classifiers::FeatureSet fs;
  std::vector<classifiers::Example> examples;
  auto add = [&](const Message& m, bool is_spam, const std::string&) {
    tok.Tokenize(m, &fs);
    examples.push_back({fs.features(), is_spam});
    return absl::OkStatus();
  };
  if (!ForEachLabelled("train", channel, ham, spam, input, format, add)) return 1;
  double tokenise_s = Seconds(start);
  start = std::chrono::steady_clock::now();
  auto model = classifiers::Train(examples, classifiers::AllIndices(examples.size()), flags.options);
  if (!model.ok()) {
    std::fprintf(stderr, "veto train: %s\n", std::string(model.status().message()).c_str());
    return 1;
  }
  double train_s = Seconds(start);
  absl::Status s = classifiers::WriteModelFile(out, *model);
  if (!s.ok()) {
    std::fprintf(stderr, "veto train: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  PrintModelSummary(*model, out, tokenise_s, train_s);
  return 0;
}

int LearnCommand(const std::vector<std::string>& args) {
  std::string model_path = DefaultModelPath(Channel::kEmail), out, input, format;
  std::vector<std::string> spam, ham;
  std::vector<std::string>* current = nullptr;  // after --spam / --ham: where PATHs go
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    bool has_value = i + 1 < args.size();
    if (a == "--help" || a == "-h") {
      std::fputs(kLearnUsage, stdout);
      return 0;
    } else if (a == "--model" && has_value) {
      model_path = args[++i];
      current = nullptr;
    } else if (a == "--spam" && has_value) {
      spam.push_back(args[++i]);
      current = &spam;
    } else if (a == "--ham" && has_value) {
      ham.push_back(args[++i]);
      current = &ham;
    } else if (current != nullptr && !a.starts_with("-")) {
      current->push_back(a);
    } else if (a == "--input" && has_value) {
      input = args[++i];
      current = nullptr;
    } else if (a == "--format" && has_value) {
      format = args[++i];
    } else if ((a == "-o" || a == "--output") && has_value) {
      out = args[++i];
    } else {
      std::fprintf(stderr, "veto learn: unexpected argument %s\n%s", a.c_str(), kLearnUsage);
      return 2;
    }
  }
  if (spam.empty() && ham.empty() && input.empty()) {
    std::fprintf(stderr, "veto learn: nothing to learn (give --spam, --ham or --input)\n%s", kLearnUsage);
    return 2;
  }
  if (out.empty()) out = model_path;
  auto model = classifiers::ReadModelFile(model_path);
  if (!model.ok()) {
    std::fprintf(stderr, "veto learn: %s\n", std::string(model.status().message()).c_str());
    return 1;
  }
  classifiers::Tokenizer tok(model->tokenizer);
  classifiers::FeatureSet fs;
  size_t learned_spam = 0, learned_ham = 0;
  auto learn = [&](const Message& m, bool is_spam, const std::string&) {
    tok.Tokenize(m, &fs);
    classifiers::Learn(&*model, fs.features(), is_spam);
    ++(is_spam ? learned_spam : learned_ham);
    return absl::OkStatus();
  };
  absl::Status s;
  if (model->tokenizer.channel == Channel::kEmail) {
    if (!input.empty()) {
      std::fprintf(stderr, "veto learn: --input is for SMS models; %s is an email model\n",
                   model_path.c_str());
      return 2;
    }
    size_t n = 0;
    s = ForEachEmail(spam, true, learn, &n);
    if (s.ok()) s = ForEachEmail(ham, false, learn, &n);
  } else {
    for (bool is_spam : {true, false}) {
      for (const std::string& p : is_spam ? spam : ham) {
        std::vector<std::string> lines;
        s = ReadLines(p, &lines);
        if (!s.ok()) break;
        for (const std::string& l : lines) (void)learn(*SmsMessage(l), is_spam, p);
      }
      if (!s.ok()) break;
    }
    if (s.ok() && !input.empty()) {
      std::vector<classifiers::LabelledText> texts;
      size_t bad = 0;
      s = ReadFeed(input, format, &texts, &bad);
      for (const auto& t : texts) (void)learn(*SmsMessage(t.text), t.spam, input);
    }
  }
  if (!s.ok()) {
    std::fprintf(stderr, "veto learn: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  s = classifiers::WriteModelFile(out, *model);
  if (!s.ok()) {
    std::fprintf(stderr, "veto learn: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  std::fprintf(stderr, "veto learn: %s: learned %zu spam and %zu ham; model now has %llu spam + %llu ham\n",
               out.c_str(), learned_spam, learned_ham,
               static_cast<unsigned long long>(model->spam_messages),
               static_cast<unsigned long long>(model->ham_messages));
  return 0;
}

}  // namespace veto::cli
