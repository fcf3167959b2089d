// veto/core/json_line.h — reads one JSON Lines object into flat key/value pairs.
//
// The JSONL feeds, report feeds and intelligence files veto reads are flat objects of
// strings, numbers and booleans (a nested object such as "concat": {"ref": 7} flattens to the
// key "concat.ref"). This is a strict RFC 8259 parser for exactly that: no allocation beyond
// the decoded strings, bounded depth, every error with its byte offset. Arrays are accepted
// and skipped (their key maps to kArray with no value), so producers may add fields.
//
//   std::vector<JsonField> fields;
//   absl::Status s = ParseJsonLine(R"({"text":"hi","concat":{"seq":2}})", &fields);
//   // fields: {"text", kString, "hi"}, {"concat.seq", kNumber, "2"}
//
// Thread-safety: pure function.
#ifndef VETO_CORE_JSON_LINE_H_
#define VETO_CORE_JSON_LINE_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace veto {

struct JsonField {
  enum Type : uint8_t { kString, kNumber, kBool, kNull, kArray };
  std::string key;    // dotted path for nested objects
  Type type = kNull;
  std::string value;  // string: decoded UTF-8; number: as written; bool: "true"/"false"
};

// Parses `line` (one JSON object, surrounding whitespace allowed) into `fields` (what it held
// is replaced; its elements' memory is reused, so pass the same vector line after line).
// Errors (InvalidArgument): "invalid JSON at byte N: expected ':'" and the like;
// "JSON nesting deeper than 16"; "not a JSON object". Invalid UTF-8 inside strings is
// replaced by U+FFFD (*replaced set), not an error: feeds in the wild have it.
absl::Status ParseJsonLine(std::string_view line, std::vector<JsonField>* fields,
                           bool* replaced = nullptr);

}  // namespace veto

#endif  // VETO_CORE_JSON_LINE_H_
