#pragma once
// Response ids shared by the gateway's replicas through Redis (part of sharedState), so
// that a request naming a Responses API response (previous_response_id, GET/DELETE/cancel
// of /v1/responses/{id}) finds its server whichever replica routed the request that made
// it: what each replica's workers learn (and forget) goes into every other replica's
// response table (proxy/response_table.h) within a sync or two; a request that names an
// id its replica does not know yet waits that long for it (proxy/response_wait.h).
// Control thread only; the workers only write their rings (proxy/response_record.h).
//
// Every sync, one round trip (stream_exchange.h) appends this replica's changes since the
// last sync as one entry of the stream PREFIX:POOL:responses (trimmed to kStreamEntries)
// and returns the others' entries after the last one read, at most kReadEntries. An
// entry's payload is response_payload.h's records. Everything read is bounded and
// checked: a malformed entry is counted and left where it breaks, the rest applied. Each
// id learned so is announced to the workers that have requests waiting (arrivals()).
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "ringgate/control/stream_exchange.h"
#include "ringgate/proxy/response_arrivals.h"
#include "ringgate/proxy/response_record.h"
#include "ringgate/proxy/response_table.h"

namespace ringgate::control {

class SharedResponses {
 public:
  static constexpr size_t kMaxEntryBytes = 32 * 1024;  // one sync's changes (>= 120 ids); more are dropped
  static constexpr size_t kReadEntries = 16;           // the others' entries read a sync (<= 512 KB)
  static constexpr size_t kStreamEntries = 4096;       // what the stream keeps

  // `workers`: one ring each. `prefix`: PREFIX:POOL.
  SharedResponses(RedisClient& client, proxy::ResponseTable& table, size_t workers, std::string prefix,
                  std::string replica_id, std::chrono::milliseconds ttl);

  proxy::ResponseRing* rings() { return rings_.get(); }
  // The ids learned from the others, announced to the workers' waiting requests.
  proxy::ResponseArrivals& arrivals() { return arrivals_; }
  size_t ring_count() const { return ring_count_; }

  // Sends what the workers learned since the last sync and asks for the others' (nothing
  // when the last reply is still awaited: the rings keep the records meanwhile).
  void sync();
  bool current() const { return exchange_.current(); }
  void go_local() { exchange_.go_local(); }

  // One stream entry's payload into the table; false when malformed (what came before
  // the fault is applied). Public for the tests.
  bool apply(std::string_view payload);

  void append_metrics(std::string& out) const;
  void append_debug(std::string& out) const;  // a JSON object

 private:
  uint64_t dropped() const;

  proxy::ResponseTable& table_;
  size_t ring_count_;
  std::unique_ptr<proxy::ResponseRing[]> rings_;
  proxy::ResponseArrivals arrivals_;
  StreamExchange exchange_;
  std::string payload_;
  uint64_t sent_ = 0, received_ = 0, dropped_ = 0;
};

}  // namespace ringgate::control
