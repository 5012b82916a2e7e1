#include "ringgate/sim/sim_metrics.h"

#include <doctest/doctest.h>

#include <string>

using namespace ringgate::sim;

TEST_CASE("histograms are cumulative with vLLM's bucket bounds") {
  Histogram h(ttft_buckets());
  h.observe(0.0005);
  h.observe(0.05);
  h.observe(5000);
  CHECK(h.cumulative_count(0) == 1);                       // le 0.001
  CHECK(h.cumulative_count(5) == 2);                       // le 0.06
  CHECK(h.cumulative_count(ttft_buckets().size()) == 3);   // +Inf
  CHECK(h.count() == 3);
  CHECK(ttft_buckets().front() == 0.001);
  CHECK(ttft_buckets().back() == 2560.0);
  CHECK(e2e_latency_buckets().front() == 0.3);
  CHECK(e2e_latency_buckets().back() == 7680.0);
}

TEST_CASE("the text has vLLM's names, types and labels") {
  SimCounters c;
  c.prompt_tokens = 42;
  c.success[int(FinishReason::length)] = 3;
  c.time_to_first_token.observe(0.2);
  SimGauges g;
  g.model_name = "m\"x";
  g.running = 2;
  g.waiting = 5;
  g.kv_cache_usage = 0.25;
  g.num_gpu_blocks = 100;
  std::string t = render_metrics(c, g);
  CHECK(t.find("# TYPE vllm:num_requests_running gauge\n") != std::string::npos);
  CHECK(t.find("vllm:num_requests_running{engine=\"0\",model_name=\"m\\\"x\"} 2.0\n") != std::string::npos);
  CHECK(t.find("vllm:num_requests_waiting{engine=\"0\",model_name=\"m\\\"x\"} 5.0\n") != std::string::npos);
  CHECK(t.find("vllm:kv_cache_usage_perc{engine=\"0\",model_name=\"m\\\"x\"} 0.25\n") != std::string::npos);
  CHECK(t.find("# TYPE vllm:prompt_tokens_total counter\n") != std::string::npos);
  CHECK(t.find("vllm:prompt_tokens_total{engine=\"0\",model_name=\"m\\\"x\"} 42.0\n") != std::string::npos);
  CHECK(t.find("vllm:request_success_total{engine=\"0\",finished_reason=\"length\",model_name=\"m\\\"x\"} 3.0\n") != std::string::npos);
  CHECK(t.find("# TYPE vllm:time_to_first_token_seconds histogram\n") != std::string::npos);
  CHECK(t.find("vllm:time_to_first_token_seconds_bucket{engine=\"0\",le=\"0.25\",model_name=\"m\\\"x\"} 1.0\n") !=
        std::string::npos);
  CHECK(t.find("vllm:time_to_first_token_seconds_bucket{engine=\"0\",le=\"0.1\",model_name=\"m\\\"x\"} 0.0\n") !=
        std::string::npos);
  CHECK(t.find("le=\"+Inf\",model_name=\"m\\\"x\"} 1.0\n") != std::string::npos);
  CHECK(t.find("vllm:time_to_first_token_seconds_count{engine=\"0\",model_name=\"m\\\"x\"} 1.0\n") !=
        std::string::npos);
  CHECK(t.find("vllm:cache_config_info{block_size=\"16\",cache_dtype=\"auto\",enable_prefix_caching=\"True\",engine=\"0\",") != std::string::npos);
  CHECK(t.find("num_gpu_blocks=\"100\"") != std::string::npos);
  CHECK(t.find("vllm:gpu_cache_usage_perc") == std::string::npos);
  CHECK(t.find("vllm:lora_requests_info") == std::string::npos);
}

TEST_CASE("legacy cache metric and LoRA info appear when enabled") {
  SimCounters c;
  SimGauges g;
  g.model_name = "m";
  g.legacy_gpu_cache_metric = true;
  g.kv_cache_usage = 0.5;
  g.lora_enabled = true;
  g.max_lora = 2;
  std::string before = render_metrics(c, g);
  CHECK(before.find("vllm:lora_requests_info") == std::string::npos);  // no series before the first step
  g.lora_series = {{"a,b", "c", 1700000000.5}, {"", "", 1700000001.0}};
  std::string t = render_metrics(c, g);
  CHECK(t.find("vllm:gpu_cache_usage_perc{engine=\"0\",model_name=\"m\"} 0.5\n") != std::string::npos);
  // prometheus_client prints large values the Go way: 1.7000000005e+09.
  CHECK(t.find("vllm:lora_requests_info{max_lora=\"2\",running_lora_adapters=\"a,b\",waiting_lora_adapters=\"c\"} "
               "1.7000000005e+09\n") != std::string::npos);
  CHECK(t.find("vllm:lora_requests_info{max_lora=\"2\",running_lora_adapters=\"\",waiting_lora_adapters=\"\"} "
               "1.700000001e+09\n") != std::string::npos);
}
