#include "policy/lists.h"

#include <algorithm>
#include <cstring>
#include <functional>

#include "core/strings.h"

namespace veto::policy {
namespace {

bool HasNonAscii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return true;
  }
  return false;
}

// Lower-cases an address (and punycodes a non-ASCII domain) into `out`; empty if unusable.
void NormalizeSenderAddress(std::string_view raw, std::string* out) {
  std::string_view a = ExtractAddress(raw);
  out->assign(a);
  if (a.empty() || a.find('@') == std::string_view::npos) {
    out->clear();
    return;
  }
  if (HasNonAscii(AddressDomain(a))) {
    absl::StatusOr<std::string> n = NormalizeAddress(a);
    if (n.ok()) *out = *std::move(n);
    return;
  }
  AsciiLowerInPlace(*out);
  if (out->ends_with('.')) out->pop_back();
}

}  // namespace

void Sender::FromMessage(const Message& m, std::string_view default_country_code, Sender* out) {
  out->channel = m.channel;
  if (m.channel == Channel::kSms) {
    out->sms_kind = ClassifySmsSender(m.sms.sender, &out->sms_sender);
    if (out->sms_kind == SmsSenderKind::kInvalid && !default_country_code.empty()) {
      absl::StatusOr<std::string> n = NormalizeMsisdn(m.sms.sender, default_country_code);
      if (n.ok()) {
        out->sms_sender = *std::move(n);
        out->sms_kind = SmsSenderKind::kMsisdn;
      }
    }
    return;
  }
  NormalizeSenderAddress(m.envelope.mail_from, &out->mail_from);
  out->mail_from_domain = AddressDomain(out->mail_from);
  if (const Header* from = m.FirstHeader("From"); from != nullptr) {
    NormalizeSenderAddress(from->value, &out->from_header);
    out->from_header_domain = AddressDomain(out->from_header);
  }
  out->ip = ParseIp(m.envelope.client_ip);
  out->helo.assign(StripWhitespace(m.envelope.helo));
  AsciiLowerInPlace(out->helo);
  if (out->helo.ends_with('.')) out->helo.pop_back();
}

// --------------------------------------------------------------------------------------------

void IdentityList::PrefixSet::Add(std::string_view entry) {
  std::string_view prefix = entry.substr(0, entry.size() - 1);  // drop the '*'
  lengths |= uint64_t{1} << std::min<size_t>(prefix.size(), 63);
  by_prefix.emplace(prefix, entry);
}

std::optional<std::string_view> IdentityList::PrefixSet::Match(std::string_view s) const {
  if (lengths == 0) return std::nullopt;
  for (size_t n = std::min<size_t>(s.size(), 63) + 1; n-- > 0;) {  // longest prefix first
    if (!(lengths >> n & 1)) continue;
    auto it = by_prefix.find(s.substr(0, n));
    if (it != by_prefix.end()) return it->second;
  }
  return std::nullopt;
}

IdentityList::V6Key IdentityList::KeyOf(const IpAddress& ip, int bits) {
  const IpAddress masked = MaskIp(ip, bits);
  V6Key k;
  std::memcpy(&k.hi, masked.bytes.data(), 8);
  std::memcpy(&k.lo, masked.bytes.data() + 8, 8);
  k.bits = static_cast<uint8_t>(bits);
  return k;
}

std::string_view IdentityList::Keep(std::string s) {
  ++size_;
  return storage_.emplace_back(std::move(s));
}

void IdentityList::Build(const IdentityListSpec& spec, std::string_view path,
                         std::vector<SpecProblem>* problems) {
  const std::pair<IdentityKind, const std::vector<std::string>*> lists[] = {
      {IdentityKind::kAddress, &spec.addresses},
      {IdentityKind::kDomain, &spec.domains},
      {IdentityKind::kIp, &spec.ips},
      {IdentityKind::kHelo, &spec.helos},
      {IdentityKind::kMsisdn, &spec.msisdns},
      {IdentityKind::kShortCode, &spec.short_codes},
      {IdentityKind::kSenderId, &spec.sender_ids},
  };
  for (const auto& [kind, entries] : lists) {
    for (size_t i = 0; i < entries->size(); ++i) {
      const std::string& raw = (*entries)[i];
      if (kind == IdentityKind::kIp) {
        absl::StatusOr<Cidr> c = ParseCidr(raw);
        if (!c.ok()) {
          problems->push_back({Cat(path, ".ips[", i, "]"), std::string(c.status().message())});
          continue;
        }
        const bool v4 = c->base.is_v4;
        const int bits = v4 ? 96 + c->prefix_len : c->prefix_len;
        std::vector<uint8_t>& lengths = v4 ? ip_lengths_v4_ : ip_lengths_v6_;
        if (std::find(lengths.begin(), lengths.end(), bits) == lengths.end()) {
          lengths.push_back(static_cast<uint8_t>(bits));
          std::sort(lengths.begin(), lengths.end(), std::greater<>());
        }
        cidrs_.emplace(KeyOf(c->base, bits), Keep(c->ToString()));
        continue;
      }
      absl::StatusOr<std::string> n = NormalizeIdentity(kind, raw);
      if (!n.ok()) {
        problems->push_back({Cat(path, ".", IdentityKindListName(kind), "[", i, "]"),
                             std::string(n.status().message())});
        continue;
      }
      std::string_view v = Keep(*std::move(n));
      switch (kind) {
        case IdentityKind::kAddress:
          addresses_.insert(v);
          break;
        case IdentityKind::kDomain:
          domains_.insert(v);
          break;
        case IdentityKind::kHelo:
          helos_.insert(v);
          break;
        case IdentityKind::kShortCode:
          short_codes_.insert(v);
          break;
        case IdentityKind::kMsisdn:
          if (v.find('?') != std::string_view::npos) {
            msisdn_wildcards_.push_back(v);
          } else if (v.ends_with('*')) {
            msisdn_prefixes_.Add(v);
          } else {
            msisdns_.insert(v);
          }
          break;
        case IdentityKind::kSenderId:
          if (v.ends_with('*')) {
            sender_id_prefixes_.Add(v);
          } else {
            sender_ids_.insert(v);
          }
          break;
        case IdentityKind::kIp:
          break;
      }
    }
  }
}

