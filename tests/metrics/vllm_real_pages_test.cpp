// The vLLM metrics parser on /metrics pages served by real vLLM servers
// (tests/fixtures/vllm/, provenance in its README): the values the gateway extracts
// are the values printed on the page.
#include "ringgate/metrics/vllm_metrics_parser.h"

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>

using namespace ringgate::metrics;

namespace {

std::string fixture(const char* relative) {
  std::ifstream in(std::string(RINGGATE_SOURCE_DIR "/tests/fixtures/vllm/") + relative, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "missing fixture ", relative);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

TEST_CASE("vLLM V0 engine page (2025-01, AIBrix docs): legacy KV gauge, queue, cache config, LoRA info") {
  const std::string page = fixture("v0.7-aibrix/metrics.txt");
  VllmMetricsParser parser;
  VllmMetrics m;
  ParseResult r = parser.parse(page, m);
  REQUIRE_MESSAGE(r.ok, r.describe());
  CHECK(m.samples == 29);
  REQUIRE(m.models().size() == 1);
  const ModelLoad* qwen = m.find_model("Qwen/Qwen2.5-Coder-1.5B-Instruct");
  REQUIRE(qwen != nullptr);
  CHECK(qwen->has_waiting);
  CHECK(qwen->waiting == 0.0);
  CHECK(qwen->has_running);
  CHECK(qwen->running == 0.0);
  CHECK(qwen->has_kv_cache_usage);
  CHECK(qwen->kv_cache_usage == 0.0);
  CHECK(qwen->kv_cache_usage_is_legacy);  // V0 only has vllm:gpu_cache_usage_perc
  // V0 reports prefix caching as hit-rate gauges (-1.0 here), which are not counters.
  CHECK_FALSE(qwen->has_prefix_cache);
  CHECK(m.all.kv_cache_usage_is_legacy);

  CHECK(m.cache.present);
  CHECK(m.cache.block_size == 16);
  CHECK(m.cache.num_gpu_blocks == 81767);

  CHECK(m.lora.present);
  CHECK(m.lora.updated_at == 1.7382173358407154e+09);
  CHECK(m.lora.max_lora == 0);
  CHECK(m.lora.running_adapters.empty());
  CHECK(m.lora.waiting_adapters.empty());
}

TEST_CASE("vLLM 0.10.0 page excerpt (V1 engine, production-stack#617): KV usage in exponent form, engine label") {
  const std::string page = fixture("v0.10.0-production-stack-617/metrics.txt");
  VllmMetricsParser parser;
  VllmMetrics m;
  ParseResult r = parser.parse(page, m);
  REQUIRE_MESSAGE(r.ok, r.describe());
  CHECK(m.samples == 5);
  REQUIRE(m.models().size() == 1);
  const ModelLoad* glm = m.find_model("zai-org/GLM-4.5");
  REQUIRE(glm != nullptr);
  CHECK(glm->has_kv_cache_usage);
  CHECK(glm->kv_cache_usage == 9.75010481363281e-06);
  CHECK_FALSE(glm->kv_cache_usage_is_legacy);
  // The *_created gauges are timestamps, not counts: only the _total samples count.
  CHECK(glm->has_prefix_cache);
  CHECK(glm->prefix_cache_queries == 32.0);
  CHECK(glm->prefix_queries_source == CounterSource::Current);
  CHECK(glm->prefix_cache_hits == 0.0);
  CHECK(glm->prefix_hits_source == CounterSource::Legacy);  // its new name is past the excerpt's end
  CHECK_FALSE(glm->has_waiting);  // the excerpt starts after the queue gauges
  CHECK_FALSE(m.cache.present);
  CHECK_FALSE(m.lora.present);
}

TEST_CASE("vLLM after v0.12 sample lines (tests/fixtures/vllm/api): V1 gauges and counters with engine label") {
  const std::string page = fixture("api/metrics_samples.txt");
  VllmMetricsParser parser;
  VllmMetrics m;
  ParseResult r = parser.parse(page, m);
  REQUIRE_MESSAGE(r.ok, r.describe());
  CHECK(m.samples == 8);
  const ModelLoad* qwen = m.find_model("Qwen/Qwen2.5-0.5B-Instruct");
  REQUIRE(qwen != nullptr);
  CHECK(qwen->has_waiting);
  CHECK(qwen->has_running);
  CHECK(qwen->waiting == 0.0);
  CHECK(qwen->running == 0.0);
  CHECK(qwen->has_kv_cache_usage);
  CHECK_FALSE(qwen->kv_cache_usage_is_legacy);
  CHECK(qwen->prefix_cache_queries == 8.0);
}

// vLLM 0.9-0.10 serve each prefix-cache counter twice: under vllm:prefix_cache_* and
// under the deprecated vllm:gpu_prefix_cache_* (both listed for v0.10.2 in
// api/metrics_families_v0.10.2.txt), with the same counts. Counted once, in either
// order, summed over data-parallel engines.
TEST_CASE("prefix-cache counters under both names (vLLM 0.10) are counted once") {
  const std::string families = fixture("api/metrics_families_v0.10.2.txt");
  CHECK(families.find("\nvllm:prefix_cache_queries_total counter\n") != std::string::npos);
  CHECK(families.find("\nvllm:gpu_prefix_cache_queries_total counter\n") != std::string::npos);
  CHECK(families.find("\nvllm:prefix_cache_hits_total counter\n") != std::string::npos);
  CHECK(families.find("\nvllm:gpu_prefix_cache_hits_total counter\n") != std::string::npos);

  VllmMetricsParser parser;
  VllmMetrics m;
  REQUIRE(parser.parse("vllm:gpu_prefix_cache_queries_total{engine=\"0\",model_name=\"m\"} 32.0\n"
                       "vllm:gpu_prefix_cache_queries_total{engine=\"1\",model_name=\"m\"} 8.0\n"
                       "vllm:gpu_prefix_cache_hits_total{engine=\"0\",model_name=\"m\"} 16.0\n"
                       "vllm:prefix_cache_queries_total{engine=\"0\",model_name=\"m\"} 32.0\n"
                       "vllm:prefix_cache_queries_total{engine=\"1\",model_name=\"m\"} 8.0\n"
                       "vllm:prefix_cache_hits_total{engine=\"0\",model_name=\"m\"} 16.0\n",
                       m).ok);
  CHECK(m.find_model("m")->prefix_cache_queries == 40.0);
  CHECK(m.find_model("m")->prefix_cache_hits == 16.0);
  CHECK(m.all.prefix_cache_queries == 40.0);

  REQUIRE(parser.parse("vllm:prefix_cache_hits_total{engine=\"0\",model_name=\"m\"} 16.0\n"
                       "vllm:gpu_prefix_cache_hits_total{engine=\"0\",model_name=\"m\"} 16.0\n",
                       m).ok);
  CHECK(m.find_model("m")->prefix_cache_hits == 16.0);

  // Only the deprecated name (vLLM 0.8): it is the count.
  REQUIRE(parser.parse("vllm:gpu_prefix_cache_queries_total{model_name=\"m\"} 10\n"
                       "vllm:gpu_prefix_cache_queries_total{model_name=\"m\"} 5\n",
                       m).ok);
  CHECK(m.find_model("m")->prefix_cache_queries == 15.0);
}
