#pragma once
// Response ids shared by the gateway's replicas through Redis (part of sharedState), so
// that a request naming a Responses API response (previous_response_id, GET/DELETE/cancel
// of /v1/responses/{id}) finds its server whichever replica routed the request that made
// it: what each replica's workers learn (and forget) goes into every other replica's
// response table (proxy/response_table.h) within a sync or two; a request that names an
// id its replica does not know yet waits that long for it (proxy/response_wait.h). The
// workers only write their rings (proxy/response_record.h); the stream is a SharedStream
// (shared_stream.h), PREFIX:POOL:responses. An entry's payload is response_payload.h's
// records. Each id learned so is announced to the workers that have requests waiting
// (arrivals()).
#include <cstdint>
#include <string>
#include <string_view>

#include "ringgate/control/shared_stream.h"
#include "ringgate/proxy/response_arrivals.h"
#include "ringgate/proxy/response_record.h"
#include "ringgate/proxy/response_table.h"

namespace ringgate::control {

class ResponseStream {
 public:
  static constexpr StreamNames kNames = {
      "responses",
      "ringgate_shared_state_response_syncs_total",
      "Response-id exchanges answered by Redis (one EVAL each).",
      "ringgate_shared_state_responses_total",
      "Responses API ids (learned or forgotten) passed to or taken from the other replicas (dropped: not passed "
      "on, a ring or one sync's entry full; malformed: entries read that broke off).",
      true};
  static constexpr size_t kRingSize = proxy::kResponseRingSize;

  // `table`: where the others' ids go; `workers`: the workers their arrivals are announced to.
  ResponseStream(proxy::ResponseTable& table, size_t workers) : table_(table), arrivals_(workers) {}

  // The ids learned from the others, announced to the workers' waiting requests.
  proxy::ResponseArrivals& arrivals() { return arrivals_; }

  void begin(const sched::EndpointSnapshot&) {}
  StreamAppend append(std::string& entry, size_t max_bytes, const proxy::ResponseRecord& record,
                      const sched::EndpointSnapshot&);
  bool apply(std::string_view payload, uint64_t& received);
  void append_debug_members(std::string&) const {}

 private:
  proxy::ResponseTable& table_;
  proxy::ResponseArrivals arrivals_;
};

using SharedResponses = SharedStream<proxy::ResponseRecord, ResponseStream>;

}  // namespace ringgate::control
