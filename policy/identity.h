// veto/policy/identity.h — parsing and normalising sender and recipient identities.
//
// Every list entry in the policy and every identity taken from a message goes through these
// functions, so that "Example.COM." in a config file and "example.com" in MAIL FROM compare
// equal. They are pure functions of their input (no DNS, no clock).
//
//   absl::StatusOr<std::string> m = NormalizeMsisdn("+44 (0)7700 900-123");  // "+447700900123"
//   absl::StatusOr<std::string> d = NormalizeDomain("Mail.Example.COM.");    // "mail.example.com"
//   absl::StatusOr<Cidr> net = ParseCidr("2001:db8::/32");
//   bool in = net->Contains(*ParseIp("2001:db8::1"));                          // true
//
// Errors are absl::InvalidArgumentError with a message of the form
//   not a domain (got "foo..bar")
// to which callers prepend the key path of the offending entry.
//
// Thread-safety: all functions are thread-safe.
#ifndef VETO_POLICY_IDENTITY_H_
#define VETO_POLICY_IDENTITY_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace veto::policy {

// --------------------------------------------------------------------------------------------
// MSISDNs (E.164), short codes, alphanumeric sender IDs.

// Normalises a phone number to E.164 "+<digits>" (7 to 15 digits, no leading 0).
// Accepts "+CC...", "00CC..." and, when `default_country_code` is given (digits, e.g. "44"),
// national numbers whose leading trunk "0" is dropped ("07700 900123" → "+447700900123").
// Spaces, '-', '.', '/' and parentheses are ignored; "(0)" after the country code is dropped.
// Errors: `not an E.164 MSISDN (got "...")`.
absl::StatusOr<std::string> NormalizeMsisdn(std::string_view raw,
                                            std::string_view default_country_code = "");

// Normalises an MSISDN list pattern: like NormalizeMsisdn, but '?' stands for one digit and a
// final '*' for any number of digits (a prefix): "+1900*", "+44770090012?", "+44 7700 ???*".
// Errors: `not an MSISDN pattern (got "...")`.
absl::StatusOr<std::string> NormalizeMsisdnPattern(std::string_view raw);

// True if `msisdn` (normalised) matches `pattern` (normalised by NormalizeMsisdnPattern).
bool MsisdnPatternMatches(std::string_view pattern, std::string_view msisdn);

// A short code: 3 to 8 digits ("7726", "12345"). Errors: `not a short code (got "...")`.
absl::StatusOr<std::string> NormalizeShortCode(std::string_view raw);

// An alphanumeric sender ID (GSM 03.40 TP-OA alphanumeric): 1 to 11 printable ASCII
// characters with at least one letter, compared case-insensitively (returned lower-cased).
// With `allow_prefix`, a final '*' makes it a prefix pattern ("PROMO*").
// Errors: `not an alphanumeric sender ID (got "...")`.
absl::StatusOr<std::string> NormalizeSenderId(std::string_view raw, bool allow_prefix = false);

// What an SMS originator is.
enum class SmsSenderKind : uint8_t { kMsisdn, kShortCode, kAlphanumeric, kInvalid };

// Classifies and normalises an SMS sender as the message carries it (mobile/ normally gives
// "+E.164", a short code, or an alphanumeric ID). `out` gets the normalised form (MSISDN as
// E.164, sender IDs lower-cased). Never fails: unusable input is kInvalid.
SmsSenderKind ClassifySmsSender(std::string_view raw, std::string* out);

// --------------------------------------------------------------------------------------------
// Domains, addresses, HELO names.

// Lower-cases, strips one trailing '.', converts Unicode labels to punycode (IDNA 2008 via
// libidn2) and checks the LDH syntax: labels of 1–63 letters, digits, '-' (not at either
// end) or '_', at most 253 characters. Single-label names ("com") are allowed, so a TLD can
// be listed. Errors: `not a domain (got "foo..bar")`.
absl::StatusOr<std::string> NormalizeDomain(std::string_view raw);

// Normalises a mailbox "Local@Domain" (angle brackets allowed) to "local@domain": the whole
// address is lower-cased (local parts are case-insensitive in practice), the domain goes
// through NormalizeDomain. Errors: `not an email address (got "...")`.
absl::StatusOr<std::string> NormalizeAddress(std::string_view raw);

// A HELO/EHLO name: a domain (normalised as above) or an address literal "[192.0.2.1]" /
// "[IPv6:2001:db8::1]" (lower-cased, kept as written). Errors: `not a HELO name (got "...")`.
absl::StatusOr<std::string> NormalizeHelo(std::string_view raw);

