#include "mobile/redis.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <cstring>

#include "core/strings.h"

namespace veto::mobile {
namespace {

RedisReply Convert(const redisReply* r) {
  RedisReply out;
  if (r == nullptr) return out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = RedisReply::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::kStatus;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::kError;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::kArray;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(Convert(r->element[i]));
      break;
    default:
      out.type = RedisReply::kNil;
      break;
  }
  return out;
}

// A tiny SHA-1 (FIPS 180-4) for script ids; not security-relevant.
struct Sha1 {
  uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
  static uint32_t Rol(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }
  void Block(const uint8_t* p) {
    uint32_t w[80];
    for (int i = 0; i < 16; ++i) {
      w[i] = (uint32_t{p[4 * i]} << 24) | (uint32_t{p[4 * i + 1]} << 16) |
             (uint32_t{p[4 * i + 2]} << 8) | p[4 * i + 3];
    }
    for (int i = 16; i < 80; ++i) w[i] = Rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; ++i) {
      uint32_t f, k;
      if (i < 20) {
        f = (b & c) | (~b & d);
        k = 0x5A827999;
      } else if (i < 40) {
        f = b ^ c ^ d;
        k = 0x6ED9EBA1;
      } else if (i < 60) {
        f = (b & c) | (b & d) | (c & d);
        k = 0x8F1BBCDC;
      } else {
        f = b ^ c ^ d;
        k = 0xCA62C1D6;
      }
      const uint32_t t = Rol(a, 5) + f + e + k + w[i];
      e = d;
      d = c;
      c = Rol(b, 30);
      b = a;
      a = t;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
  }
};

}  // namespace

std::string Sha1Hex(std::string_view s) {
  Sha1 sha;
  std::string m(s);
  const uint64_t bits = static_cast<uint64_t>(s.size()) * 8;
  m.push_back(static_cast<char>(0x80));
  while (m.size() % 64 != 56) m.push_back('\0');
  for (int i = 7; i >= 0; --i) m.push_back(static_cast<char>((bits >> (8 * i)) & 0xFF));
  for (size_t i = 0; i < m.size(); i += 64) sha.Block(reinterpret_cast<const uint8_t*>(m.data() + i));
  std::string out;
  char buf[9];
  for (uint32_t v : sha.h) {
    std::snprintf(buf, sizeof buf, "%08x", v);
    out += buf;
  }
  return out;
}

std::string RedisAddress::ToString() const {
  return unix_path.empty() ? Cat(host, ":", port) : unix_path;
}

absl::StatusOr<RedisAddress> ParseRedisUrl(std::string_view url) {
  auto bad = [&] {
    return absl::InvalidArgumentError(
        Cat("not a Redis URL \"", url.substr(0, 200),
            "\" (expected redis://HOST:PORT[/DB] or unix:/path)"));
  };
  RedisAddress a;
  if (url.starts_with("unix:")) {
    a.unix_path = std::string(url.substr(5));
    if (a.unix_path.empty()) return bad();
    return a;
  }
  if (!url.starts_with("redis://")) return bad();
  std::string_view rest = url.substr(8);
  if (const size_t at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view cred = rest.substr(0, at);
    if (const size_t colon = cred.find(':'); colon != std::string_view::npos) {
      cred = cred.substr(colon + 1);
    }
    a.password = std::string(cred);
    rest = rest.substr(at + 1);
  }
  std::string_view hostport = rest;
  if (const size_t slash = rest.find('/'); slash != std::string_view::npos) {
    hostport = rest.substr(0, slash);
    std::string_view db = rest.substr(slash + 1);
    if (!db.empty()) {
      long long n = 0;
      if (!ParseInt(db, &n) || n < 0 || n > 1000) return bad();
      a.db = static_cast<int>(n);
    }
  }
  if (const size_t colon = hostport.rfind(':'); colon != std::string_view::npos) {
    long long port = 0;
    if (!ParseInt(hostport.substr(colon + 1), &port) || port < 1 || port > 65535) return bad();
    a.port = static_cast<int>(port);
    hostport = hostport.substr(0, colon);
  }
  if (hostport.empty()) return bad();
  a.host = std::string(hostport);
  return a;
}

