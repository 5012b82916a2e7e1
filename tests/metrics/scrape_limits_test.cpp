// A model server's /metrics page is hostile input (issue 12): every count and length
// the parser keeps has a cap, a page over a cap is refused (over_limit) rather than
// half-read, and gauges we score on must be finite.
#include <doctest/doctest.h>

#include <string>

#include "ringgate/metrics/vllm_metrics_parser.h"

using namespace ringgate::metrics;

namespace {
std::string models_page(size_t models) {
  std::string page;
  for (size_t i = 0; i < models; ++i)
    page += "vllm:num_requests_waiting{model_name=\"m" + std::to_string(i) + "\"} 1\n";
  return page;
}
}  // namespace

TEST_CASE("distinct model_name values are capped: the page is refused at the first one past the cap") {
  VllmMetricsParser parser;
  VllmMetrics m;
  const size_t cap = parser.limits().max_models;
  ParseResult ok = parser.parse(models_page(cap), m);
  REQUIRE_MESSAGE(ok.ok, ok.describe());
  CHECK(m.models().size() == cap);
  CHECK(m.all.waiting == double(cap));

  // 50k distinct names (the 2.5 MB page): refused on line cap+1, not read to the end.
  ParseResult r = parser.parse(models_page(50000), m);
  CHECK_FALSE(r.ok);
  CHECK(r.over_limit);
  CHECK(r.error.line == cap + 1);
  CHECK(r.describe().find("model_name") != std::string::npos);
}

TEST_CASE("many samples of one model are fine: the cap is on distinct names, not lines") {
  VllmMetricsParser parser;
  VllmMetrics m;
  std::string page;
  for (int i = 0; i < 20000; ++i) page += "vllm:num_requests_running{engine=\"" + std::to_string(i) + "\",model_name=\"x\"} 1\n";
  ParseResult r = parser.parse(page, m);
  REQUIRE_MESSAGE(r.ok, r.describe());
  CHECK(m.all.running == 20000);
}

TEST_CASE("non-finite values of the gauges we read are a failed scrape") {
  VllmMetricsParser parser;
  VllmMetrics m;
  for (const char* bad : {"+Inf", "-Inf", "NaN", "1e400"}) {
    for (const char* gauge : {"vllm:num_requests_waiting", "vllm:num_requests_running", "vllm:kv_cache_usage_perc",
                              "vllm:gpu_cache_usage_perc", "vllm:prefix_cache_hits_total"}) {
      std::string page = std::string(gauge) + "{model_name=\"x\"} " + bad + "\n";
      ParseResult r = parser.parse(page, m);
      CHECK_MESSAGE(!r.ok, page);
      CHECK(r.over_limit);
    }
  }
  // Metrics we do not read may say what they like (histogram buckets carry le="+Inf").
  ParseResult r = parser.parse("vllm:e2e_request_latency_seconds_sum{model_name=\"x\"} +Inf\n", m);
  CHECK(r.ok);
}

TEST_CASE("negative load gauges read as zero") {
  VllmMetricsParser parser;
  VllmMetrics m;
  REQUIRE(parser.parse("vllm:num_requests_waiting{model_name=\"x\"} -5\n", m).ok);
  CHECK(m.all.waiting == 0);
}

TEST_CASE("lora_requests_info with more adapters than the cap is refused") {
  VllmMetricsParser parser;
  VllmMetrics m;
  std::string few, many;
  for (size_t i = 0; i < parser.limits().max_adapters; ++i) few += (i ? "," : "") + std::string("a") + std::to_string(i);
  for (size_t i = 0; i < 50000; ++i) many += (i ? "," : "") + std::string("a") + std::to_string(i);
  ParseResult ok = parser.parse(
      "vllm:lora_requests_info{max_lora=\"1\",running_lora_adapters=\"" + few + "\",waiting_lora_adapters=\"\"} 1\n", m);
  CHECK(ok.ok);
  ParseResult r = parser.parse(
      "vllm:lora_requests_info{max_lora=\"1\",running_lora_adapters=\"" + many + "\",waiting_lora_adapters=\"\"} 1\n", m);
  CHECK_FALSE(r.ok);
  CHECK(r.over_limit);
}

TEST_CASE("lora_requests_info: an absurd max_lora is clamped, a bad one reads as unknown (0)") {
  VllmMetricsParser parser;
  VllmMetrics m;
  REQUIRE(parser.parse("vllm:lora_requests_info{max_lora=\"99999999999999\",running_lora_adapters=\"a\","
                       "waiting_lora_adapters=\"\"} 1\n",
                       m)
              .ok);
  CHECK(m.lora.max_lora == UINT32_MAX);
  REQUIRE(parser.parse("vllm:lora_requests_info{max_lora=\"-1\",running_lora_adapters=\"a\","
                       "waiting_lora_adapters=\"\"} 1\n",
                       m)
              .ok);
  CHECK(m.lora.max_lora == 0);
}

TEST_CASE("cache_config_info is clamped: an absurd num_gpu_blocks cannot size the prefix index") {
  VllmMetricsParser parser;
  VllmMetrics m;
  REQUIRE(parser.parse("vllm:cache_config_info{block_size=\"99999999\",num_gpu_blocks=\"1000000000000\"} 1\n", m).ok);
  CHECK(m.cache.num_gpu_blocks == parser.limits().max_num_gpu_blocks);
  CHECK(m.cache.block_size == parser.limits().max_block_size);
  REQUIRE(parser.parse("vllm:cache_config_info{block_size=\"16\",num_gpu_blocks=\"27000\"} 1\n", m).ok);
  CHECK(m.cache.num_gpu_blocks == 27000);
  CHECK(m.cache.block_size == 16);
}

TEST_CASE("cache_config_info's num_cpu_blocks: clamped at its bound, \"None\" is no CPU tier") {
  VllmMetricsParser parser;
  VllmMetrics m;
  const uint64_t bound = parser.limits().max_num_cpu_blocks;
  auto cpu_blocks = [&](const std::string& value) {
    REQUIRE(parser.parse("vllm:cache_config_info{num_cpu_blocks=\"" + value + "\",num_gpu_blocks=\"100\"} 1\n", m).ok);
    return m.cache.num_cpu_blocks;
  };
  CHECK(cpu_blocks(std::to_string(bound)) == bound);
  CHECK(cpu_blocks(std::to_string(bound + 1)) == bound);
  CHECK(cpu_blocks("4096") == 4096);
  CHECK(cpu_blocks("None") == 0);
  CHECK(cpu_blocks("-5") == 0);
  CHECK(m.cache.num_gpu_blocks == 100);
}

TEST_CASE("a page over the byte cap, a huge label value or label set is refused") {
  ScrapeLimits limits;
  limits.max_page_bytes = 1000;
  VllmMetricsParser small(limits);
  VllmMetrics m;
  ParseResult big = small.parse(std::string(1001, '\n'), m);
  CHECK(big.over_limit);
  CHECK(small.parse(std::string(1000, '\n'), m).ok);

  VllmMetricsParser parser;
  ParseResult long_label =
      parser.parse("vllm:num_requests_waiting{model_name=\"" + std::string(100000, 'x') + "\"} 1\n", m);
  CHECK(long_label.over_limit);
  std::string labels;
  for (int i = 0; i < 1000; ++i) labels += "l" + std::to_string(i) + "=\"v\",";
  ParseResult wide = parser.parse("vllm:num_requests_waiting{" + labels + "} 1\n", m);
  CHECK(wide.over_limit);
}
