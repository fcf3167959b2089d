#include "cli/classifier_input.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/input.h"
#include "config/paths.h"
#include "core/strings.h"
#include "email/parser.h"

namespace veto::cli {

const char kTrainFlagsUsage[] =
    "  --kind nb|lr|combined  which model gives the probability: Naive Bayes, logistic\n"
    "                         regression, or the mean log-odds of both (default lr for\n"
    "                         email, combined for SMS)\n"
    "  --name ID              the id the model reports under (default BAYES_EMAIL /\n"
    "                         CLASSIFIER_SMS)\n"
    "  --bits N               feature space 2^N (default 19 email, 17 SMS)\n"
    "  --epochs N             logistic-regression passes (default 10)\n"
    "  --no-bigrams           no word bigrams\n"
    "  --no-header-words      email: only From domain, mailer and MIME structure from the\n"
    "                         headers, not every header's name and value words\n"
    "  --char-ngram N         byte n-grams inside words, 0 = off (default 4 SMS, 0 email)\n"
    "  --char-ngram-min-word N  n-grams only for words of >= N bytes and words mixing\n"
    "                         letters and digits; 0 = every word (default 8)\n"
    "  --alpha X, --l1 X, --l2 X   FTRL-Proximal learning rate and regularisation\n";

std::string DefaultModelPath(Channel channel) {
  return config::DefaultModelsDir() + (channel == Channel::kEmail ? "/email.model" : "/sms.model");
}

void TrainFlags::SetChannel(Channel channel) {
  options.tokenizer = channel == Channel::kEmail ? classifiers::TokenizerOptions::Email()
                                                 : classifiers::TokenizerOptions::Sms();
  options.name = channel == Channel::kEmail ? "BAYES_EMAIL" : "CLASSIFIER_SMS";
  // Per-channel default model, chosen by 5-fold cross-validation on the dev corpora
  // (classifiers/README.md): logistic regression for email, NB + LR combined for SMS.
  options.params.kind =
      channel == Channel::kEmail ? classifiers::ModelKind::kLogistic : classifiers::ModelKind::kCombined;
}

bool TrainFlags::Consume(const std::vector<std::string>& args, size_t* i, std::string* error) {
  const std::string& a = args[*i];
  auto value = [&](std::string* out) {
    if (*i + 1 >= args.size()) {
      *error = Cat(a, " needs a value");
      return false;
    }
    *out = args[++*i];
    return true;
  };
  auto number = [&](double lo, double hi, double* out) {
    std::string v;
    if (!value(&v)) return;
    if (!ParseDouble(v, out) || *out < lo || *out > hi) {
      *error = Cat(a, ": expected a number in ", lo, "..", hi, " (got '", v, "')");
    }
  };
  auto integer = [&](long long lo, long long hi, uint32_t* out) {
    std::string v;
    long long n = 0;
    if (!value(&v)) return;
    if (!ParseInt(v, &n) || n < lo || n > hi) {
      *error = Cat(a, ": expected an integer in ", lo, "..", hi, " (got '", v, "')");
      return;
    }
    *out = static_cast<uint32_t>(n);
  };
  classifiers::ModelParams& p = options.params;
  if (a == "--kind") {
    std::string v;
    if (value(&v) && !classifiers::ParseModelKind(v, &p.kind)) {
      *error = Cat("--kind: expected nb, lr or combined (got '", v, "')");
    }
  } else if (a == "--name") {
    value(&options.name);
  } else if (a == "--bits") {
    integer(10, 24, &options.tokenizer.feature_bits);
  } else if (a == "--epochs") {
    integer(0, 1000, &p.epochs);
  } else if (a == "--no-header-words") {
    options.tokenizer.header_words = false;
  } else if (a == "--no-bigrams") {
    options.tokenizer.word_bigrams = false;
  } else if (a == "--char-ngram") {
    integer(0, 8, &options.tokenizer.char_ngram);
    if (options.tokenizer.char_ngram == 1) *error = "--char-ngram: expected 0 or 2..8";
  } else if (a == "--char-ngram-min-word") {
    integer(0, 41, &options.tokenizer.char_ngram_min_word);
  } else if (a == "--alpha") {
    number(1e-6, 1e3, &p.ftrl_alpha);
  } else if (a == "--l1") {
    number(0, 1e3, &p.ftrl_l1);
  } else if (a == "--l2") {
    number(0, 1e3, &p.ftrl_l2);
  } else {
    return false;
  }
  return true;
}

std::unique_ptr<Message> SmsMessage(std::string_view text) {
  auto m = std::make_unique<Message>();
  m->channel = Channel::kSms;
  m->sms.text = m->arena().Copy(text);
  email::FinishPlainTextMessage(m.get());
  return m;
}

absl::Status ForEachEmail(const std::vector<std::string>& paths, bool spam,
                          const LabelledMessageFn& fn, size_t* count) {
  email::ParseOptions po;
  for (const std::string& path : paths) {
    absl::Status s = ForEachMessage(
        path,
        [&](const InputMessage& in) -> absl::Status {
          auto m = email::ParseMessage(in.bytes, po);
          if (!m.ok()) {
            return absl::InvalidArgumentError(Cat(in.name, ": ", m.status().message()));
          }
          ++*count;
          return fn(**m, spam, in.name);
        },
        po.max_message_bytes);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

namespace {
absl::Status ReadWholeFile(const std::string& path, std::string* out) {
  if (path == "-") {
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    *out = ss.str();
    return absl::OkStatus();
  }
  std::ifstream f(path, std::ios::binary);
  if (!f) return absl::NotFoundError(Cat(path, ": cannot open"));
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) return absl::UnavailableError(Cat(path, ": read error"));
  *out = ss.str();
  return absl::OkStatus();
}
}  // namespace

bool ParseChannelArg(const char* cmd, const std::string& arg, const char* usage, Channel* out) {
  if (arg == "email" || arg == "sms") {
    *out = arg == "email" ? Channel::kEmail : Channel::kSms;
    return true;
  }
  std::fprintf(stderr, "veto %s: expected email or sms (got '%s')\n%s", cmd, arg.c_str(), usage);
  return false;
}

bool ForEachLabelled(const char* cmd, Channel channel, const std::vector<std::string>& ham,
                     const std::vector<std::string>& spam, const std::string& input,
                     const std::string& format, const LabelledMessageFn& fn) {
  if (channel == Channel::kEmail) {
    size_t n = 0;
    for (bool is_spam : {false, true}) {
      absl::Status s = ForEachEmail(is_spam ? spam : ham, is_spam, fn, &n);
      if (!s.ok()) {
        std::fprintf(stderr, "veto %s: %s\n", cmd, std::string(s.message()).c_str());
        return false;
      }
    }
    return true;
  }
  std::vector<classifiers::LabelledText> texts;
  size_t bad = 0;
  absl::Status s = ReadFeed(input, format, &texts, &bad);
  if (!s.ok()) {
    std::fprintf(stderr, "veto %s: %s\n", cmd, std::string(s.message()).c_str());
    return false;
  }
  if (bad > 0) std::fprintf(stderr, "veto %s: %zu bad lines skipped\n", cmd, bad);
  for (const auto& t : texts) (void)fn(*SmsMessage(t.text), t.spam, Cat(input, ":", t.line));
  return true;
}

absl::Status ReadFeed(const std::string& path, const std::string& format,
                      std::vector<classifiers::LabelledText>* out, size_t* bad_lines) {
  classifiers::FeedFormat f = classifiers::FeedFormat::kTsv;
  if (!format.empty()) {
    if (!classifiers::ParseFeedFormat(format, &f)) {
      return absl::InvalidArgumentError(Cat("--format: expected tsv, csv or jsonl (got '", format, "')"));
    }
  } else {
    classifiers::FeedFormatFromPath(path, &f);
  }
  std::string data;
  absl::Status s = ReadWholeFile(path, &data);
  if (!s.ok()) return s;
  std::vector<classifiers::FeedError> errors;
  size_t n = classifiers::ParseLabelledTexts(data, f, out, &errors, 20);
  for (const auto& e : errors) std::fprintf(stderr, "%s:%zu: %s\n", path.c_str(), e.line, e.message.c_str());
  if (n > errors.size()) std::fprintf(stderr, "%s: %zu more bad lines\n", path.c_str(), n - errors.size());
  *bad_lines += n;
  return absl::OkStatus();
}

absl::Status ReadLines(const std::string& path, std::vector<std::string>* out) {
  std::string data;
  absl::Status s = ReadWholeFile(path, &data);
  if (!s.ok()) return s;
  for (std::string_view line : Split(data, '\n')) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!StripWhitespace(line).empty()) out->emplace_back(line);
  }
  return absl::OkStatus();
}

}  // namespace veto::cli
