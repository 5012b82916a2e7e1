#include "ringgate/control/shared_rate_limits.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "ringgate/util/json_text.h"
#include "ringgate/util/monotonic_clock.h"

namespace ringgate::control {
namespace {

constexpr uint64_t kWindowMs = proxy::RateLimiter::kWindowMs;
constexpr int64_t kMaxBudget = int64_t(1) << 50;  // a reply's count beyond this is nonsense

// ARGV: prefix, replica id, window ms, then per tenant six fields: tenant hash, window,
// target tokens, target requests, token limit, request limit (0 = no such budget).
// Returns {Redis's now in ms, then per tenant: my tokens, all tokens, my requests, all
// requests}. A replica's reservation is the hash field "t:ID" / "r:ID", the sum "t" / "r".
constexpr const char* kReserveScript = R"lua(
local prefix, me, W = ARGV[1], ARGV[2], tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cur = math.floor(now / W)
local out = {now}
for i = 4, #ARGV - 5, 6 do
  local wid = tonumber(ARGV[i + 1])
  local key = prefix .. ':rl:' .. ARGV[i] .. ':' .. ARGV[i + 1]
  for j = 0, 1 do
    local target, limit = tonumber(ARGV[i + 2 + j]), tonumber(ARGV[i + 4 + j])
    local f = j == 0 and 't' or 'r'
    local mine = tonumber(redis.call('HGET', key, f .. ':' .. me) or 0) or 0
    local all = tonumber(redis.call('HGET', key, f) or 0) or 0
    local d = target - mine
    if wid < cur - 1 or wid > cur + 1 then d = math.min(d, 0) end
    if d > 0 and limit > 0 then d = math.min(d, math.max(0, limit - all)) end
    if d ~= 0 then
      redis.call('HINCRBY', key, f .. ':' .. me, d)
      redis.call('HINCRBY', key, f, d)
    end
    out[#out + 1] = mine + d
    out[#out + 1] = all + d
  end
  redis.call('PEXPIRE', key, 3 * W)
end
return out
)lua";

uint64_t clamp_count(long long v) { return uint64_t(std::clamp<long long>(v, 0, kMaxBudget)); }

}  // namespace

SharedRateLimits::SharedRateLimits(RedisClient& client, proxy::RateLimiter& limiter, std::string prefix,
                                   std::string replica_id)
    : client_(client),
      limiter_(limiter),
      prefix_(std::move(prefix)),
      replica_id_(std::move(replica_id)),
      leases_(limiter.slot_count()) {}

// What this replica asks to hold of one budget: what it spent plus a few syncs of
// its recent rate, kept while the reservation stays within two headrooms of that (so a
// steady tenant does not move Redis every sync); what it spent alone once idle.
uint64_t SharedRateLimits::target(Budget& b, uint64_t spent, uint64_t limit, uint64_t replicas, bool idle) {
  const uint64_t step = spent > b.last_spent ? spent - b.last_spent : 0;
  b.rate = 0.8 * b.rate + 0.2 * double(step);
  b.last_spent = spent;
  if (limit == 0) return 0;
  if (idle) return std::min(spent, limit);
  const uint64_t floor = std::max<uint64_t>(1, limit / 200);
  const uint64_t ceiling = std::max(floor, limit / (4 * std::max<uint64_t>(1, replicas)));
  const uint64_t headroom = std::clamp(uint64_t(std::ceil(4 * b.rate)), floor, ceiling);
  if (b.grant >= spent + headroom && b.grant <= spent + 2 * headroom) return b.grant;
  return std::min(spent + headroom, limit);
}

void SharedRateLimits::sync(uint64_t now_ms, uint64_t replicas) {
  replicas_ = std::max<uint64_t>(1, replicas);
  if (in_flight_ || !client_.up()) return;
  std::vector<std::string> args{"EVAL", kReserveScript, "0", prefix_, replica_id_, std::to_string(kWindowMs)};
  sent_.clear();
  // The first script carries no tenant: it learns Redis's clock, whose minutes are the windows.
  if (clock_known_) {
    scratch_.clear();
    limiter_.for_each_claimed([&](uint32_t slot) { scratch_.push_back(slot); });
    const size_t n = scratch_.size();
    for (size_t i = 0; i < n && sent_.size() < kMaxTenantsPerSync; ++i) {
      const uint32_t slot = scratch_[(cursor_ + i) % n];
      if (add(slot, now_ms, args) && sent_.size() == kMaxTenantsPerSync) cursor_ = (cursor_ + i + 1) % n;
    }
  }
  if (sent_.empty() && clock_known_) return;
  if (!client_.command(args, [this](const redisReply* r) {
        in_flight_ = false;
        on_reply(r, uint64_t(util::steady_ns() / 1'000'000));
      }))
    return;
  in_flight_ = true;
}

// Adds one tenant's reservation to the script; false when it has nothing to say.
bool SharedRateLimits::add(uint32_t slot, uint64_t now_ms, std::vector<std::string>& args) {
  const proxy::RateSlotView v = limiter_.read_slot(slot);
  if (v.key == 0 || !v.policy.active() || now_ms >= v.window_start_ms + kWindowMs) return false;
  Lease& lease = leases_[slot];
  if (lease.key != v.key || lease.window_start_ms != v.window_start_ms) {
    lease = Lease{};
    lease.key = v.key;
    lease.window_start_ms = v.window_start_ms;
  }
  lease.window_id = uint64_t((int64_t(v.window_start_ms) + offset_ms_ + int64_t(kWindowMs / 2)) / int64_t(kWindowMs));
  lease.idle_syncs = v.requests == lease.requests.last_spent ? lease.idle_syncs + 1 : 0;
  const bool idle = lease.idle_syncs >= kIdleSyncs;
  const uint64_t want_tokens = target(lease.tokens, v.tokens, v.policy.tokens_per_minute, replicas_, idle);
  const uint64_t want_requests = target(lease.requests, v.requests, v.policy.requests_per_minute, replicas_, idle);
  // Idle and already given back: nothing to say until it spends again.
  if (idle && want_tokens == lease.tokens.grant && want_requests == lease.requests.grant) return false;
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(v.key));
  args.insert(args.end(),
              {hash, std::to_string(lease.window_id), std::to_string(want_tokens), std::to_string(want_requests),
               std::to_string(v.policy.tokens_per_minute), std::to_string(v.policy.requests_per_minute)});
  sent_.push_back({slot, v.policy});
  return true;
}

// Our clock's time of Redis's minute boundaries, modulo the window.
uint64_t SharedRateLimits::window_origin() const {
  const int64_t w = int64_t(kWindowMs);
  return uint64_t(((-offset_ms_) % w + w) % w);
}

void SharedRateLimits::refuse(std::string why) {
  ++errors_;
  last_error_ = std::move(why);
  go_local(replicas_);
}

void SharedRateLimits::go_local(uint64_t replicas) {
  replicas_ = std::max<uint64_t>(1, replicas);
  if (clock_known_) limiter_.set_shared(window_origin(), replicas_);
  limiter_.clear_allowances();
  for (Lease& lease : leases_) lease.tokens.grant = lease.requests.grant = 0;
}

void SharedRateLimits::on_reply(const redisReply* r, uint64_t now_ms) {
  if (!r) return refuse("rate limits: no reply (" + client_.last_error() + ")");
  if (r->type == REDIS_REPLY_ERROR) return refuse("rate limits: " + std::string(r->str, std::min<size_t>(r->len, 200)));
  if (r->type != REDIS_REPLY_ARRAY || r->elements != 1 + 4 * sent_.size())
    return refuse("rate limits: malformed reply");
  for (size_t i = 0; i < r->elements; ++i)
    if (r->element[i]->type != REDIS_REPLY_INTEGER) return refuse("rate limits: malformed reply");
  const long long redis_now = r->element[0]->integer;
  if (redis_now <= 0 || redis_now > (int64_t(1) << 52)) return refuse("rate limits: malformed reply");
  // Our clock's offset from Redis's; the window origin moves only when it drifted far.
  const int64_t offset = redis_now - int64_t(now_ms);
  if (!clock_known_ || std::llabs(offset - offset_ms_) > 250) {
    offset_ms_ = offset;
    clock_known_ = true;
  }
  limiter_.set_shared(window_origin(), replicas_);
  ++syncs_;
  last_error_.clear();
  tenants_ = sent_.size();
  for (size_t i = 0; i < sent_.size(); ++i) {
    const Sent& s = sent_[i];
    Lease& lease = leases_[s.slot];
    const proxy::RateSlotView v = limiter_.read_slot(s.slot);
    if (v.key != lease.key || v.window_start_ms != lease.window_start_ms) continue;  // the slot moved on
    const redisReply* const* e = r->element + 1 + 4 * i;
    auto update = [](Budget& b, long long grant, long long total) {
      const uint64_t others_before = b.total - b.grant;
      b.grant = clamp_count(grant);
      b.total = std::max(b.grant, clamp_count(total));
      const uint64_t others = b.total - b.grant;
      b.others_growth = others > others_before ? others - others_before : 0;
    };
    update(lease.tokens, e[0]->integer, e[1]->integer);
    update(lease.requests, e[2]->integer, e[3]->integer);
    // Its reservation, and its share of what nobody reserved less the others' last growth.
    auto allowance = [this](const Budget& b, uint64_t limit) {
      const uint64_t unreserved = limit - std::min(limit, b.total);
      return b.grant + (unreserved - std::min(unreserved, b.others_growth)) / replicas_;
    };
    proxy::RateAllowance a;
    a.window_start_ms = lease.window_start_ms;
    a.tokens = allowance(lease.tokens, s.policy.tokens_per_minute);
    a.requests = allowance(lease.requests, s.policy.requests_per_minute);
    a.others_tokens = lease.tokens.total - lease.tokens.grant;
    a.others_requests = lease.requests.total - lease.requests.grant;
    limiter_.set_allowance(s.slot, a);
  }
}

void SharedRateLimits::append_metrics(std::string& out) const {
  out +=
      "# HELP ringgate_shared_state_rate_limit_syncs_total Budget reservations answered by Redis.\n"
      "# TYPE ringgate_shared_state_rate_limit_syncs_total counter\n"
      "ringgate_shared_state_rate_limit_syncs_total " +
      std::to_string(syncs_) +
      "\n# HELP ringgate_shared_state_rate_limit_tenants Tenants whose budgets the last reservation carried.\n"
      "# TYPE ringgate_shared_state_rate_limit_tenants gauge\n"
      "ringgate_shared_state_rate_limit_tenants " +
      std::to_string(tenants_) + "\n";
}

void SharedRateLimits::append_debug(std::string& out) const {
  uint64_t held_tokens = 0, held_requests = 0;
  for (const Lease& lease : leases_) {
    held_tokens += lease.tokens.grant;
    held_requests += lease.requests.grant;
  }
  out += "{\"syncs\":" + std::to_string(syncs_) + ",\"errors\":" + std::to_string(errors_) +
         ",\"tenants\":" + std::to_string(tenants_) + ",\"reservedTokens\":" + std::to_string(held_tokens) +
         ",\"reservedRequests\":" + std::to_string(held_requests) +
         ",\"clockOffsetMs\":" + std::to_string(clock_known_ ? offset_ms_ : 0) + ",\"lastError\":";
  util::append_json_string(out, last_error_);
  out += "}";
}

}  // namespace ringgate::control
