#include "ringgate/metrics/vllm_metrics_parser.h"

#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

using namespace ringgate::metrics;

namespace {

// Shaped after a vLLM v1 server's /metrics (abridged: histograms cut short).
const char* kVllmV1 = R"(# HELP python_gc_objects_collected_total Objects collected during gc
# TYPE python_gc_objects_collected_total counter
python_gc_objects_collected_total{generation="0"} 12890.0
# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 3.0
# HELP vllm:num_requests_waiting Number of requests waiting to be processed.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 7.0
# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 0.4217
# HELP vllm:prefix_cache_queries_total Prefix cache queries, in terms of number of queried tokens.
# TYPE vllm:prefix_cache_queries_total counter
vllm:prefix_cache_queries_total{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 120000.0
# HELP vllm:prefix_cache_hits_total Prefix cache hits, in terms of number of cached tokens.
# TYPE vllm:prefix_cache_hits_total counter
vllm:prefix_cache_hits_total{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 90000.0
# HELP vllm:lora_requests_info Running stats on lora requests.
# TYPE vllm:lora_requests_info gauge
vllm:lora_requests_info{max_lora="4",running_lora_adapters="",waiting_lora_adapters=""} 1.7324e+09
vllm:lora_requests_info{max_lora="4",running_lora_adapters="sql-lora,chat-lora",waiting_lora_adapters="tweet-lora"} 1.7325e+09
vllm:lora_requests_info{max_lora="4",running_lora_adapters="old-lora",waiting_lora_adapters=""} 1.7323e+09
# HELP vllm:cache_config_info Information of the LLMEngine CacheConfig
# TYPE vllm:cache_config_info gauge
vllm:cache_config_info{block_size="16",cache_dtype="auto",calculate_kv_scales="False",cpu_offload_gb="0",enable_prefix_caching="True",gpu_memory_utilization="0.9",is_attention_free="False",num_cpu_blocks="None",num_gpu_blocks="27545",num_gpu_blocks_override="None",prefix_caching_hash_algo="builtin",sliding_window="None",swap_space="4",swap_space_bytes="4294967296"} 1.0
# HELP vllm:time_to_first_token_seconds Histogram of time to first token in seconds.
# TYPE vllm:time_to_first_token_seconds histogram
vllm:time_to_first_token_seconds_bucket{engine="0",le="0.001",model_name="meta-llama/Llama-3.1-8B-Instruct"} 0.0
vllm:time_to_first_token_seconds_bucket{engine="0",le="+Inf",model_name="meta-llama/Llama-3.1-8B-Instruct"} 42.0
vllm:time_to_first_token_seconds_sum{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 3.14
)";

}  // namespace

TEST_CASE("vLLM v1 output: gauges, LoRA info (newest series), cache config, prefix counters") {
    VllmMetricsParser parser;
    VllmMetrics m;
    ParseResult r = parser.parse(kVllmV1, m);
    REQUIRE_MESSAGE(r.ok, r.describe());
    REQUIRE(m.models().size() == 1);
    const ModelLoad* llama = m.find_model("meta-llama/Llama-3.1-8B-Instruct");
    REQUIRE(llama != nullptr);
    CHECK(llama->waiting == 7.0);
    CHECK(llama->running == 3.0);
    CHECK(llama->kv_cache_usage == doctest::Approx(0.4217));
    CHECK_FALSE(llama->kv_cache_usage_is_legacy);
    CHECK(llama->prefix_cache_queries == 120000.0);
    CHECK(llama->prefix_cache_hits == 90000.0);
    CHECK(m.all.waiting == 7.0);
    CHECK(m.all.kv_cache_usage == doctest::Approx(0.4217));
    CHECK(m.lora.present);
    CHECK(m.lora.max_lora == 4);
    CHECK(m.lora.running_adapters == "sql-lora,chat-lora");
    CHECK(m.lora.waiting_adapters == "tweet-lora");
    CHECK(m.cache.present);
    CHECK(m.cache.block_size == 16);
    CHECK(m.cache.num_gpu_blocks == 27545);
    CHECK(m.samples == 13);

    std::vector<std::string> adapters;
    for_each_adapter(m.lora.running_adapters, [&](std::string_view a) { adapters.emplace_back(a); });
    CHECK(adapters == std::vector<std::string>{"sql-lora", "chat-lora"});
}

TEST_CASE("legacy vLLM v0 gauge names: gpu_cache_usage_perc is the fallback") {
    const char* v0 =
        "# TYPE vllm:gpu_cache_usage_perc gauge\n"
        "vllm:gpu_cache_usage_perc{model_name=\"facebook/opt-125m\"} 0.25\n"
        "vllm:num_requests_waiting{model_name=\"facebook/opt-125m\"} 2.0\n"
        "vllm:num_requests_running{model_name=\"facebook/opt-125m\"} 1.0\n"
        "vllm:gpu_prefix_cache_queries_total{model_name=\"facebook/opt-125m\"} 10\n"
        "vllm:gpu_prefix_cache_hits_total{model_name=\"facebook/opt-125m\"} 4\n";
    VllmMetricsParser parser;
    VllmMetrics m;
    REQUIRE(parser.parse(v0, m).ok);
    const ModelLoad* opt = m.find_model("facebook/opt-125m");
    REQUIRE(opt);
    CHECK(opt->kv_cache_usage == 0.25);
    CHECK(opt->kv_cache_usage_is_legacy);
    CHECK(opt->prefix_cache_hits == 4);
    CHECK_FALSE(m.lora.present);
    CHECK_FALSE(m.cache.present);
}

TEST_CASE("new KV gauge wins over the legacy one in either order") {
    VllmMetricsParser parser;
    VllmMetrics m;
    REQUIRE(parser.parse("vllm:gpu_cache_usage_perc{model_name=\"a\"} 0.9\n"
                         "vllm:kv_cache_usage_perc{model_name=\"a\"} 0.1\n", m).ok);
    CHECK(m.find_model("a")->kv_cache_usage == doctest::Approx(0.1));
    REQUIRE(parser.parse("vllm:kv_cache_usage_perc{model_name=\"a\"} 0.2\n"
                         "vllm:gpu_cache_usage_perc{model_name=\"a\"} 0.9\n", m).ok);
    CHECK(m.find_model("a")->kv_cache_usage == doctest::Approx(0.2));
    CHECK_FALSE(m.find_model("a")->kv_cache_usage_is_legacy);
}

TEST_CASE("several engines of one model are combined; several models each get a slot") {
    const char* text =
        "vllm:num_requests_waiting{engine=\"0\",model_name=\"m\"} 2\n"
        "vllm:num_requests_waiting{engine=\"1\",model_name=\"m\"} 3\n"
        "vllm:kv_cache_usage_perc{engine=\"0\",model_name=\"m\"} 0.3\n"
        "vllm:kv_cache_usage_perc{engine=\"1\",model_name=\"m\"} 0.6\n"
        "vllm:num_requests_waiting{model_name=\"other\"} 10\n";
    VllmMetricsParser parser;
    VllmMetrics m;
    REQUIRE(parser.parse(text, m).ok);
    CHECK(m.models().size() == 2);
    CHECK(m.find_model("m")->waiting == 5);
    CHECK(m.find_model("m")->kv_cache_usage == doctest::Approx(0.6));
    CHECK(m.all.waiting == 15);
    CHECK(m.all.kv_cache_usage == doctest::Approx(0.6));
}

TEST_CASE("each data-parallel engine keeps its own load beside the combined one") {
    const char* text =
        "vllm:num_requests_waiting{engine=\"0\",model_name=\"m\"} 2\n"
        "vllm:num_requests_waiting{engine=\"2\",model_name=\"m\"} 3\n"
        "vllm:num_requests_running{engine=\"2\",model_name=\"m\"} 4\n"
        "vllm:kv_cache_usage_perc{engine=\"0\",model_name=\"m\"} 0.3\n"
        "vllm:kv_cache_usage_perc{engine=\"2\",model_name=\"m\"} 0.6\n"
        "vllm:prefix_cache_hits_total{engine=\"2\",model_name=\"m\"} 7\n"
        "vllm:num_requests_waiting{engine=\"2\",model_name=\"other\"} 1\n";
    VllmMetricsParser parser;
    VllmMetrics m;
    REQUIRE(parser.parse(text, m).ok);
    REQUIRE(m.engines().size() == 3);
    CHECK(m.engines_named() == 2);
    CHECK(m.engines()[0].waiting == 2);
    CHECK(m.engines()[0].kv_cache_usage == doctest::Approx(0.3));
    CHECK_FALSE(has_load(m.engines()[1]));  // the page names no engine 1
    CHECK(m.engines()[2].waiting == 4);     // both models of engine 2
    CHECK(m.engines()[2].running == 4);
    CHECK(m.engines()[2].kv_cache_usage == doctest::Approx(0.6));
    CHECK(m.engines()[2].prefix_cache_hits == 7);
    CHECK(m.all.waiting == 6);
    // A scrape without engine labels has no per-engine view; a reused struct forgets the last one.
    REQUIRE(parser.parse("vllm:num_requests_waiting{model_name=\"m\"} 1\n", m).ok);
    CHECK(m.engines().empty());
    CHECK(m.engines_named() == 0);
}

TEST_CASE("an engine label past max_engines or not a number is counted and left out of the engines") {
    ScrapeLimits limits;
    limits.max_engines = 4;
    VllmMetricsParser parser(limits);
    VllmMetrics m;
    const char* text =
        "vllm:num_requests_waiting{engine=\"3\",model_name=\"m\"} 1\n"   // the last one kept
        "vllm:num_requests_waiting{engine=\"4\",model_name=\"m\"} 5\n"   // one past the bound
        "vllm:num_requests_waiting{engine=\"x\",model_name=\"m\"} 6\n"
        "vllm:num_requests_waiting{engine=\"-1\",model_name=\"m\"} 7\n"
        "vllm:num_requests_waiting{engine=\"99999999999999999999999\",model_name=\"m\"} 8\n"
        "vllm:time_to_first_token_seconds_sum{engine=\"x\",model_name=\"m\"} 8\n";  // not a gauge we read
    REQUIRE(parser.parse(text, m).ok);
    CHECK(m.engines().size() == 4);
    CHECK(m.engines()[3].waiting == 1);
    CHECK(m.unreadable_engine_samples == 4);
    CHECK(m.all.waiting == 27);  // the combined load still counts them
}

TEST_CASE("tolerates CRLF, blanks, timestamps, NaN/Inf on metrics it does not read, escapes, trailing comma, no labels") {
    const char* text =
        "# a comment\r\n"
        "\r\n"
        "   \n"
        "vllm:num_requests_waiting{model_name=\"we\\\"ird\\\\na\\nme\",} 4 1712345678000\r\n"
        "vllm:num_requests_running{ model_name = \"x\" } 0\n"
        "vllm:kv_cache_usage_perc{model_name=\"x\"} 1\n"
        "vllm:time_to_first_token_seconds_bucket{le=\"+Inf\",model_name=\"x\"} NaN\n"
        "some_other_metric -Inf\n"
        "vllm:num_requests_running 1e1\n"
        "vllm:lora_requests_info{max_lora=\"2\",running_lora_adapters=\"a\\\\b\",waiting_lora_adapters=\"\"} 5";
    VllmMetricsParser parser;
    VllmMetrics m;
    ParseResult r = parser.parse(text, m);
    REQUIRE_MESSAGE(r.ok, r.describe());
    const ModelLoad* weird = m.find_model("we\"ird\\na\nme");
    REQUIRE(weird);
    CHECK(weird->waiting == 4);
    const ModelLoad* x = m.find_model("x");
    REQUIRE(x);
    CHECK(x->running == 0);
    CHECK(x->kv_cache_usage == 1);  // non-finite load gauges: see scrape_limits_test.cpp
    REQUIRE(m.find_model(""));
    CHECK(m.find_model("")->running == 10);
    CHECK(m.lora.running_adapters == "a\\b");
    CHECK(m.samples == 7);
}

TEST_CASE("garbage gives a clear error with its position") {
    VllmMetricsParser parser;
    VllmMetrics m;
    struct Case { const char* text; size_t line; const char* message; };
    const Case cases[] = {
        {"<html><body>502 Bad Gateway</body></html>", 1, "expected a metric name"},
        {"vllm:num_requests_waiting{model_name=\"a\"}\n", 1, "expected a blank before the value"},
        {"ok 1\nvllm:num_requests_waiting{model_name=\"a} 1\n", 2, "unterminated label value"},
        {"x{a=\"1\" b=\"2\"} 1", 1, "expected ',' or '}' after label value"},
        {"x{a=1} 1", 1, "expected '\"' to open a label value"},
        {"x{a} 1", 1, "expected '=' after label name"},
        {"x 12abc", 1, "invalid sample value"},
        {"x 1 notatime", 1, "invalid timestamp"},
        {"x 1 123 extra", 1, "unexpected text after the timestamp"},
        {"x{=\"1\"} 1", 1, "expected a label name or '}'"},
        {"x{a=\"1\\", 1, "unterminated label value"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.text);
        ParseResult r = parser.parse(c.text, m);
        CHECK_FALSE(r.ok);
        CHECK(r.error.line == c.line);
        CHECK(std::string(r.error.message) == c.message);
        CHECK(r.describe().find("line ") == 0);
    }
    ParseResult r = parser.parse("x 1\nx{a=\"1\" b", m);
    CHECK(r.error.column == 9);
}

TEST_CASE("reusing the output struct across scrapes clears old values") {
    VllmMetricsParser parser;
    VllmMetrics m;
    REQUIRE(parser.parse(kVllmV1, m).ok);
    REQUIRE(parser.parse("vllm:num_requests_waiting{model_name=\"b\"} 1\n", m).ok);
    CHECK(m.models().size() == 1);
    CHECK(m.find_model("meta-llama/Llama-3.1-8B-Instruct") == nullptr);
    CHECK(m.find_model("b")->waiting == 1);
    CHECK_FALSE(m.lora.present);
    CHECK(m.lora.running_adapters.empty());
    CHECK_FALSE(m.cache.present);
    CHECK(m.all.waiting == 1);
}

TEST_CASE("empty input is valid and yields nothing") {
    VllmMetricsParser parser;
    VllmMetrics m;
    CHECK(parser.parse("", m).ok);
    CHECK(m.samples == 0);
    CHECK(m.models().empty());
}

TEST_CASE("adapter list splitting skips blanks and trims spaces") {
    std::vector<std::string> out;
    for_each_adapter(" a, ,b,,c ", [&](std::string_view s) { out.emplace_back(s); });
    CHECK(out == std::vector<std::string>{"a", "b", "c"});
    out.clear();
    for_each_adapter("", [&](std::string_view s) { out.emplace_back(s); });
    CHECK(out.empty());
}
