#include "ringgate/sched/endpoint_report.h"

#include <limits>

#include <doctest/doctest.h>

#include "ringgate/sched/inflight_counters.h"
#include "ringgate/sched/prefix_index.h"
#include "sched_test_support.h"

using namespace ringgate::sched;
using namespace ringgate::sched::test;

TEST_CASE("endpoint report: inputs, in-flight, index share; JSON escapes and NaN") {
  std::vector<EndpointState> v = make_pool(2);
  v[0].models = {"we\"ird"};
  v[1].metrics.all.kv_cache_usage = std::numeric_limits<double>::quiet_NaN();
  v[1].slots = 8;
  EndpointSnapshot snap(std::move(v));
  InflightCounters inflight;
  inflight.ensure(0);
  inflight.add(0);
  PrefixIndex index(100, 4);
  uint64_t h[] = {1, 2, 3};
  index.on_routed(0, h);
  index.on_routed(1, std::span(h).first(1));
  auto reports = describe_endpoints(snap, inflight, index, fresh_now(), SchedulerConfig{});
  REQUIRE(reports.size() == 2);
  CHECK(reports[0].inflight == 1);
  CHECK(reports[0].index_entries == 3);
  CHECK(reports[0].index_share == doctest::Approx(0.75));
  CHECK(reports[0].metrics_fresh);
  std::string json = to_json(reports);
  CHECK(json.find("\"we\\\"ird\"") != std::string::npos);
  CHECK(json.find("\"kv_cache_usage\":null") != std::string::npos);
  CHECK(json.find("\"slots\":0,") != std::string::npos);
  CHECK(json.find("\"slots\":8,") != std::string::npos);
  CHECK(json.front() == '[');
  CHECK(json.back() == ']');
}

TEST_CASE("endpoint report: each endpoint's role, in the JSON") {
  std::vector<EndpointState> v = make_pool(3);
  v[0].role = EndpointRole::Prefill;
  v[1].role = EndpointRole::Decode;
  EndpointSnapshot snap(std::move(v));
  InflightCounters inflight;
  PrefixIndex index(100, 4);
  auto reports = describe_endpoints(snap, inflight, index, fresh_now(), SchedulerConfig{});
  REQUIRE(reports.size() == 3);
  CHECK(reports[0].role == EndpointRole::Prefill);
  CHECK(reports[1].role == EndpointRole::Decode);
  CHECK(reports[2].role == EndpointRole::Both);
  std::string json = to_json(reports);
  const size_t prefill = json.find("\"role\":\"prefill\"");
  const size_t decode = json.find("\"role\":\"decode\"");
  const size_t both = json.find("\"role\":\"both\"");
  REQUIRE(prefill != std::string::npos);
  REQUIRE(decode != std::string::npos);
  REQUIRE(both != std::string::npos);
  CHECK(prefill < decode);
  CHECK(decode < both);
}

TEST_CASE("endpoint report: each endpoint's context-length range, \"malformed\" when its label did not parse") {
  std::vector<EndpointState> v = make_pool(3);
  v[0].context_range = {ContextRangeState::Valid, 0, 1024};
  v[1].context_range = {ContextRangeState::Malformed, 0, 0};
  EndpointSnapshot snap(std::move(v));
  InflightCounters inflight;
  PrefixIndex index(100, 4);
  const std::string json = to_json(describe_endpoints(snap, inflight, index, fresh_now(), SchedulerConfig{}));
  const size_t valid = json.find("\"context_length_range\":\"0-1024\"");
  const size_t malformed = json.find("\"context_length_range\":\"malformed\"");
  const size_t none = json.find("\"context_length_range\":null");
  REQUIRE(valid != std::string::npos);
  REQUIRE(malformed != std::string::npos);
  REQUIRE(none != std::string::npos);
  CHECK(valid < malformed);
  CHECK(malformed < none);
}

TEST_CASE("endpoint report: the LoRA state the lora-affinity scorer reads, null when not reported") {
  std::vector<EndpointState> v = make_pool(2);
  v[0].loras.reported = true;
  v[0].loras.max_lora = 2;
  v[0].loras.running = {"sql"};
  v[0].loras.waiting = {"chat", "tweet"};
  EndpointSnapshot snap(std::move(v));
  InflightCounters inflight;
  PrefixIndex index(100, 4);
  std::string json = to_json(describe_endpoints(snap, inflight, index, fresh_now(), SchedulerConfig{}));
  CHECK(json.find("\"lora\":{\"max_lora\":2,\"running\":[\"sql\"],\"waiting\":[\"chat\",\"tweet\"]}") != std::string::npos);
  CHECK(json.find("\"lora\":null") != std::string::npos);
}

TEST_CASE("the scorers that run and their weights, for /debug/endpoints and /debug/pick") {
  std::string out;
  append_scorers_json(out, SchedulerConfig{}.weights);
  CHECK(out ==
        "[{\"name\":\"queue\",\"plugin_type\":\"queue-scorer\",\"weight\":2},"
        "{\"name\":\"kv-cache\",\"plugin_type\":\"kv-cache-utilization-scorer\",\"weight\":2},"
        "{\"name\":\"prefix\",\"plugin_type\":\"prefix-cache-scorer\",\"weight\":3}]");
  ScorerWeights w{};
  w[slot_of("lora-affinity")] = 0.5;
  out.clear();
  append_scorers_json(out, w);
  CHECK(out == "[{\"name\":\"lora-affinity\",\"plugin_type\":\"lora-affinity-scorer\",\"weight\":0.5}]");
}
