#include "core/message_json.h"

#include "core/json.h"

namespace veto {
namespace {

void WriteHeaders(const Message& m, uint32_t begin, uint32_t end, JsonWriter* w) {
  w->BeginArray();
  for (uint32_t i = begin; i < end && i < m.all_headers.size(); ++i) {
    const Header& h = m.all_headers[i];
    w->BeginObject();
    w->Key("name");
    w->String(h.name);
    w->Key("value");
    w->String(h.value);
    if (h.raw != h.value) {
      w->Key("raw");
      w->String(h.raw);
    }
    w->EndObject();
  }
  w->EndArray();
}

void WritePart(const Message& m, int index, const MessageJsonOptions& o, JsonWriter* w) {
  const MimePart& p = m.parts[index];
  w->BeginObject();
  w->Key("index");
  w->Int(index);
  w->Key("content_type");
  w->String(p.content_type);
  if (p.effective_type != p.content_type) {
    w->Key("effective_type");
    w->String(p.effective_type);
  }
  auto opt = [&](std::string_view key, std::string_view v) {
    if (v.empty()) return;
    w->Key(key);
    w->String(v);
  };
  opt("charset", p.charset);
  opt("transfer_encoding", p.transfer_encoding);
  opt("disposition", p.disposition);
  opt("filename", p.filename);
  opt("boundary", p.boundary);
  if (index > 0) {
    w->Key("headers");
    WriteHeaders(m, p.header_begin, p.header_end, w);
  }
  w->Key("raw_bytes");
  w->Int(static_cast<int64_t>(p.raw_body.size()));
  if (p.is_leaf()) {
    w->Key("decoded_bytes");
    w->Int(static_cast<int64_t>(p.decoded.size()));
    if (o.include_decoded) {
      w->Key("decoded");
      w->String(p.decoded);
    }
    if (!p.text.empty()) {
      w->Key("text");
      w->String(p.text);
    }
  }
  if (!p.children.empty()) {
    w->Key("parts");
    w->BeginArray();
    for (int c : p.children) WritePart(m, c, o, w);
    w->EndArray();
  }
  w->EndObject();
}

void WriteStrings(const std::vector<std::string_view>& v, JsonWriter* w) {
  w->BeginArray();
  for (std::string_view s : v) w->String(s);
  w->EndArray();
}

}  // namespace

std::string MessageToJson(const Message& m, const MessageJsonOptions& o) {
  JsonWriter w(o.indent);
  w.BeginObject();
  if (!o.source.empty()) {
    w.Key("source");
    w.String(o.source);
  }
  w.Key("channel");
  w.String(m.channel == Channel::kSms ? "sms" : "email");
  w.Key("size");
  w.Int(static_cast<int64_t>(m.full.size()));
  w.Key("flags");
  WriteStrings(m.flags.Names(), &w);
  if (m.channel == Channel::kSms) {
    w.Key("sms");
    w.BeginObject();
    w.Key("sender");
    w.String(m.sms.sender);
    w.Key("recipient");
    w.String(m.sms.recipient);
    w.Key("timestamp");
    w.Int(m.sms.timestamp_unix);
    w.Key("text");
    w.String(m.sms.text);
    w.EndObject();
  }
  w.Key("headers");
  WriteHeaders(m, 0, m.parts.empty() ? m.all_headers.size() : m.parts[0].header_end, &w);
  if (!m.parts.empty()) {
    w.Key("mime");
    WritePart(m, 0, o, &w);
  }
  w.Key("body");
  w.String(m.body);
  w.Key("body_elements");
  WriteStrings(m.body_elements, &w);
  w.Key("normalized_body");
  w.String(m.normalized_body);
  w.Key("rawbody_elements");
  WriteStrings(m.rawbody_elements, &w);
  w.Key("uris");
  w.BeginArray();
  for (const Uri& u : m.uris) {
    w.BeginObject();
    w.Key("url");
    w.String(u.url);
    if (u.raw != u.url) {
      w.Key("raw");
      w.String(u.raw);
    }
    w.Key("host");
    w.String(u.host);
    if (u.host_unicode != u.host) {
      w.Key("host_unicode");
      w.String(u.host_unicode);
    }
    w.Key("domain");
    w.String(u.registered_domain);
    w.Key("source");
    w.String(UriSourceName(u.source));
    if (u.obfuscated) {
      w.Key("obfuscated");
      w.Bool(true);
    }
    if (u.schemeless) {
      w.Key("schemeless");
      w.Bool(true);
    }
    w.EndObject();
  }
  w.EndArray();
  if (o.include_full) {
    w.Key("full");
    w.String(m.full);
  }
  w.EndObject();
  std::string out = w.Take();
  out.push_back('\n');
  return out;
}

}  // namespace veto
