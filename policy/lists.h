// veto/policy/lists.h — allow/deny/spamtrap lists of the operator and tenant layers.
//
// An IdentityList is compiled once from an IdentityListSpec (normalising every entry with
// identity.h) into hash sets, so a lookup costs a handful of hash probes however long the
// list is:
//   addresses, HELOs, short codes, exact MSISDNs / sender IDs   one probe
//   domains        one probe per label of the sender's domain (a.b.example.com: 4 probes)
//   CIDR blocks    one probe per distinct prefix length in the list
//   MSISDN / sender-ID prefixes ("+1900*", "PROMO*")   one probe per distinct prefix length
//   MSISDN patterns with '?'   checked one by one (keep them few)
// Subscriber lists are small and stored compactly instead (subscriber_store.h).
//
//   Sender sender;
//   Sender::FromMessage(message, "", &sender);   // once per message
//   IdentityList deny;
//   deny.Build(spec.deny, "operator.deny", &problems);
//   if (std::optional<ListHit> hit = deny.MatchSender(sender)) ... hit->entry ...
//
// Thread-safety: an IdentityList is immutable after Build; Match* are thread-safe.
#ifndef VETO_POLICY_LISTS_H_
#define VETO_POLICY_LISTS_H_

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/strings/string_view.h"
#include "core/message.h"
#include "policy/identity.h"
#include "policy/spec.h"

namespace veto::policy {

// Transparent hash/equality for std::string / std::string_view keys (Debian's Abseil has its
// own absl::string_view, so its default string hasher does not take std::string_view).
struct StringViewHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const {
    return absl::Hash<absl::string_view>()(absl::string_view(s.data(), s.size()));
  }
};
struct StringViewEq {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const { return a == b; }
};
template <typename V>
using StringViewMap = absl::flat_hash_map<std::string, V, StringViewHash, StringViewEq>;
using StringViewSet = absl::flat_hash_set<std::string_view, StringViewHash, StringViewEq>;

// The sender identities of one message, normalised once per Decide.
struct Sender {
  Channel channel = Channel::kEmail;
  // Email.
  std::string mail_from;              // envelope sender, lower-case; empty for "<>"
  std::string_view mail_from_domain;  // into mail_from
  std::string from_header;            // header From addr-spec, lower-case; empty if none
  std::string_view from_header_domain;
  std::optional<IpAddress> ip;  // client IP
  std::string helo;             // lower-case, without a trailing dot
  // SMS.
  SmsSenderKind sms_kind = SmsSenderKind::kInvalid;
  std::string sms_sender;  // E.164, short code, or lower-case sender ID

  // Fills `out` from the envelope / header From (email) or SmsFields::sender (SMS).
  // `default_country_code` normalises national SMS numbers.
  static void FromMessage(const Message& m, std::string_view default_country_code, Sender* out);
};

// Which entry matched.
struct ListHit {
  IdentityKind kind = IdentityKind::kAddress;
  std::string_view entry;  // the normalised entry as listed ("example.com", "+1900*", ...)
};

class IdentityList {
 public:
  IdentityList() = default;
  IdentityList(IdentityList&&) = default;
  IdentityList& operator=(IdentityList&&) = default;

  // Adds every entry of `spec`; bad entries are skipped and reported as
  // "<path>.<list>[i]: <problem>" (e.g. "operator.deny.domains[2]: not a domain (got ...)").
  void Build(const IdentityListSpec& spec, std::string_view path,
             std::vector<SpecProblem>* problems);

  // The first entry matching the message's sender, checked in the order: address, domain,
  // IP, HELO (email); MSISDN, short code, sender ID (SMS).
  std::optional<ListHit> MatchSender(const Sender& s) const;

  // The entry matching a recipient (spamtraps): `recipient` is a normalised mailbox (its
  // address and domain are checked) or E.164 MSISDN.
  std::optional<ListHit> MatchRecipient(Channel channel, std::string_view recipient) const;

  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }

 private:
  // Prefix patterns ("+1900*"): key = the prefix, value = the entry as written.
  struct PrefixSet {
    uint64_t lengths = 0;  // bit n: some prefix has n bytes
    absl::flat_hash_map<std::string_view, std::string_view, StringViewHash, StringViewEq> by_prefix;
    void Add(std::string_view entry);
    std::optional<std::string_view> Match(std::string_view s) const;
  };
  struct V6Key {
    uint64_t hi = 0, lo = 0;
    uint8_t bits = 0;
    bool operator==(const V6Key&) const = default;
    template <typename H>
    friend H AbslHashValue(H h, const V6Key& k) {
      return H::combine(std::move(h), k.hi, k.lo, k.bits);
    }
  };
  static V6Key KeyOf(const IpAddress& ip, int bits);

  std::string_view Keep(std::string s);
  std::optional<ListHit> MatchAddress(std::string_view address) const;
  std::optional<ListHit> MatchDomain(std::string_view domain) const;
  std::optional<ListHit> MatchIp(const IpAddress& ip) const;
  std::optional<ListHit> MatchMsisdn(std::string_view msisdn) const;

  std::deque<std::string> storage_;  // owns every entry; deque keeps views stable
  size_t size_ = 0;
  StringViewSet addresses_, domains_, helos_, short_codes_;
  StringViewSet msisdns_, sender_ids_;  // exact entries
  PrefixSet msisdn_prefixes_, sender_id_prefixes_;
  std::vector<std::string_view> msisdn_wildcards_;  // entries with '?'
  // Distinct prefix lengths (in the 128-bit form) present, longest first.
  std::vector<uint8_t> ip_lengths_v4_, ip_lengths_v6_;
  absl::flat_hash_map<V6Key, std::string_view> cidrs_;
};

}  // namespace veto::policy

#endif  // VETO_POLICY_LISTS_H_
