#pragma once
// One Redis stream the gateway replicas share (sharedState): every sync, one Lua script
// (one round trip) appends this replica's entry, if any, as one stream entry (trimmed to
// a count, expiring when nobody syncs) and returns the others' entries after the last
// one this replica read, a bounded number of them. The placements (shared_placements.h)
// and the response ids (shared_responses.h) each travel on their own stream this way.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "ringgate/control/redis_client.h"

namespace ringgate::control {

inline constexpr size_t kMaxStreamIdBytes = 48;  // a stream id, "ms-seq"

// ARGV: stream key, replica id, last id read, this sync's payload (empty: none), entries
// kept, entries read, ttl ms. Returns {the last id read, then the others' payloads}. A
// stream whose newest entry is older than the last one read was made anew (Redis lost
// it, or came back with an earlier clock): it is read from its start.
inline constexpr const char* kStreamExchangeScript = R"lua(
local key, me, last = ARGV[1], ARGV[2], ARGV[3]
local top = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)[1]
if top and last ~= '0' then
  local tm, ts = string.match(top[1], '^(%d+)-(%d+)$')
  local lm, ls = string.match(last, '^(%d+)-(%d+)$')
  tm, ts, lm, ls = tonumber(tm), tonumber(ts), tonumber(lm), tonumber(ls)
  if tm and lm and (tm < lm or (tm == lm and ts < ls)) then last = '0' end
end
if #ARGV[4] > 0 then redis.call('XADD', key, 'MAXLEN', '~', ARGV[5], '*', 'r', me, 'p', ARGV[4]) end
redis.call('PEXPIRE', key, ARGV[7])
local out = {last}
for _, row in ipairs(redis.call('XRANGE', key, '(' .. last, '+', 'COUNT', ARGV[6])) do
  out[1] = row[1]
  local f = row[2]
  if f[1] == 'r' and f[2] ~= me and f[3] == 'p' then out[#out + 1] = f[4] end
end
return out
)lua";

// "ms-seq", as XADD makes them (or "0", before the first read), at most kMaxStreamIdBytes.
bool valid_stream_id(std::string_view id);

// One replica's side of one such stream: the round trip, the last id read, and whether
// the others' entries are current. What an entry means is the owner's (`apply`: one entry's
// payload taken in; false when it is malformed, counted). Control thread only.
class StreamExchange {
 public:
  struct Bounds {
    size_t max_entry_bytes;  // one entry's payload; a longer one read is malformed
    size_t read_entries;     // the others' entries read a sync
    size_t kept_entries;     // what the stream keeps
  };
  using Apply = std::function<bool(std::string_view payload)>;

  // `what` names the stream in errors ("placements"); `key`: its Redis key.
  StreamExchange(RedisClient& client, std::string what, std::string key, std::string replica_id,
                 std::chrono::milliseconds ttl, Bounds bounds, Apply apply);

  // Not while the last reply is awaited, nor with Redis away.
  bool ready() const { return !in_flight_ && client_.up(); }
  // Appends `payload` (empty: nothing of this replica's) and reads the others' entries.
  void send(const std::string& payload);
  bool current() const { return current_; }
  void go_local() { current_ = false; }
  uint64_t syncs() const { return syncs_; }
  uint64_t malformed() const { return malformed_; }
  // "current", "syncs", "errors", "malformed", "lastId", "lastError" as JSON members
  // (each after a comma, for the owner's object).
  void append_debug_members(std::string& out) const;

 private:
  void on_reply(const redisReply* reply);
  void refuse(std::string why);

  RedisClient& client_;
  std::string what_, key_, replica_id_, ttl_ms_;
  Bounds bounds_;
  Apply apply_;
  std::string last_id_ = "0";  // the last entry read (0: from the oldest kept)
  bool in_flight_ = false;
  bool current_ = false;
  uint64_t syncs_ = 0, errors_ = 0, malformed_ = 0;
  std::string last_error_;
};

}  // namespace ringgate::control
