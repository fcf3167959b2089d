#include "daemon/session.h"

#include <algorithm>

#include "core/strings.h"

namespace veto::daemon {

std::string_view BareAddress(std::string_view addr) {
  addr = StripWhitespace(addr);
  if (!addr.empty() && addr.front() == '<') {
    const size_t close = addr.find('>');
    return close == std::string_view::npos ? addr.substr(1) : addr.substr(1, close - 1);
  }
  const size_t space = addr.find(' ');
  return space == std::string_view::npos ? addr : addr.substr(0, space);
}

void Session::Connect(std::string_view client_host, std::string_view client_ip) {
  envelope_ = Envelope();
  SetClient(client_host, client_ip);
  EndMessage();
}

void Session::SetClient(std::string_view client_host, std::string_view client_ip) {
  envelope_.client_host = std::string(client_host);
  envelope_.client_ip = std::string(client_ip);
}

void Session::StartMessage(std::string_view mail_from) {
  EndMessage();
  in_message_ = true;
  ++messages_;
  envelope_.mail_from = std::string(BareAddress(mail_from));
}

void Session::AddRecipient(std::string_view rcpt) {
  raw_rcpts_.emplace_back(rcpt);
  envelope_.rcpt_to.emplace_back(BareAddress(rcpt));
}

void Session::Append(std::string_view s) {
  seen_bytes_ += s.size();
  if (oversize_) return;
  if (raw_.size() + s.size() > max_bytes_) {
    // Keep nothing of an oversize message: it is not scanned, and the memory goes back now.
    oversize_ = true;
    std::string().swap(raw_);
    return;
  }
  raw_.append(s);
}

void Session::AddHeader(std::string_view name, std::string_view value) {
  Append(name);
  Append(": ");
  Append(value);
  Append("\r\n");
  // Kept for forged-header removal and the Subject rewrite, even when the message is over the
  // cap (an oversize message still gets its forged headers removed); bounded separately.
  header_bytes_ += name.size() + value.size();
  if (header_bytes_ <= max_bytes_) headers_.push_back({std::string(name), std::string(value)});
}

void Session::EndOfHeaders() {
  if (in_body_) return;
  Append("\r\n");
  in_body_ = true;
}

bool Session::AddBody(std::string_view chunk) {
  if (!in_body_) EndOfHeaders();
  Append(chunk);
  return !oversize_;
}

void Session::EndMessage() {
  raw_rcpts_.clear();
  envelope_.mail_from.clear();
  envelope_.rcpt_to.clear();
  envelope_.queue_id.clear();
  envelope_.auth_user.clear();
  headers_.clear();
  raw_.clear();
  if (raw_.capacity() > (1u << 20)) std::string().swap(raw_);  // do not pin a big buffer
  seen_bytes_ = 0;
  header_bytes_ = 0;
  oversize_ = false;
  in_message_ = false;
  in_body_ = false;
}

}  // namespace veto::daemon
