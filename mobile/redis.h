// veto/mobile/redis.h — a small synchronous Redis client over hiredis, with timeouts and
// statuses instead of raw replies. The only code in veto that calls hiredis.
//
//   absl::StatusOr<RedisAddress> a = ParseRedisUrl("redis://127.0.0.1:6390/0");
//   absl::StatusOr<std::unique_ptr<RedisClient>> c = RedisClient::Connect(*a, 2000);
//   absl::StatusOr<RedisReply> r = (*c)->Command({"XADD", "sms", "*", "text", "hello"});
//
// Errors: UnavailableError "redis HOST:PORT: <reason>" when the server cannot be reached or
// the connection broke (the client is then unusable: connect again); InternalError with the
// server's message for an error reply ("NOGROUP ...", "BUSYGROUP ...").
//
// Thread-safety: a RedisClient is used by one thread at a time.
#ifndef VETO_MOBILE_REDIS_H_
#define VETO_MOBILE_REDIS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

struct redisContext;

namespace veto::mobile {

struct RedisAddress {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string unix_path;  // unix:/path instead of host:port
  int db = 0;
  std::string password;
  std::string ToString() const;  // "127.0.0.1:6379" or the socket path
};

// "redis://[:password@]host[:port][/db]" or "unix:/path/to/redis.sock". Errors:
// InvalidArgument `not a Redis URL "x" (expected redis://HOST:PORT[/DB] or unix:/path)`.
absl::StatusOr<RedisAddress> ParseRedisUrl(std::string_view url);

struct RedisReply {
  enum Type : uint8_t { kNil, kString, kStatus, kInteger, kArray, kError };
  Type type = kNil;
  std::string str;        // string, status, error
  long long integer = 0;  // integer
  std::vector<RedisReply> elements;  // array
};

class RedisClient {
 public:
  // Connects (and AUTH / SELECT as the address asks). `timeout_ms` bounds the connect and
  // every command.
  static absl::StatusOr<std::unique_ptr<RedisClient>> Connect(const RedisAddress& address,
                                                              int timeout_ms);
  ~RedisClient();

  // One command, arguments binary-safe.
  absl::StatusOr<RedisReply> Command(const std::vector<std::string_view>& argv);
  // Several commands in one round trip; one reply (possibly kError) per command.
  absl::StatusOr<std::vector<RedisReply>> Pipeline(
      const std::vector<std::vector<std::string_view>>& commands);

  // EVALSHA with a fallback to EVAL when the server does not know the script (after a
  // restart or SCRIPT FLUSH).
  absl::StatusOr<RedisReply> Eval(std::string_view script, const std::vector<std::string_view>& keys,
                                  const std::vector<std::string_view>& args);

  // True once the connection broke (reconnect).
  bool broken() const { return broken_; }
  const RedisAddress& address() const { return address_; }

 private:
  RedisClient(redisContext* c, RedisAddress a) : ctx_(c), address_(std::move(a)) {}
  absl::Status ConnectionError();

  redisContext* ctx_;
  RedisAddress address_;
  bool broken_ = false;
};

// SHA1 hex of `s` (for EVALSHA).
std::string Sha1Hex(std::string_view s);

}  // namespace veto::mobile

#endif  // VETO_MOBILE_REDIS_H_
