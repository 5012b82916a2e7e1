#include "ringgate/control/dry_run_picker.h"

#include <cmath>
#include <cstdio>

#include "ringgate/http/error_response.h"
#include "ringgate/openai/api_routes.h"
#include "ringgate/proxy/route_hints.h"
#include "ringgate/sched/endpoint_report.h"
#include "ringgate/util/json_text.h"

namespace ringgate::control {
namespace {

const proxy::RequestRules kNoRules;

AdminResponse error(int status, std::string_view code, std::string_view message) {
  return {status, "application/json", http::error_body(status, code, message)};
}

// `path=` of a query string (no percent-decoding: a path has nothing to escape).
std::string_view query_path(std::string_view query) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    if (pair.substr(0, 5) == "path=") return pair.substr(5);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return "/v1/completions";
}

const char* reason_name(sched::PickReason reason) {
  switch (reason) {
    case sched::PickReason::Score: return "score";
    case sched::PickReason::Session: return "session";
    case sched::PickReason::Response: return "response";
    case sched::PickReason::PrefixPlacement: return "prefix_placement";
    case sched::PickReason::Slo: return "slo";
    case sched::PickReason::None: break;
  }
  return "none";
}

}  // namespace

DryRunPicker::DryRunPicker(const proxy::RouterShared& shared, size_t snapshot_slot, const proxy::RulesPublisher* rules,
                           size_t rules_slot)
    : router_(shared, snapshot_slot, unused_stats_), digest_(proxy::DigestOptions{shared.prefix_block_bytes, shared.media, nullptr}) {
  if (rules) rules_reader_ = rules->reader(rules_slot);
}

DryRunPicker::~DryRunPicker() { rules_reader_.release(); }

