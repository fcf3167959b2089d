// veto/core/message_json.h — a Message as JSON: what `veto parse` prints, so an operator can
// see exactly what the rules will see (headers, part tree, text fields, URIs, flags).
//
//   std::string json = MessageToJson(message, {.indent = 2});
//
// Thread-safety: reads the Message only.
#ifndef VETO_CORE_MESSAGE_JSON_H_
#define VETO_CORE_MESSAGE_JSON_H_

#include <string>
#include <string_view>

#include "core/message.h"

namespace veto {

struct MessageJsonOptions {
  int indent = 2;              // 0: one line (JSON Lines)
  bool include_full = false;   // the raw message text can be large; off by default
  bool include_decoded = false;  // each leaf's transfer-decoded bytes
  std::string_view source;       // if set, written first as "source" (file or archive member)
};

std::string MessageToJson(const Message& message, const MessageJsonOptions& options = {});

}  // namespace veto

#endif  // VETO_CORE_MESSAGE_JSON_H_
