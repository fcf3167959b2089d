// veto/classifiers/labelled_text.h — labelled training/evaluation texts (SMS feeds).
//
// `veto train sms`, `veto learn` and `veto eval sms` read messages with a spam/ham label from
// a file in one of three formats:
//
//   tsv    label<TAB>text                 one per line (the SMS Spam Collection's format);
//                                         the text is the rest of the line, tabs included
//   csv    label,text                     RFC 4180: quoted fields, "" inside quotes, line
//                                         breaks inside quotes; more columns are ignored; a
//                                         first row whose label is not a label is a header
//   jsonl  {"label":"spam","text":"..."}  one object per line; "label" may also be a
//                                         number (1 spam, 0 ham) or a boolean (true = spam)
//
// Labels: spam/ham (any case), 1/0. A line that cannot be read is reported in `errors`
// (line number and reason) and skipped; the rest is still read. Input is untrusted: nesting,
// escapes and lengths are bounded, nothing can crash or hang the reader.
//
//   std::vector<LabelledText> texts;
//   std::vector<FeedError> errors;
//   ParseLabelledTexts(bytes, FeedFormat::kTsv, &texts, &errors);
//
// Thread-safety: pure functions.
#ifndef VETO_CLASSIFIERS_LABELLED_TEXT_H_
#define VETO_CLASSIFIERS_LABELLED_TEXT_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace veto::classifiers {

enum class FeedFormat { kTsv, kCsv, kJsonl };

struct LabelledText {
  bool spam = false;
  std::string text;
  size_t line = 0;  // 1-based line where the record starts
};

struct FeedError {
  size_t line = 0;
  std::string message;
};

// Appends the records of `data` to *out and the problems to *errors (at most max_errors
// are kept; the count of all problems is returned).
size_t ParseLabelledTexts(std::string_view data, FeedFormat format, std::vector<LabelledText>* out,
                          std::vector<FeedError>* errors, size_t max_errors = 100);

// The format named by a path's extension (.tsv/.txt -> tsv, .csv, .jsonl/.json/.ndjson), or
// false if the extension says nothing.
bool FeedFormatFromPath(std::string_view path, FeedFormat* format);
// "tsv", "csv", "jsonl" -> format.
bool ParseFeedFormat(std::string_view name, FeedFormat* format);

// Parses "spam"/"ham"/"1"/"0" (ASCII case-insensitive, surrounding whitespace ignored).
bool ParseLabel(std::string_view s, bool* spam);

}  // namespace veto::classifiers

#endif  // VETO_CLASSIFIERS_LABELLED_TEXT_H_