AdminResponse DryRunPicker::pick(const http::Request& request, std::string_view query) {
  // The route table's paths that the data path proxies: their body fields and routing.
  const std::string_view path = query_path(query);
  const openai::ApiRoute* api = openai::find_route(path);
  if (api == nullptr || api->handler != openai::RouteHandler::Proxy)
    return error(400, "invalid_path", "path= must name an API path the gateway proxies (POST /v1/completions, ...)");
  router_.refresh();
  const proxy::RequestRules* rules = rules_reader_.refresh();
  if (rules == nullptr) rules = &kNoRules;

  // The body as the data path reads it: the scanner and the prefix chain first; a body
  // the scanner does not understand read whole (which words any error).
  body_.assign(request.body);
  openai::BodyReader::pad(body_);
  digest_.begin(*api, body_.size());
  digest_.advance(body_);
  const bool digested = digest_.finish(*api, body_, fields_);
  if (!digested) {
    const openai::BodyError bad = body_reader_.read(*api, request.header("content-type"), body_, body_.capacity(), fields_);
    if (bad.status != 0) return error(bad.status, bad.code, bad.message);
  }
  const config::RewriteDecision rewrite = proxy::pick_model_rewrite(*rules, fields_.model, rng_.next(), request);
  const std::string target(rewrite.target);

  proxy::RouteRequest route;
  route.model = target;
  route.stats_target = target;
  route.prompt_parts = fields_.prompt_parts;
  route.body = body_;
  route.text_fields = api->routed_text();
  if (digested) {
    route.prefix_chain = digest_.chain();
    route.chained = true;
    route.root_blocks = digest_.root_blocks();
    route.prompt_bytes = digest_.prompt_bytes();
  }
  proxy::add_route_hints(route, request, fields_.keys, *rules);
  route.hold_when_saturated = rules->flow.enabled;
  route.dry_run = true;
  const proxy::RouteDecision decision = router_.route(route);
  digest_.trim();
  const bool held = decision.saturated && route.hold_when_saturated;
  if (decision.status != 0 && !held) return error(decision.status, decision.code, decision.message);

  std::string out = "{\"path\":";
  util::append_json_string(out, path);
  out += ",\"model\":";
  util::append_json_string(out, fields_.model);
  out += ",\"target_model\":";
  util::append_json_string(out, target);
  out += ",\"endpoint\":";
  if (held) {
    out += "null,\"held\":true";  // every candidate saturated: the request would wait in the gateway
  } else {
    std::string endpoint(decision.endpoint_host);
    endpoint += ':';
    util::append_uint(endpoint, decision.endpoint_port);
    util::append_json_string(out, endpoint);
    out += ",\"held\":false";
  }
  out += ",\"data_parallel_rank\":";
  out += !held && decision.dp.rank >= 0 ? std::to_string(decision.dp.rank) : "null";
  out += ",\"reason\":";
  util::append_json_string(out, held ? "saturated" : reason_name(decision.reason));
  // The key that made the request's session (scheduler.sessionKeys), null: none; it
  // pinned the pick when the reason is "session" (else the load guard let scores decide).
  out += ",\"session_key\":";
  if (route.session_source == sched::SessionSource::None) out += "null";
  else util::append_json_string(out, sched::kSessionSourceNames[size_t(route.session_source)]);
  out += ",\"matched_blocks\":";
  util::append_uint(out, decision.matched_blocks);
  out += decision.prefix_stood_down ? ",\"prefix_stood_down\":true" : ",\"prefix_stood_down\":false";
  out += ",\"total_blocks\":";
  util::append_uint(out, decision.total_blocks);
  out += ",\"precise_blocks\":";
  util::append_uint(out, decision.precise_blocks);
  // The request's latency objectives (x-slo-ttft-ms / x-slo-tpot-ms; 0: none), whether
  // the SLO-aware pick found a server predicted to meet them, and which of those it takes
  // (scheduler.headroomSelectionStrategy).
  out += ",\"slo\":{\"ttft_ms\":";
  util::append_json_double(out, route.slo.ttft_ms, 17);
  out += ",\"tpot_ms\":";
  util::append_json_double(out, route.slo.tpot_ms, 17);
  out += std::string(",\"met\":") + (decision.slo_met ? "true" : "false");
  out += std::string(",\"headroom_strategy\":\"") +
         (router_.scheduler_config().headroom_strategy == sched::HeadroomStrategy::Most ? "most" : "least") + "\"}";
  // Where the load part of the scores came from (scheduler.loadSignal).
  out += ",\"load_signal\":";
  sched::append_load_signal_json(out, router_.scheduler_config());
  out += ",\"scorers\":";
  sched::append_scorers_json(out, router_.scheduler_config().weights);
  const sched::EndpointSnapshot* snapshot = router_.snapshot();
  // Replicas as the shared state last saw them (more than 1 and the index not shared:
  // unseen prompts go home).
  out += ",\"gateway_replicas\":";
  util::append_uint(out, snapshot ? snapshot->gateway_replicas() : 1);
  out += ",\"prefix_index_shared\":";
  out += snapshot && snapshot->prefix_index_shared() ? "true" : "false";
  out += ",\"candidates\":[";
  bool first = true;
  // Every candidate gathered; those a filter took out come last, marked and not scored.
  const size_t scored = router_.last_candidates().size();
  size_t position = 0;
  for (const sched::EndpointSignals& c : router_.last_gathered()) {
    if (snapshot == nullptr || c.index >= snapshot->size()) break;
    if (!first) out += ',';
    first = false;
    out += "{\"endpoint\":";
    util::append_json_string(out, snapshot->at(c.index).address.text());
    out += std::string(",\"filtered\":") + (position++ >= scored ? "true" : "false");
    // A data-parallel rank's (null: the whole server): ranks behind one port share the address.
    const int32_t rank = snapshot->at(c.index).dp.rank;
    out += ",\"data_parallel_rank\":";
    out += rank >= 0 ? std::to_string(rank) : "null";
    out += ",\"total\":";
    util::append_json_double(out, c.total, 17);
    // "<scorer>_score" for every scorer that ran ("kv-cache" -> "kv_cache_score").
    for (size_t slot = 0; slot < sched::kScorerCount; ++slot) {
      if (router_.scheduler_config().weights[slot] == 0) continue;
      out += ",\"";
      for (char ch : sched::kScorers[slot].name) out += ch == '-' ? '_' : ch;
      out += "_score\":";
      util::append_json_double(out, c.scores[slot], 17);
    }
    out += ",\"prefix_blocks\":";
    util::append_uint(out, c.prefix_blocks);
    out += ",\"load\":";
    util::append_json_double(out, c.load, 17);
    out += ",\"inflight\":";
    util::append_int(out, c.inflight);
    out += ",\"waiting\":";
    util::append_json_double(out, c.waiting, 17);
    out += ",\"running\":";
    util::append_json_double(out, c.running, 17);
    out += ",\"kv_usage\":";
    util::append_json_double(out, c.kv_usage, 17);
    out += std::string(",\"fresh\":") + (c.fresh ? "true" : "false");
    out += ",\"metrics_age_ms\":";
    util::append_int(out, std::chrono::duration_cast<std::chrono::milliseconds>(c.metrics_age).count());
    out += std::string(",\"placement\":") + (c.placement ? "true" : "false");
    out += std::string(",\"overloaded\":") + (c.overloaded ? "true" : "false");
    // The latency model's predictions for the request there (0 when nothing asked for them).
    out += ",\"predicted_ttft_ms\":";
    util::append_json_double(out, c.predicted_ttft_ms, 17);
    out += ",\"predicted_tpot_ms\":";
    util::append_json_double(out, c.predicted_tpot_ms, 17);
    out += ",\"predicted_ttft_p90_ms\":";  // what the SLO pick holds against the objectives
    util::append_json_double(out, c.predicted_ttft_p90_ms, 17);
    out += ",\"predicted_tpot_p90_ms\":";
    util::append_json_double(out, c.predicted_tpot_p90_ms, 17);
    out += std::string(",\"latency_cold\":") + (c.latency_cold ? "true" : "false");
    out += ",\"inflight_prefill_tokens\":";
    util::append_json_double(out, c.inflight_prefill_tokens, 17);
    // The mean age of the streams there still awaiting their first token: a floor under
    // predicted_ttft_ms (a server that stalls shows here first).
    out += ",\"awaiting_age_ms\":";
    util::append_json_double(out, c.awaiting_age_ms, 17);
    out += ",\"tie_rank\":\"";  // 64 bits: a string, JSON numbers are doubles
    util::append_hex(out, c.tie_rank);
    out += "\"}";
  }
  out += "]}\n";
  return {200, "application/json", std::move(out)};
}

}  // namespace ringgate::control
