#pragma once
// POST /debug/pick on the admin listener: the routing decision a request would get
// now, without sending it. The body is read as the data path reads it (PromptDigest,
// then BodyReader), the model rewritten by the same rules, and the decision made by a
// proxy::RequestRouter built on the same shared state as the workers' (endpoint
// snapshot, prefix index, in-flight counts, KV-event index, tokenizer, passive health):
// the same code, not a copy of the scoring. It runs on the control thread with its own
// snapshot and rules reader slots (the routers live on the worker threads, each on its
// own slot) and records nothing: no in-flight count, no prefix remembered, no
// statistics, no tokenizer outcome, no half-open trial claimed.
//
// Answers JSON: the endpoint it would choose (as x-gateway-destination-endpoint names
// it), why, and every candidate's signals and scores; errors as the data path words
// them ({"error":{...}}: bad JSON 400, unknown model 404, no endpoint 503).
#include <cstdint>
#include <string>
#include <string_view>

#include "ringgate/control/admin_server.h"
#include "ringgate/http/request_parser.h"
#include "ringgate/metrics/gateway_stats.h"
#include "ringgate/openai/request_body.h"
#include "ringgate/proxy/prompt_digest.h"
#include "ringgate/proxy/request_router.h"
#include "ringgate/proxy/request_rules.h"
#include "ringgate/sched/rng.h"

namespace ringgate::control {

class DryRunPicker {
 public:
  // `snapshot_slot` / `rules_slot`: reader slots no other thread uses.
  DryRunPicker(const proxy::RouterShared& shared, size_t snapshot_slot, const proxy::RulesPublisher* rules,
               size_t rules_slot);
  ~DryRunPicker();
  DryRunPicker(const DryRunPicker&) = delete;
  DryRunPicker& operator=(const DryRunPicker&) = delete;

  // `query`: the target's query string (path=/v1/chat/completions names the API path).
  AdminResponse pick(const http::Request& request, std::string_view query);

 private:
  // The router's statistics: it wants somewhere to count, a dry run counts nothing,
  // and this object is attached to nothing.
  metrics::WorkerStats unused_stats_;
  proxy::RequestRouter router_;
  proxy::RulesPublisher::Reader rules_reader_;
  openai::BodyReader body_reader_;
  proxy::PromptDigest digest_;
  openai::RequestFields fields_;
  std::string body_;  // the request's body, padded for BodyReader
  sched::Rng rng_{0xd27};  // weighted model rewrites draw from it, as a worker's Exchange does
};

}  // namespace ringgate::control
