#include "core/message.h"

#include <array>

namespace veto {
namespace {

constexpr std::array<std::string_view, static_cast<size_t>(MessageFlag::kCount_)> kFlagNames = {
    "mbox_from_line",      "crlf",
    "eight_bit_headers",   "malformed_header",
    "encoded_word_error",  "missing_boundary",
    "missing_final_boundary", "bad_base64",
    "bad_quoted_printable", "unknown_encoding",
    "unknown_charset",     "charset_guessed",
    "invalid_bytes_replaced", "html_invisible_text",
    "html_tiny_font",      "html_color_match",
    "url_obfuscated",      "idn_host",
    "limit_message_size",  "limit_header_count",
    "limit_header_length", "limit_parts",
    "limit_depth",         "limit_decoded_size",
    "limit_uris",
};

}  // namespace

std::string_view FlagName(MessageFlag flag) {
  auto i = static_cast<size_t>(flag);
  return i < kFlagNames.size() ? kFlagNames[i] : std::string_view("unknown");
}

std::vector<std::string_view> Flags::Names() const {
  std::vector<std::string_view> names;
  for (size_t i = 0; i < kFlagNames.size(); ++i) {
    if (Has(static_cast<MessageFlag>(i))) names.push_back(kFlagNames[i]);
  }
  return names;
}

std::string_view UriSourceName(UriSource source) {
  switch (source) {
    case UriSource::kText: return "text";
    case UriSource::kHtmlLink: return "html_link";
    case UriSource::kHtmlResource: return "html_resource";
    case UriSource::kHtmlForm: return "html_form";
    case UriSource::kHtmlOther: return "html_other";
  }
  return "unknown";
}

void Message::Reset() {
  channel = Channel::kEmail;
  envelope.client_ip.clear();
  envelope.client_host.clear();
  envelope.helo.clear();
  envelope.mail_from.clear();
  envelope.rcpt_to.clear();
  envelope.queue_id.clear();
  envelope.auth_user.clear();
  sms = SmsFields();
  full = {};
  all_headers.clear();
  parts.clear();
  body = {};
  body_elements.clear();
  rawbody_elements.clear();
  normalized_body = {};
  uris.clear();
  flags = Flags();
  header_count = 0;
  arena_.Reset();
}

std::vector<Header> Message::Headers() const {
  if (parts.empty()) return all_headers;
  return {all_headers.begin() + parts[0].header_begin, all_headers.begin() + parts[0].header_end};
}

std::vector<const Header*> Message::GetHeaders(std::string_view name) const {
  std::vector<const Header*> out;
  uint32_t end = parts.empty() ? all_headers.size() : parts[0].header_end;
  for (uint32_t i = 0; i < end; ++i) {
    if (EqualsIgnoreCase(all_headers[i].name, name)) out.push_back(&all_headers[i]);
  }
  return out;
}

const Header* Message::FirstHeader(std::string_view name) const {
  uint32_t end = parts.empty() ? all_headers.size() : parts[0].header_end;
  for (uint32_t i = 0; i < end; ++i) {
    if (EqualsIgnoreCase(all_headers[i].name, name)) return &all_headers[i];
  }
  return nullptr;
}

const Header* Message::LastHeader(std::string_view name) const {
  uint32_t end = parts.empty() ? all_headers.size() : parts[0].header_end;
  for (uint32_t i = end; i-- > 0;) {
    if (EqualsIgnoreCase(all_headers[i].name, name)) return &all_headers[i];
  }
  return nullptr;
}

}  // namespace veto
