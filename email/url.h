// veto/email/url.h — URL extraction and canonicalisation.
//
// Finds URLs in plain text the way spam is written: with schemes (http, https, ftp, mailto,
// ...), bare "www." hosts, schemeless "host.tld/path" (the TLD must be a real public suffix,
// checked with libpsl), e-mail addresses as mailto:, and the obfuscations spam uses:
// "hxxp://", "h**p://", "example[.]com", "example(dot)com", "example . com" — recognised,
// de-obfuscated and flagged. Hosts are lower-cased; IDN hosts converted both ways (libidn2);
// percent-escapes of printable ASCII decoded; the registered domain comes from libpsl.
//
//   std::vector<FoundUri> uris;
//   ExtractUris("see hxxp://bad[.]example.com/x", &uris);
//   // uris[0].url == "http://bad.example.com/x", uris[0].obfuscated == true
//
// Thread-safety: pure functions (libpsl's built-in list is immutable).
#ifndef VETO_EMAIL_URL_H_
#define VETO_EMAIL_URL_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace veto::email {

struct FoundUri {
  std::string url;                // canonical: scheme://host[:port]/path?query (see Canonicalize)
  std::string raw;                // the text as found
  std::string host;               // lower-case ASCII (punycode) host; empty for mailto without @
  std::string host_unicode;       // host with xn-- labels decoded to UTF-8
  std::string registered_domain;  // e.g. "example.co.uk"; the host itself for IP literals
  bool obfuscated = false;
  bool schemeless = false;
  bool idn = false;               // host had non-ASCII or xn-- labels
};

// Appends every URL found in `text` (UTF-8) to `out`, in order of appearance, at most
// `max_uris` in total in `out`. Returns false if the cap was hit.
bool ExtractUris(std::string_view text, std::vector<FoundUri>* out, size_t max_uris = 10000);

// Canonicalises one URL taken from an HTML attribute (or anywhere a URL is known to be a URL),
// resolving it against `base` when it is relative and `base` is absolute. Returns nullopt for
// empty values, fragments ("#x"), and schemes that are not URLs of a host (javascript:,
// data:, cid:, about:). mailto: is kept (host = the address's domain).
std::optional<FoundUri> CanonicalizeUri(std::string_view raw, std::string_view base = {});

// The registrable domain of `host` (lower-case ASCII) using the public suffix list; the host
// itself if it is an IP literal or has no registrable part.
std::string RegisteredDomain(std::string_view host);

// IDN conversions of a whole host name; on failure return the input unchanged.
std::string HostToAscii(std::string_view host_utf8);
std::string HostToUnicode(std::string_view host_ascii);

}  // namespace veto::email

#endif  // VETO_EMAIL_URL_H_