// The "(got \"...\")" suffix of error messages: `v` C-escaped (control characters, quotes,
// backslashes, non-UTF-8 bytes as \xNN) and cut at 80 bytes with "...".
std::string Got(std::string_view v);
// Just the escaped, cut text (without quotes).
std::string EscapeForError(std::string_view v);

// Lower-cases ASCII letters of `s` in place and returns it.
std::string& AsciiLowerInPlace(std::string& s);

// The addr-spec of an RFC 5322 From-style value: the text inside the last <...> if any,
// else the whole (trimmed) value. Not validated.
std::string_view ExtractAddress(std::string_view header_value);

// The domain of "local@domain" (after the last '@'), or empty.
std::string_view AddressDomain(std::string_view address);

// --------------------------------------------------------------------------------------------
// IP addresses and CIDR blocks.

// An IPv4 or IPv6 address. IPv4 is kept as an IPv4-mapped IPv6 address (::ffff:a.b.c.d), so
// one representation serves both families; `is_v4` says which family was written.
struct IpAddress {
  std::array<uint8_t, 16> bytes{};
  bool is_v4 = false;

  bool operator==(const IpAddress&) const = default;
};

// Parses "192.0.2.1", "2001:db8::1", "[2001:db8::1]", "IPv6:2001:db8::1" (as milter and
// Postfix print them) and IPv4-mapped IPv6 ("::ffff:192.0.2.1", which counts as IPv4).
std::optional<IpAddress> ParseIp(std::string_view raw);

// An address block: `prefix_len` leading bits of `base` (the rest zero). For IPv4 blocks
// prefix_len counts IPv4 bits (0–32); internally it is offset by 96.
struct Cidr {
  IpAddress base;
  int prefix_len = 0;  // as written: 0–32 for IPv4, 0–128 for IPv6

  bool Contains(const IpAddress& ip) const;
  // The canonical text: "192.0.2.0/24", "2001:db8::/32"; a single address has no "/n".
  std::string ToString() const;
};

// Parses "192.0.2.0/24", "2001:db8::/32" or a single address (a /32 or /128). Host bits
// below the prefix must be zero. Errors: `not an IP address or CIDR block (got "...")`,
// `CIDR block has host bits set (got "192.0.2.1/24", expected "192.0.2.0/24")`.
absl::StatusOr<Cidr> ParseCidr(std::string_view raw);

// The first `bits` bits of `ip` (in the 128-bit mapped form), the rest zeroed.
IpAddress MaskIp(const IpAddress& ip, int bits);

// --------------------------------------------------------------------------------------------
// Typed list entries, as written in the subscriber file ("short:7726", "+1900*", ...).

enum class IdentityKind : uint8_t {
  kAddress = 0,  // email address
  kDomain,       // email domain (and its subdomains)
  kIp,           // client IP or CIDR block
  kHelo,         // HELO/EHLO name
  kMsisdn,       // E.164 number or pattern
  kShortCode,    // SMS short code
  kSenderId,     // alphanumeric sender ID (or prefix pattern)
};

constexpr int kIdentityKindCount = 7;

// The list name of a kind in a spec: "addresses", "domains", "ips", "helos", "msisdns",
// "short_codes", "sender_ids".
std::string_view IdentityKindListName(IdentityKind kind);

// True for kinds that identify email senders (address, domain, ip, helo).
constexpr bool IsEmailIdentity(IdentityKind k) { return k <= IdentityKind::kHelo; }

// Normalises an entry of a known kind (the Normalize* function for that kind; MSISDNs and
// sender IDs as patterns; IPs as CIDR text).
absl::StatusOr<std::string> NormalizeIdentity(IdentityKind kind, std::string_view raw);

struct IdentityEntry {
  IdentityKind kind = IdentityKind::kAddress;
  std::string value;  // normalised
};

// Parses an untyped entry. An explicit "kind:" prefix wins — "addr:", "domain:", "ip:",
// "helo:", "msisdn:", "short:", "alpha:" — otherwise the kind is inferred:
//   "+..."                  → MSISDN (pattern)
//   contains '@'            → address
//   3–8 digits              → short code
//   an IP address or CIDR   → ip
//   contains '.'            → domain
//   anything else           → alphanumeric sender ID (pattern)
absl::StatusOr<IdentityEntry> ParseIdentityEntry(std::string_view raw);

}  // namespace veto::policy

#endif  // VETO_POLICY_IDENTITY_H_
