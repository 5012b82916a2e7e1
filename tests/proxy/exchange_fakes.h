#pragma once
// The fakes the Exchange is tested through (tests/proxy/exchange_test.cpp,
// flow_exchange_test.cpp): a client that keeps what it is sent, upstream channels that
// record what they would send, and a router over `endpoints` endpoints that counts the
// slots it hands out (in_flight: back to zero once every request is over) and, when
// `saturated`, holds a request that asks to wait (flow control) as the detector would.
#include <algorithm>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ringgate/proxy/exchange.h"

namespace ringgate::proxy::testing {

struct FakeClient : ExchangeClient {
  std::string out;
  int finished = 0;
  bool keep_alive = false;
  bool aborted = false;
  std::string& output() override { return out; }
  void flush() override {}
  void exchange_finished(bool k) override {
    ++finished;
    keep_alive = k;
  }
  void exchange_aborted() override { aborted = true; }
};

struct FakeChannel : UpstreamChannel {
  uint32_t endpoint = 0;
  bool is_reused = false;
  bool sending = false;
  bool released = false;
  bool released_reusable = false;
  bool paused = false;
  http::BodyBuffer taken_body;  // what release() took while a send was in flight
  std::string sent;        // the request as the iovecs would send it
  AttemptListener* listener = nullptr;
  bool reused() const override { return is_reused; }
  bool send_in_flight() const override { return sending; }
  void release(bool reusable, http::BodyBuffer& body) override {
    released = true;
    released_reusable = reusable;
    if (sending) taken_body = std::move(body);
  }
  void pause_reading(bool p) override { paused = p; }
  uint32_t read_idle_ms = 0;  // set_read_idle_timeout (0: never set)
  void set_read_idle_timeout(uint32_t ms) override { read_idle_ms = ms; }
};

struct FakeUpstreams : UpstreamSide {
  std::vector<std::unique_ptr<FakeChannel>> attempts;
  std::vector<bool> allow_reuse;
  std::vector<uint64_t> generations;  // each open's RequestImage::generation
  bool sending = true;     // a new channel's send is still in flight
  int pooled = 0;          // this many next opens with allow_reuse get a reused connection
  int refuse_sockets = 0;  // this many next opens fail at once (no socket)
  UpstreamChannel* open(uint32_t endpoint_id, const net::Address&, bool reuse, const RequestImage& image,
                        AttemptListener* listener) override {
    allow_reuse.push_back(reuse);
    generations.push_back(image.generation);
    if (refuse_sockets > 0) {
      --refuse_sockets;
      return nullptr;
    }
    auto a = std::make_unique<FakeChannel>();
    a->endpoint = endpoint_id;
    a->listener = listener;
    a->is_reused = reuse && pooled > 0;
    if (a->is_reused) --pooled;
    a->sending = sending;
    a->sent.append(image.head);
    if (image.model_token.empty()) {
      a->sent.append(image.body);
    } else {
      a->sent.append(image.body.substr(0, image.model_offset));
      a->sent.append(image.model_token);
      a->sent.append(image.body.substr(image.model_offset + image.model_length));
    }
    attempts.push_back(std::move(a));
    return attempts.back().get();
  }
};

struct FakeRouter : RouteService {
  uint32_t endpoints = 3;
  std::vector<uint32_t> failed, succeeded;
  int in_flight = 0;
  int sheddable_in_flight = 0;  // claimed by sheddable requests, given back as such
  std::vector<bool> first_attempts;  // RouteRequest::first_attempt of every route() call
  std::vector<std::string> stats_targets;
  std::vector<bool> chained;                // RouteRequest::chained of every route() call
  std::vector<std::vector<uint64_t>> keys;  // the prefix keys each route() call would look up
  // Disaggregation: on, with these prefill pods (ids past the decode ones), and what
  // every decode pick reports as its uncached tokens.
  bool pd = false;
  std::vector<uint32_t> prefill_ids;
  uint32_t uncached = 0;
  std::vector<sched::PickLeg> legs;  // RouteRequest::leg of every route() call
  double ttft_headroom = std::numeric_limits<double>::infinity();  // every decision's
  bool saturated = false;  // the saturation detector says so: requests that may wait are held
  int holds = 0;           // route() calls that asked to be held when saturated
  // As the worker's: the slot decide() counted, in its ticket.
  Routed route(const RouteRequest& request) override { return Routed(*this, decide(request), request.sheddable); }
  RouteDecision decide(const RouteRequest& request) {
    legs.push_back(request.leg);
    if (request.hold_when_saturated) ++holds;
    if (saturated && (request.hold_when_saturated || request.sheddable)) {
      RouteDecision d;
      d.status = 429;
      d.saturated = true;
      d.code = "pool_saturated";
      d.message = "saturated";
      return d;
    }
    if (request.leg == sched::PickLeg::Prefill) {
      RouteDecision d;
      for (uint32_t id : prefill_ids) {
        if (std::find(request.exclude.begin(), request.exclude.end(), id) != request.exclude.end()) continue;
        d.endpoint_id = id;
        d.endpoint_host = "10.0.0.2";
        d.endpoint_port = uint16_t(9000 + id);
        d.load_tokens = 3000 + id;
        d.features.ttft.uncached_prompt_tokens = 700 + id;
        ++in_flight;
        sheddable_in_flight += request.sheddable;
        return d;
      }
      d.status = 503;
      return d;
    }
    first_attempts.push_back(request.first_attempt);
    chained.push_back(request.chained);
    keys.emplace_back();
    if (request.chained) sched::PrefixHasher::keys(request.model, request.prefix_chain, keys.back());
    else sched::PrefixHasher(64).hash(request.model, request.prompt_parts, keys.back());
    stats_targets.emplace_back(request.stats_target);
    RouteDecision d;
    for (uint32_t id = 0; id < endpoints; ++id) {
      bool tried = false;
      for (uint32_t t : request.exclude) tried |= t == id;
      if (tried) continue;
      d.endpoint_id = id;
      d.endpoint_host = "10.0.0.1";
      d.endpoint_port = uint16_t(8000 + id);
      d.uncached_tokens = uncached;
      d.load_tokens = 2000 + id;  // the token-load scorer's count while the attempt holds the endpoint
      d.features.ttft.uncached_prompt_tokens = 500 + id;  // what the scheduler would say
      d.ttft_headroom = ttft_headroom;
      ++in_flight;  // a routed decision holds its slot
      sheddable_in_flight += request.sheddable;
      return d;
    }
    d.status = 503;
    d.code = "no_endpoint";
    d.message = "no model server is available";
    return d;
  }
  std::vector<uint32_t> recorded;  // where a prompt was recorded (routed()), in order
  void routed(uint32_t id, std::span<const uint64_t>) override { recorded.push_back(id); }
  void released(uint32_t, bool sheddable) override {
    --in_flight;
    sheddable_in_flight -= sheddable;
  }
  void endpoint_failed(uint32_t id) override { failed.push_back(id); }
  void endpoint_succeeded(uint32_t id) override { succeeded.push_back(id); }
  bool disaggregating() const override { return pd; }
  // The latency model's inputs: in-flight prefill tokens per endpoint, samples reported.
  std::map<uint32_t, int64_t> prefill;
  std::vector<sched::LatencySample> samples;
  std::map<uint32_t, int64_t> awaiting;  // requests awaiting their first token
  void prefill_sent(uint32_t id, uint32_t tokens, uint64_t) override {
    prefill[id] += tokens;
    ++awaiting[id];
  }
  void prefill_done(uint32_t id, uint32_t tokens, uint64_t) override {
    prefill[id] -= tokens;
    --awaiting[id];
  }
  void latency_observed(const sched::LatencySample& s) override { samples.push_back(s); }
  std::map<uint32_t, int64_t> load_tokens;  // the token-load scorer's in-flight tokens
  int64_t load_in_flight() const {
    int64_t n = 0;
    for (const auto& [id, tokens] : load_tokens) n += tokens;
    return n;
  }
  void load_sent(uint32_t id, uint32_t tokens) override { load_tokens[id] += tokens; }
  void load_done(uint32_t id, uint32_t tokens) override { load_tokens[id] -= tokens; }
  int64_t prefill_in_flight() const {
    int64_t n = 0;
    for (const auto& [id, tokens] : prefill) n += tokens;
    return n;
  }
};


}  // namespace ringgate::proxy::testing