std::optional<ListHit> IdentityList::MatchAddress(std::string_view address) const {
  if (address.empty() || addresses_.empty()) return std::nullopt;
  auto it = addresses_.find(address);
  if (it == addresses_.end()) return std::nullopt;
  return ListHit{IdentityKind::kAddress, *it};
}

std::optional<ListHit> IdentityList::MatchDomain(std::string_view domain) const {
  if (domain.empty() || domains_.empty()) return std::nullopt;
  while (true) {
    auto it = domains_.find(domain);
    if (it != domains_.end()) return ListHit{IdentityKind::kDomain, *it};
    const size_t dot = domain.find('.');
    if (dot == std::string_view::npos) return std::nullopt;
    domain.remove_prefix(dot + 1);
  }
}

std::optional<ListHit> IdentityList::MatchIp(const IpAddress& ip) const {
  const std::vector<uint8_t>& lengths = ip.is_v4 ? ip_lengths_v4_ : ip_lengths_v6_;
  for (uint8_t bits : lengths) {  // most specific block first
    auto it = cidrs_.find(KeyOf(ip, bits));
    if (it != cidrs_.end()) return ListHit{IdentityKind::kIp, it->second};
  }
  return std::nullopt;
}

std::optional<ListHit> IdentityList::MatchMsisdn(std::string_view msisdn) const {
  if (!msisdns_.empty()) {
    if (auto it = msisdns_.find(msisdn); it != msisdns_.end()) {
      return ListHit{IdentityKind::kMsisdn, *it};
    }
  }
  if (auto p = msisdn_prefixes_.Match(msisdn)) return ListHit{IdentityKind::kMsisdn, *p};
  for (std::string_view w : msisdn_wildcards_) {
    if (MsisdnPatternMatches(w, msisdn)) return ListHit{IdentityKind::kMsisdn, w};
  }
  return std::nullopt;
}

std::optional<ListHit> IdentityList::MatchSender(const Sender& s) const {
  if (size_ == 0) return std::nullopt;
  if (s.channel == Channel::kEmail) {
    if (auto h = MatchAddress(s.mail_from)) return h;
    if (auto h = MatchAddress(s.from_header)) return h;
    if (auto h = MatchDomain(s.mail_from_domain)) return h;
    if (auto h = MatchDomain(s.from_header_domain)) return h;
    if (s.ip.has_value()) {
      if (auto h = MatchIp(*s.ip)) return h;
    }
    if (!s.helo.empty() && !helos_.empty()) {
      if (auto it = helos_.find(s.helo); it != helos_.end())
        return ListHit{IdentityKind::kHelo, *it};
    }
    return std::nullopt;
  }
  switch (s.sms_kind) {
    case SmsSenderKind::kMsisdn:
      return MatchMsisdn(s.sms_sender);
    case SmsSenderKind::kShortCode:
      if (short_codes_.empty()) return std::nullopt;
      if (auto it = short_codes_.find(s.sms_sender); it != short_codes_.end()) {
        return ListHit{IdentityKind::kShortCode, *it};
      }
      return std::nullopt;
    case SmsSenderKind::kAlphanumeric:
      if (!sender_ids_.empty()) {
        if (auto it = sender_ids_.find(s.sms_sender); it != sender_ids_.end()) {
          return ListHit{IdentityKind::kSenderId, *it};
        }
      }
      if (auto p = sender_id_prefixes_.Match(s.sms_sender)) {
        return ListHit{IdentityKind::kSenderId, *p};
      }
      return std::nullopt;
    case SmsSenderKind::kInvalid:
      return std::nullopt;
  }
  return std::nullopt;
}

std::optional<ListHit> IdentityList::MatchRecipient(Channel channel,
                                                    std::string_view recipient) const {
  if (size_ == 0 || recipient.empty()) return std::nullopt;
  if (channel == Channel::kEmail) {
    if (auto h = MatchAddress(recipient)) return h;
    return MatchDomain(AddressDomain(recipient));
  }
  return MatchMsisdn(recipient);
}

}  // namespace veto::policy
