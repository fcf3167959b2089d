// veto/cli/classifier_input.h — what `veto train`, `veto learn` and `veto eval` share: the
// training flags, reading labelled email and SMS into tokenised examples (optionally scoring
// each message with the rules on the way), and the default model paths.
#ifndef VETO_CLI_CLASSIFIER_INPUT_H_
#define VETO_CLI_CLASSIFIER_INPUT_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "classifiers/labelled_text.h"
#include "classifiers/tokenizer.h"
#include "classifiers/trainer.h"
#include "core/message.h"

namespace veto::cli {

// config::DefaultModelsDir() + "/email.model" or "/sms.model" (the bundled models;
// $VETO_MODELS_DIR overrides the directory).
std::string DefaultModelPath(Channel channel);

// Flags that shape a model: --kind, --name, --bits, --epochs, --no-bigrams, --char-ngram,
// --l1, --l2, --alpha.
struct TrainFlags {
  classifiers::TrainOptions options;
  // Consumes a flag at args[*i]; false if it is not one. Sets *error for a bad value.
  bool Consume(const std::vector<std::string>& args, size_t* i, std::string* error);
  // Defaults for a channel (call before Consume).
  void SetChannel(Channel channel);
};
extern const char kTrainFlagsUsage[];

// The channel word that starts `veto train|eval ...`: "email" or "sms". Otherwise prints
// "veto CMD: expected email or sms (got 'ARG')" and the usage to stderr and returns false.
bool ParseChannelArg(const char* cmd, const std::string& arg, const char* usage, Channel* out);

// A message made from SMS text, normalised as mobile/ does (email::FinishPlainTextMessage).
std::unique_ptr<Message> SmsMessage(std::string_view text);

// Called with each normalised message, its label and its name (path, archive:member or
// feed:line); returns an error to stop.
using LabelledMessageFn =
    std::function<absl::Status(const Message&, bool spam, const std::string& name)>;

// Email: every message under each path (file, directory, tar archive). Messages are parsed
// with email::ParseMessage.
absl::Status ForEachEmail(const std::vector<std::string>& paths, bool spam,
                          const LabelledMessageFn& fn, size_t* count);

// Reads a labelled feed (format from `format`, else the extension, else tsv); problems with
// single lines are printed to stderr as `path:line: problem` and counted in *bad_lines.
absl::Status ReadFeed(const std::string& path, const std::string& format,
                      std::vector<classifiers::LabelledText>* out, size_t* bad_lines);

// Every labelled message of a training or evaluation corpus, in order: email — the `ham`
// then the `spam` paths (ForEachEmail); SMS — the labelled feed `input` (ReadFeed), each
// text normalised with SmsMessage. Problems are printed as "veto CMD: ..." (skipped feed
// lines counted); returns false when the corpus cannot be read.
bool ForEachLabelled(const char* cmd, Channel channel, const std::vector<std::string>& ham,
                     const std::vector<std::string>& spam, const std::string& input,
                     const std::string& format, const LabelledMessageFn& fn);

// Reads a file of one SMS text per line (for `veto learn --spam/--ham` on an SMS model).
absl::Status ReadLines(const std::string& path, std::vector<std::string>* out);

}  // namespace veto::cli

#endif  // VETO_CLI_CLASSIFIER_INPUT_H_
