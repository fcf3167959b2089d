// veto/daemon/session.h — what one milter connection has told us so far.
//
// libmilter calls one callback per SMTP step, on the connection's own thread; milter.cc feeds
// each into the connection's Session, which keeps the envelope and reassembles the message
// (headers, then body) into one buffer for the parser. A connection may carry several
// messages: StartMessage() (MAIL FROM) and EndMessage() (after end of message or abort) reset
// everything per message and keep what belongs to the connection (client, HELO, macros).
//
//   connect ─▶ helo ─▶ ┌ envfrom ─▶ envrcpt… ─▶ header… ─▶ eoh ─▶ body… ─▶ eom ┐ ─▶ close
//                      └──────────────── (abort) ◀──────────── next message ◀──┘
//
// When the MTA skips steps (milter.cc negotiates that where it can), the same calls come
// later: SetClient and StartMessage at the first recipient, EndOfHeaders at the first body
// chunk or the end of message.
//
// Size cap: at most `max_message_bytes` of headers + body are buffered. Past that the session
// stops buffering, remembers the real size, and oversize() turns true; the daemon then skips
// the scan (skip-with-header or tempfail, as configured) and asks the MTA to stop sending
// body chunks (SMFIS_SKIP) when the MTA allows it and body chunks get replies.
//
// Thread-safety: none; one connection's callbacks run one at a time.
#ifndef VETO_DAEMON_SESSION_H_
#define VETO_DAEMON_SESSION_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/message.h"
#include "daemon/action_plan.h"

namespace veto::daemon {

class Session {
 public:
  explicit Session(uint64_t max_message_bytes) : max_bytes_(max_message_bytes) {}

  // Connection level.
  void Connect(std::string_view client_host, std::string_view client_ip);
  // The client when the MTA skips the connect step and sends it as macros later (keeps HELO).
  void SetClient(std::string_view client_host, std::string_view client_ip);
  void Helo(std::string_view helo) { envelope_.helo = std::string(helo); }
  void SetMtaName(std::string_view j) { mta_name_ = std::string(j); }
  void SetDaemonName(std::string_view name) { daemon_name_ = std::string(name); }

  // Message level. StartMessage resets the previous message (if any).
  void StartMessage(std::string_view mail_from);
  void AddRecipient(std::string_view rcpt);
  void SetQueueId(std::string_view id) { envelope_.queue_id = std::string(id); }
  void SetAuthUser(std::string_view user) { envelope_.auth_user = std::string(user); }
  void AddHeader(std::string_view name, std::string_view value);
  // The blank line after the headers; once per message (later calls do nothing), so an MTA
  // that skips the end-of-headers step is covered by the first body chunk or end of message.
  void EndOfHeaders();
  // Returns false once the message is over the cap (the rest is counted, not kept).
  bool AddBody(std::string_view chunk);
  // Forgets the message; the connection stays.
  void EndMessage();

  // The envelope with bare addresses (no <>), as the pipeline wants it.
  const Envelope& envelope() const { return envelope_; }
  // Recipients exactly as the MTA sent them (with <>), for smfi_delrcpt.
  const std::vector<std::string>& raw_rcpts() const { return raw_rcpts_; }
  const std::vector<SeenHeader>& headers() const { return headers_; }
  // The message as RFC 5322 text (CRLF line ends); valid until the next call that changes it.
  std::string_view raw() const { return raw_; }
  // Bytes the MTA sent for this message (headers + body), kept or not.
  uint64_t message_bytes() const { return seen_bytes_; }
  bool oversize() const { return oversize_; }
  bool in_message() const { return in_message_; }
  const std::string& mta_name() const { return mta_name_; }
  const std::string& daemon_name() const { return daemon_name_; }
  // Messages started on this connection.
  uint64_t messages() const { return messages_; }

  // Moves the buffered message out (for a scan that may outlive this call); the session then
  // holds an empty buffer.
  std::string TakeRaw() { return std::move(raw_); }

 private:
  void Append(std::string_view s);

  uint64_t max_bytes_;
  Envelope envelope_;
  std::vector<std::string> raw_rcpts_;
  std::vector<SeenHeader> headers_;
  std::string raw_;
  uint64_t seen_bytes_ = 0;
  uint64_t header_bytes_ = 0;
  bool oversize_ = false;
  bool in_message_ = false;
  bool in_body_ = false;
  std::string mta_name_;
  std::string daemon_name_;
  uint64_t messages_ = 0;
};

// "<User@Example.org>" → "User@Example.org"; also drops ESMTP parameters the MTA may append.
std::string_view BareAddress(std::string_view addr);

}  // namespace veto::daemon

#endif  // VETO_DAEMON_SESSION_H_
