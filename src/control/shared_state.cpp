#include "ringgate/control/shared_state.h"

#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <random>
#include <vector>

#include "ringgate/util/json_text.h"

namespace ringgate::control {
namespace {

// One round trip per sync, atomic: refresh this replica in the live set (scored by
// Redis's clock, so replicas' clocks need not agree), replace its counts, and return
// {live replicas, field, sum over the OTHER live replicas, field, sum, ...}.
// ARGV: prefix, replica id, ttl ms, then field/count pairs (nonzero counts only): a
// field is an endpoint's address (its in-flight requests) or "tokens@" and the address (its
// in-flight prefill tokens); the script sums any field alike.
constexpr const char* kSyncScript = R"lua(
local prefix, me, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local set = prefix .. ':replicas'
redis.call('ZADD', set, now, me)
redis.call('ZREMRANGEBYSCORE', set, '-inf', now - ttl)
redis.call('PEXPIRE', set, ttl)
local key = prefix .. ':load:' .. me
redis.call('DEL', key)
for i = 4, #ARGV - 1, 2 do redis.call('HSET', key, ARGV[i], ARGV[i + 1]) end
redis.call('PEXPIRE', key, ttl)
local live = redis.call('ZRANGE', set, 0, -1)
local sums, order = {}, {}
for _, r in ipairs(live) do
  if r ~= me then
    local h = redis.call('HGETALL', prefix .. ':load:' .. r)
    for j = 1, #h - 1, 2 do
      local a = h[j]
      if sums[a] == nil then sums[a] = 0; order[#order + 1] = a end
      sums[a] = sums[a] + (tonumber(h[j + 1]) or 0)
    end
  end
end
local out = {#live}
for _, a in ipairs(order) do out[#out + 1] = a; out[#out + 1] = sums[a] end
return out
)lua";

constexpr int64_t kMaxCount = 1'000'000;      // one endpoint's in-flight requests, all replicas
constexpr int64_t kMaxTokens = 10'000'000'000;  // one endpoint's in-flight prefill tokens, all replicas
constexpr std::string_view kTokensField = "tokens@";  // no host name or address has an @
constexpr uint64_t kMaxReplicas = 100'000;    // a count beyond this is nonsense
constexpr size_t kMaxReplicaIdBytes = 128;

std::string default_replica_id() {
  char host[64] = {};
  gethostname(host, sizeof host - 1);
  std::random_device rd;
  std::string id = std::string(host) + ":" + std::to_string(getpid()) + ":";
  util::append_hex(id, (uint64_t(rd()) << 32) | rd());
  return id;
}

}  // namespace

SharedState::SharedState(EpollLoop& loop, SharedStateOptions options, const std::string& pool_name,
                         proxy::RateLimiter* limiter, sched::PrefixIndex& index, proxy::ResponseTable& responses,
                         size_t workers)
    : options_(std::move(options)),
      client_(loop,
              [&] {
                RedisOptions o;
                o.host = options_.redis_host;
                o.port = options_.redis_port;
                o.password_file = options_.password_file;
                o.limits = options_.limits;
                return o;
              }()),
      prefix_(options_.key_prefix + ":" + pool_name),
      replica_id_(options_.replica_id.empty() ? default_replica_id() : options_.replica_id),
      // A replica that missed this many syncs is gone; its counts expire with it.
      ttl_(std::max(std::chrono::milliseconds(500), 25 * options_.sync_interval)) {
  if (replica_id_.size() > kMaxReplicaIdBytes) replica_id_.resize(kMaxReplicaIdBytes);
  if (limiter) rates_ = std::make_unique<SharedRateLimits>(client_, *limiter, prefix_, replica_id_);
  placements_ = std::make_unique<SharedPlacements>(client_, workers, prefix_, replica_id_, 3 * ttl_, index);
  // A response outlives its stream entry only in the tables that read it: the stream
  // is for replicas that are up, as the placements'.
  responses_ = std::make_unique<SharedResponses>(client_, workers, prefix_, replica_id_, 3 * ttl_, responses, workers);
  streams_ = {placements_.get(), responses_.get()};
}

void SharedState::go_local(const char* why) {
  if (shared_) ++fallbacks_;
  shared_ = false;
  if (why) last_error_ = why;
  if (rates_) rates_->go_local(replicas_);
  for (StreamChannel* stream : streams_) stream->go_local();
  if (!remote_.empty()) {
    remote_.clear();
    changed_ = true;
  }
}

void SharedState::tick(Clock::time_point now, const sched::EndpointSnapshot* snapshot,
                       const sched::InflightCounters& inflight) {
  client_.tick(now);
  if (!client_.up()) {
    sync_in_flight_ = false;  // its callback ran (with null) when the connection went
    if (shared_) go_local(client_.last_error().c_str());
    return;
  }
  // A sync late by a few intervals: the others' counts are stale, stop using them
  // (the client gives up on the connection at its own, longer, timeout).
  const auto late = std::max(std::chrono::milliseconds(250), 5 * options_.sync_interval);
  if (sync_in_flight_ && now - sync_sent_ > late && shared_) go_local("sync reply late");
  if (!sync_in_flight_ && now >= next_sync_ && snapshot) sync(now, *snapshot, inflight);
  if (index_shared() != index_shared_) {
    index_shared_ = !index_shared_;
    changed_ = true;
  }
}

void SharedState::sync(Clock::time_point now, const sched::EndpointSnapshot& snapshot,
                       const sched::InflightCounters& inflight) {
  std::vector<std::string> args{"EVAL", kSyncScript, "0", prefix_, replica_id_, std::to_string(ttl_.count())};
  for (const sched::EndpointState& e : snapshot.endpoints()) {
    const int64_t n = inflight.get(e.id);
    if (n <= 0) continue;  // no request in flight, no prefill either
    args.push_back(e.address.text());
    args.push_back(std::to_string(n));
    if (const int64_t tokens = inflight.get_prefill_tokens(e.id); tokens > 0) {
      args.push_back(std::string(kTokensField) + e.address.text());
      args.push_back(std::to_string(tokens));
    }
  }
  // The known addresses, for reading the reply (anything else in it is ignored).
  scratch_.clear();
  for (const sched::EndpointState& e : snapshot.endpoints()) scratch_.emplace(e.address_hash, sched::RemoteLoad{});
  if (!client_.command(args, [this](const redisReply* r) { on_sync_reply(r, Clock::now()); })) return;
  sync_in_flight_ = true;
  sync_sent_ = now;
  // Fixed cadence from the last start, not from the reply: replicas stay in step.
  next_sync_ = std::max(next_sync_ + options_.sync_interval, now);
  if (rates_)
    rates_->sync(uint64_t(std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count()),
                 replicas_);
  for (StreamChannel* stream : streams_) stream->sync(snapshot);
}

void SharedState::on_sync_reply(const redisReply* r, Clock::time_point) {
  sync_in_flight_ = false;
  auto refuse = [&](std::string why) {
    ++sync_errors_;
    last_error_ = std::move(why);
    go_local(nullptr);
  };
  if (!r) return refuse("sync: no reply (" + client_.last_error() + ")");
  if (r->type == REDIS_REPLY_ERROR) return refuse("sync: " + std::string(r->str, std::min<size_t>(r->len, 200)));
  if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 || r->elements % 2 != 1 ||
      r->element[0]->type != REDIS_REPLY_INTEGER || r->element[0]->integer < 1 ||
      uint64_t(r->element[0]->integer) > kMaxReplicas)
    return refuse("sync: malformed reply");
  for (size_t i = 1; i + 1 < r->elements; i += 2) {
    const redisReply* a = r->element[i];
    const redisReply* n = r->element[i + 1];
    if (a->type != REDIS_REPLY_STRING || n->type != REDIS_REPLY_INTEGER) return refuse("sync: malformed reply");
    std::string_view field(a->str, a->len);
    const bool tokens = field.starts_with(kTokensField);
    if (tokens) field.remove_prefix(kTokensField.size());
    auto it = scratch_.find(XXH3_64bits(field.data(), field.size()));
    if (it == scratch_.end()) {
      ++unknown_fields_;  // an endpoint another replica knows and this one not (yet)
      continue;
    }
    if (tokens)
      it->second.prefill_tokens = std::clamp<int64_t>(it->second.prefill_tokens + n->integer, 0, kMaxTokens);
    else
      it->second.inflight = std::clamp<int64_t>(it->second.inflight + n->integer, 0, kMaxCount);
  }
  if (uint64_t(r->element[0]->integer) != replicas_) changed_ = true;
  replicas_ = uint64_t(r->element[0]->integer);
  ++syncs_;
  if (!shared_) last_error_.clear();
  shared_ = true;
  // Only the nonzero sums are kept (and compared: a quiet pool publishes nothing).
  for (auto it = scratch_.begin(); it != scratch_.end();)
    it = it->second == sched::RemoteLoad{} ? scratch_.erase(it) : std::next(it);
  if (scratch_ != remote_) {
    remote_.swap(scratch_);
    changed_ = true;
  }
}

void SharedState::append_metrics(std::string& out) const {
  auto line = [&](const char* name, const char* help, const char* type, uint64_t value) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " +
           std::to_string(value) + "\n";
  };
  const RedisCounters& c = client_.counters();
  line("ringgate_shared_state_up", "1 while replicas share state through Redis; 0: local only (fallback).", "gauge",
       shared_ ? 1 : 0);
  line("ringgate_shared_state_replicas", "Live gateway replicas as last seen in Redis (this one included).", "gauge",
       replicas_);
  line("ringgate_shared_state_syncs_total", "Syncs with Redis answered.", "counter", syncs_);
  line("ringgate_shared_state_fallbacks_total", "Times shared state fell back to local only.", "counter", fallbacks_);
  out +=
      "# HELP ringgate_shared_state_errors_total Redis failures by kind.\n"
      "# TYPE ringgate_shared_state_errors_total counter\n";
  auto kind = [&](const char* k, uint64_t v) {
    out += std::string("ringgate_shared_state_errors_total{kind=\"") + k + "\"} " + std::to_string(v) + "\n";
  };
  kind("connect", c.connect_failures);
  kind("disconnect", c.disconnects);
  kind("timeout", c.timeouts);
  kind("refused_reply", c.refused_replies);
  kind("error_reply", c.error_replies);
  kind("sync", sync_errors_);
  if (rates_) rates_->append_metrics(out);
  for (const StreamChannel* stream : streams_) stream->append_metrics(out);
}

AdminResponse SharedState::render_debug(const sched::EndpointSnapshot* snapshot) const {
  const RedisCounters& c = client_.counters();
  std::string out = "{\"redis\":";
  util::append_json_string(out, options_.redis_host + ":" + std::to_string(options_.redis_port));
  out += ",\"replicaId\":";
  util::append_json_string(out, replica_id_);
  out += ",\"state\":";
  out += shared_ ? "\"shared\"" : "\"local-only\"";
  out += ",\"connected\":";
  out += client_.up() ? "true" : "false";
  out += ",\"syncIntervalMs\":" + std::to_string(options_.sync_interval.count());
  out += ",\"ttlMs\":" + std::to_string(ttl_.count());
  out += ",\"replicas\":" + std::to_string(replicas_);
  out += ",\"syncs\":" + std::to_string(syncs_);
  out += ",\"fallbacks\":" + std::to_string(fallbacks_);
  out += ",\"errors\":{\"connect\":" + std::to_string(c.connect_failures) +
         ",\"disconnect\":" + std::to_string(c.disconnects) + ",\"timeout\":" + std::to_string(c.timeouts) +
         ",\"refusedReply\":" + std::to_string(c.refused_replies) +
         ",\"errorReply\":" + std::to_string(c.error_replies) + ",\"sync\":" + std::to_string(sync_errors_) + "}";
  out += ",\"lastError\":";
  // Not connected: why (refused, AUTH, a hostile reply); connected: what the last sync said.
  const std::string& why = !client_.up() && !client_.last_error().empty() ? client_.last_error() : last_error_;
  util::append_json_string(out, why);
  if (rates_) {
    out += ",\"rateLimits\":";
    rates_->append_debug(out);
  }
  for (const StreamChannel* stream : streams_) {
    out += ",\"";
    out += stream->name();
    out += "\":";
    stream->append_debug(out);
  }
  // The others' in-flight requests and prefill tokens by endpoint (nonzero only).
  auto others = [&](const char* key, int64_t sched::RemoteLoad::*count) {
    out += std::string(",\"") + key + "\":{";
    bool first = true;
    if (!snapshot) return void(out += "}");
    for (const sched::EndpointState& e : snapshot->endpoints()) {
      auto it = remote_.find(e.address_hash);
      if (it == remote_.end() || it->second.*count == 0) continue;
      if (!first) out += ",";
      first = false;
      util::append_json_string(out, e.address.text());
      out += ":" + std::to_string(it->second.*count);
    }
    out += "}";
  };
  others("othersInflight", &sched::RemoteLoad::inflight);
  others("othersPrefillTokens", &sched::RemoteLoad::prefill_tokens);
  out += "}\n";
  return {200, "application/json", std::move(out)};
}

}  // namespace ringgate::control
