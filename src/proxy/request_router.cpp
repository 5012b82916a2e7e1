#include "ringgate/proxy/request_router.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "ringgate/sched/saturation_detector.h"

namespace ringgate::proxy {

namespace {
bool any_routable(const sched::EndpointSnapshot& snapshot) {
  for (const sched::EndpointState& e : snapshot.endpoints())
    if (e.routable) return true;
  return false;
}

void refuse_saturated(RouteDecision& decision) {
  decision.status = 429;
  decision.saturated = true;
  decision.code = "pool_saturated";
  decision.message = "every model server is saturated and the request is sheddable";
}
}  // namespace

RequestRouter::RequestRouter(const RouterShared& shared, size_t worker_slot, metrics::WorkerStats& stats)
    : shared_(shared),
      reader_(shared.publisher->reader(worker_slot)),
      hasher_(shared.prefix_block_bytes, sched::kDefaultMaxPrefixBlocks, shared.media),
      scheduler_(shared.scheduler, *shared.index, *shared.inflight, shared.exact),
      rng_(0x5eed0000ull + worker_slot),
      stats_(stats) {
  if (shared.latency_rings != nullptr && worker_slot < shared.latency_ring_count)
    latency_ring_ = &shared.latency_rings[worker_slot];
  if (shared.placement_rings != nullptr && worker_slot < shared.placement_ring_count)
    placement_ring_ = &shared.placement_rings[worker_slot];
  hashes_.reserve(4096);
  exclude_.reserve(256);
  if (shared.scheduler.precise_prefix && shared.exact != nullptr) {
    tokenizer_ = shared.tokenizer ? shared.tokenizer
                                  : std::make_shared<const openai::SimByteTokenizer>(shared.media.image_tokens,
                                                                                     shared.media.audio_tokens);
    vllm_hasher_ = std::make_unique<kvevents::VllmBlockHasher>(shared.scheduler.hash_seed);
    block_hashes_ = std::make_unique<kvevents::BlockHashMemo>(*vllm_hasher_, shared.scheduler.precise_block_size);
  }
}

RequestRouter::~RequestRouter() { reader_.release(); }

RouteDecision RequestRouter::route(const RouteRequest& request) {
  const auto started = sched::Clock::now();
  RouteDecision decision;
  if (snapshot_ == nullptr || snapshot_->size() == 0) {
    decision.status = 503;
    decision.code = "no_endpoint";
    decision.message = "no model server is available";
    count_attempt(request, false, 0);
    return decision;
  }
  if (request.chained) sched::PrefixHasher::keys(request.model, request.prefix_chain, hashes_);
  else hasher_.hash(request.model, request.prompt_parts, hashes_);
  sched::PickRequest pick;
  pick.model = request.model;
  pick.prefix_hashes = hashes_;
  pick.root_blocks = request.root_blocks;
  precise_hashes_.clear();
  size_t tokenized = 0;  // the tokenizer's count of the whole prompt (0: it did not read it all)
  if (tokenizer_ && !request.body.empty() && request.text_fields != 0) {
    probe_.start(request.model);
    const bool encoded =
        tokenizer_->encode(request.text_fields, request.body, token_ids_, !request.dry_run, &probe_, &media_runs_);
    if (encoded && probe_.stopped) {
      pick.precise_total_blocks = std::max(probe_.whole_blocks, precise_hashes_.size());  // hashed by the probe
    } else {
      precise_hashes_.clear();  // the probe's, if it asked for more
      if (encoded) block_hashes_->hash_prompt(token_ids_, probe_.lora, media_runs_, precise_hashes_);
      if (encoded) tokenized = token_ids_.size();
    }
  }
  pick.precise_hashes = precise_hashes_;
  // The prompt's length as llm-d's token-producer gives it: 4 bytes a token (its estimate
  // backend), or the tokenizer's count when it read the whole prompt.
  const uint64_t prompt_bytes = request.chained ? request.prompt_bytes : hasher_.prompt_bytes(request.prompt_parts);
  pick.prompt_tokens = uint32_t(std::min<uint64_t>((prompt_bytes + 3) / 4, sched::kMaxContextLength));
  if (tokenized > 0) pick.prompt_tokens = uint32_t(std::min<uint64_t>(tokenized, sched::kMaxContextLength));
  pick.session_id = request.session_id;
  pick.sheddable = request.sheddable;
  pick.hold_when_saturated = request.hold_when_saturated;
  pick.saturation = request.saturation;
  pick.now = started;
  pick.exclude = request.exclude;
  pick.leg = request.leg;
  pick.tokens_per_block = double(hasher_.block_bytes()) / 4;
  pick.slo = request.slo;
  sched::PickResult result;
  PassiveHealth* health = shared_.health;
  if (health == nullptr || health->ejected_count() == 0) {
    result = scheduler_.pick(*snapshot_, pick, rng_);
  } else {
    // Some endpoint is ejected: leave out those that are (or whose half-open trial is
    // running), and claim the trial of a half-open one when it wins.
    const uint64_t now_ms = PassiveHealth::now_ms();
    exclude_.assign(request.exclude.begin(), request.exclude.end());
    for (const sched::EndpointState& e : snapshot_->endpoints())
      if (e.routable && health->blocked(e.id, now_ms)) exclude_.push_back(e.id);
    const bool screened = exclude_.size() > request.exclude.size();
    pick.exclude = exclude_;
    result = scheduler_.pick(*snapshot_, pick, rng_);
    // A dry run claims nothing: it answers what this request would get.
    for (int lost = 0; result.ok() && !request.dry_run && !health->claim_trial(result.endpoint, now_ms) && lost < 4;
         ++lost) {
      exclude_.push_back(result.endpoint);  // another request holds its trial
      pick.exclude = exclude_;
      result = scheduler_.pick(*snapshot_, pick, rng_);
    }
    if (screened && result.status == sched::PickStatus::AllExcluded) {
      // Every candidate is ejected: ejection only helps when there is somewhere else
      // to go, so route as if none were (a one-endpoint pool keeps serving).
      pick.exclude = request.exclude;
      result = scheduler_.pick(*snapshot_, pick, rng_);
    }
  }
  static_assert(sched::kPluginSteps.size() <= std::tuple_size_v<decltype(stats_.plugin_duration)>);
  if (!request.dry_run) {
    const auto ended = sched::Clock::now();
    decision.started_ns = uint64_t(std::chrono::nanoseconds(started.time_since_epoch()).count());
    decision.ended_ns = uint64_t(std::chrono::nanoseconds(ended.time_since_epoch()).count());
    stats_.scheduler_duration.observe(std::chrono::duration<double>(ended - started).count(),
                                      metrics::kSchedulerDurationBuckets);
  }
  if (result.scored && !request.dry_run)
    for (size_t i = 0; i < sched::kPluginSteps.size(); ++i)
      if (result.step_ran[i])  // a scorer of weight 0 is not run
        stats_.plugin_duration[i].observe(double(result.step_ns[i]) / 1e9, metrics::kSchedulerDurationBuckets);
  switch (result.status) {
    case sched::PickStatus::Ok: break;
    case sched::PickStatus::UnknownModel:
      // With no routable server the pool's models are not known at all: that is an
      // unavailable pool (503), not a model nobody serves (404).
      if (!any_routable(*snapshot_)) {
        decision.status = 503;
        decision.code = "no_endpoint";
        decision.message = "no model server is available";
        break;
      }
      decision.status = 404;
      decision.code = "model_not_found";
      decision.message = "no model server serves the requested model";
      break;
    case sched::PickStatus::NoneRoutable:
      decision.status = 503;
      decision.code = "no_endpoint";
      decision.message = "no model server that serves the requested model is available";
      break;
    case sched::PickStatus::AllExcluded:
      decision.status = 502;
      decision.code = "upstream_unavailable";
      decision.message = "every model server that serves the requested model failed";
      break;
    case sched::PickStatus::Saturated: refuse_saturated(decision); break;
    case sched::PickStatus::SloUnattainable:
      decision.status = 429;
      decision.code = "slo_unattainable";
      decision.message = "no model server is predicted to meet the request's latency objectives and it is sheddable";
      break;
  }
  if (decision.status != 0) {
    // A request held by flow control asks again until it is placed: one attempt, counted then.
    if (!(decision.saturated && request.hold_when_saturated)) count_attempt(request, false, 0);
    return decision;
  }
  const sched::EndpointState& endpoint = snapshot_->at(result.index);
  const std::optional<net::Address> address = net::Address::from(endpoint.address.sockaddr);
  if (!address) {
    count_attempt(request, false, 0);
    decision.status = 503;
    decision.code = "no_endpoint";
    decision.message = "the chosen model server has no resolved IPv4 or IPv6 address";
    return decision;
  }
  if (!request.dry_run && !claim(result.endpoint, request)) {
    refuse_saturated(decision);
    return decision;  // held by flow control: asks again, counted when placed
  }
  count_attempt(request, true, result.endpoint);
  if (endpoint.priority > result.best_priority && request.first_attempt && !request.dry_run)
    stats_.priority_overflows.add();
  if (request.first_attempt && !request.dry_run) {  // one prefix lookup per request, as GAIE's prefix plugin records it
    stats_.prefix_hit_ratio.observe(result.prefix_hit_ratio(), metrics::kHitRatioBuckets);
    stats_.prefix_hit_bytes.observe(double(result.matched_blocks) * double(hasher_.block_bytes()),
                                    metrics::kHitBytesBuckets);
  }
  decision.endpoint_id = result.endpoint;
  decision.reason = result.reason;
  decision.matched_blocks = result.matched_blocks;
  decision.prefix_stood_down = result.prefix_stood_down;
  decision.candidates = uint32_t(scheduler_.last_candidates().size());
  decision.total_blocks = result.total_blocks;
  decision.precise_blocks = uint32_t(precise_hashes_.size());
  decision.prefix_hashes = hashes_;
  decision.uncached_tokens = uint32_t(std::min<uint64_t>(
      uint64_t(result.total_blocks - std::min(result.matched_blocks, result.total_blocks)) * hasher_.block_bytes() / 4,
      UINT32_MAX));
  decision.features = result.features;
  {
    const double prompt = double(result.total_blocks) * double(hasher_.block_bytes()) / 4;
    const sched::TokenLoadConfig& load = scheduler_.config().token_load;
    const double tokens = load.add_estimated_output_tokens ? prompt * (1 + sched::kEstimatedOutputRatio) : prompt;
    decision.load_tokens = uint32_t(std::min(tokens, 1e9));
  }
  decision.slo_met = result.slo_met;
  if (result.reason == sched::PickReason::Slo && request.slo.ttft_ms > 0)
    decision.ttft_headroom = (request.slo.ttft_ms - result.predicted_ttft_ms) / request.slo.ttft_ms;
  decision.address = *address;
  decision.server = endpoint.address_hash;
  decision.dp = endpoint.dp;
  decision.endpoint_host = endpoint.address.host;
  decision.endpoint_port = endpoint.address.port;
  return decision;
}

RouteDecision RequestRouter::route_to(uint64_t server, const RouteRequest& request) {
  RouteDecision decision;
  const sched::EndpointState* chosen = nullptr;
  if (snapshot_ != nullptr)
    for (const sched::EndpointState& e : snapshot_->endpoints()) {
      if (e.address_hash != server) continue;
      if (chosen == nullptr || (e.routable && !chosen->routable)) chosen = &e;
    }
  const std::optional<net::Address> address =
      chosen != nullptr ? net::Address::from(chosen->address.sockaddr) : std::nullopt;
  if (!address) {
    count_attempt(request, false, 0);
    decision.status = 404;
    decision.code = "server_gone";
    decision.message = "the pool has no such model server";
    return decision;
  }
  // (No prefix_hashes: nothing is recorded for it, the state it continues is elsewhere.)
  if (!request.dry_run) shared_.inflight->add(chosen->id, request.sheddable);
  count_attempt(request, true, chosen->id);
  decision.endpoint_id = chosen->id;
  decision.reason = sched::PickReason::Response;
  decision.server = chosen->address_hash;
  decision.dp = chosen->dp;
  decision.address = *address;
  decision.endpoint_host = chosen->address.host;
  decision.endpoint_port = chosen->address.port;
  return decision;
}

void RequestRouter::LeadProbe::start(std::string_view target_model) {
  model = target_model;
  stopped = false;
  whole_blocks = 0;
  // vLLM's extra_keys: the adapter's name when the target is a LoRA adapter.
  lora = {};
  const auto serving = router.snapshot_->endpoints_for(model).serving;
  if (!serving.empty()) {
    const auto& adapters = router.snapshot_->endpoints()[serving[0]].lora_adapters;
    if (std::find(adapters.begin(), adapters.end(), model) != adapters.end()) lora = model;
  }
}

// The lead's blocks are the prompt's first blocks: where some server holds them all, its
// match may go on past them, and the whole prompt is needed; else every match ends
// within them, and more ids could change no score.
bool RequestRouter::LeadProbe::wants_more(std::span<const uint32_t> ids, std::size_t whole_ids) {
  std::vector<uint64_t>& hashes = router.precise_hashes_;
  hashes.clear();
  router.block_hashes_->hash_prompt(ids, lora, hashes);
  if (hashes.empty()) return true;
  // (A server not followed by its events answers -1: its score is the approximate one.)
  for (uint32_t i : router.snapshot_->endpoints_for(model).serving)
    if (router.shared_.exact->leading_blocks(router.snapshot_->endpoints()[i].id, hashes) >= int64_t(hashes.size()))
      return true;
  stopped = true;
  whole_blocks = whole_ids / router.shared_.scheduler.precise_block_size;
  return false;
}

void RequestRouter::count_attempt(const RouteRequest& request, bool success, uint32_t endpoint_id) {
  if (!request.first_attempt || request.dry_run) return;
  stats_.scheduler_attempts.find_or_add(metrics::attempt_key(success, request.stats_target, endpoint_id, key_scratch_)).add();
}

// Workers pick at once from the same shared counts: two could both see the last slot
// under a saturation limit free. Under flow control the slot is therefore taken first
// and the limit checked after, everyone's claims counted but this one (the other
// replicas' as last synced too); a request that finds it crossed gives the slot back and
// waits for the next dispatch cycle (when two collide, both may: the conservative side,
// retried within a tick).
bool RequestRouter::claim(uint32_t endpoint_id, const RouteRequest& request) {
  shared_.inflight->add(endpoint_id, request.sheddable);
  if (!request.hold_when_saturated) return true;
  for (const sched::EndpointSignals& chosen : scheduler_.last_candidates()) {
    if (chosen.id != endpoint_id) continue;
    sched::EndpointSignals now = chosen;
    now.inflight = std::max<int64_t>(0, shared_.inflight->get(endpoint_id) - 1) + chosen.remote_inflight;
    now.sheddable_inflight = std::clamp<int64_t>(
        shared_.inflight->get_sheddable(endpoint_id) - (request.sheddable ? 1 : 0), 0, now.inflight);
    const sched::SaturationConfig& saturation =
        request.saturation ? *request.saturation : scheduler_.config().saturation;
    if (!sched::endpoint_saturated(now, saturation, request.sheddable)) return true;
    shared_.inflight->sub(endpoint_id, request.sheddable);
    return false;
  }
  return true;  // (not reached: the chosen endpoint is always among the candidates)
}

void RequestRouter::routed(uint32_t endpoint_id, std::span<const uint64_t> prefix_hashes) {
  scheduler_.on_routed(endpoint_id, prefix_hashes);
  if (placement_ring_ == nullptr || prefix_hashes.empty()) return;
  if (sched::PlacementRecord* r = placement_ring_->claim()) {
    r->endpoint = endpoint_id;
    r->count = uint32_t(std::min(prefix_hashes.size(), r->hashes.size()));
    std::copy_n(prefix_hashes.begin(), r->count, r->hashes.begin());
    placement_ring_->commit();
  }
}

}  // namespace ringgate::proxy