absl::StatusOr<std::unique_ptr<RedisClient>> RedisClient::Connect(const RedisAddress& address,
                                                                  int timeout_ms) {
  timeval tv{.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
  redisContext* c = address.unix_path.empty()
                        ? redisConnectWithTimeout(address.host.c_str(), address.port, tv)
                        : redisConnectUnixWithTimeout(address.unix_path.c_str(), tv);
  if (c == nullptr) {
    return absl::UnavailableError(Cat("redis ", address.ToString(), ": cannot allocate a context"));
  }
  if (c->err) {
    std::string msg = Cat("redis ", address.ToString(), ": ", c->errstr);
    redisFree(c);
    return absl::UnavailableError(msg);
  }
  redisSetTimeout(c, tv);
  std::unique_ptr<RedisClient> client(new RedisClient(c, address));
  if (!address.password.empty()) {
    absl::StatusOr<RedisReply> r = client->Command({"AUTH", address.password});
    if (!r.ok()) return r.status();
  }
  if (address.db != 0) {
    std::string db = std::to_string(address.db);
    absl::StatusOr<RedisReply> r = client->Command({"SELECT", db});
    if (!r.ok()) return r.status();
  }
  return client;
}

RedisClient::~RedisClient() {
  if (ctx_ != nullptr) redisFree(ctx_);
}

absl::Status RedisClient::ConnectionError() {
  broken_ = true;
  const char* why = ctx_->errstr[0] ? ctx_->errstr : "connection lost";
  return absl::UnavailableError(Cat("redis ", address_.ToString(), ": ", why));
}

namespace {

void AppendArgv(redisContext* c, const std::vector<std::string_view>& argv) {
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
  ptrs.reserve(argv.size());
  lens.reserve(argv.size());
  for (std::string_view a : argv) {
    ptrs.push_back(a.data());
    lens.push_back(a.size());
  }
  redisAppendCommandArgv(c, static_cast<int>(argv.size()), ptrs.data(), lens.data());
}

}  // namespace

absl::StatusOr<RedisReply> RedisClient::Command(const std::vector<std::string_view>& argv) {
  absl::StatusOr<std::vector<RedisReply>> r = Pipeline({argv});
  if (!r.ok()) return r.status();
  RedisReply& reply = (*r)[0];
  if (reply.type == RedisReply::kError) {
    return absl::InternalError(Cat("redis ", address_.ToString(), ": ", argv[0], ": ", reply.str));
  }
  return std::move(reply);
}

absl::StatusOr<std::vector<RedisReply>> RedisClient::Pipeline(
    const std::vector<std::vector<std::string_view>>& commands) {
  if (broken_) return absl::UnavailableError(Cat("redis ", address_.ToString(), ": connection lost"));
  for (const auto& argv : commands) AppendArgv(ctx_, argv);
  std::vector<RedisReply> out;
  out.reserve(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(ctx_, &raw) != REDIS_OK || raw == nullptr) return ConnectionError();
    out.push_back(Convert(static_cast<redisReply*>(raw)));
    freeReplyObject(raw);
  }
  return out;
}

absl::StatusOr<RedisReply> RedisClient::Eval(std::string_view script,
                                             const std::vector<std::string_view>& keys,
                                             const std::vector<std::string_view>& args) {
  const std::string sha = Sha1Hex(script);
  const std::string nkeys = std::to_string(keys.size());
  std::vector<std::string_view> argv = {"EVALSHA", sha, nkeys};
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  absl::StatusOr<std::vector<RedisReply>> r = Pipeline({argv});
  if (!r.ok()) return r.status();
  if ((*r)[0].type == RedisReply::kError && (*r)[0].str.starts_with("NOSCRIPT")) {
    argv[0] = "EVAL";
    argv[1] = script;
    r = Pipeline({argv});
    if (!r.ok()) return r.status();
  }
  if ((*r)[0].type == RedisReply::kError) {
    return absl::InternalError(Cat("redis ", address_.ToString(), ": script: ", (*r)[0].str));
  }
  return std::move((*r)[0]);
}

}  // namespace veto::mobile
