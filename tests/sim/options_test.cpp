#include "ringgate/sim/options.h"

#include <doctest/doctest.h>

using namespace ringgate::sim;

namespace {
ParsedOptions parse(std::vector<std::string> args) { return parse_options(args); }
}  // namespace

TEST_CASE("defaults follow vLLM") {
  auto p = parse({});
  REQUIRE(std::holds_alternative<SimOptions>(p));
  const auto& o = std::get<SimOptions>(p);
  CHECK(o.model == "facebook/opt-125m");
  CHECK(o.served_model_names == std::vector<std::string>{"facebook/opt-125m"});
  CHECK(o.port == 8000);
  CHECK(o.block_size == 16);
  CHECK(o.max_num_seqs == 256);
  CHECK(o.max_model_len == 2048);
}

TEST_CASE("flags take values separated or after '='; nargs+ flags take several") {
  auto p = parse({"--port=0", "--served-model-name", "a", "b", "--max-num-seqs", "4", "--lora", "x",
                  "--lora-modules", "y=/p/y", "z=/p/z", "--mode", "echo", "--inter-token-latency-ms", "2.5",
                  "--legacy-gpu-cache-metric"});
  REQUIRE(std::holds_alternative<SimOptions>(p));
  const auto& o = std::get<SimOptions>(p);
  CHECK(o.port == 0);
  CHECK(o.served_model_names == std::vector<std::string>{"a", "b"});
  CHECK(o.max_num_seqs == 4);
  REQUIRE(o.loras.size() == 3);
  CHECK(o.loras[0].name == "x");
  CHECK(o.loras[1].path == "/p/y");
  CHECK(o.loras[2].name == "z");
  CHECK(o.mode == OutputMode::echo);
  CHECK(o.inter_token_latency_ms == 2.5);
  CHECK(o.legacy_gpu_cache_metric);
}

TEST_CASE("--seed: unset draws from the clock; any value is a seed, 0 included") {
  CHECK_FALSE(std::get<SimOptions>(parse({})).seed);
  CHECK(std::get<SimOptions>(parse({"--seed", "0"})).seed == 0u);
  CHECK(std::get<SimOptions>(parse({"--seed", "18446744073709551615"})).seed == 18446744073709551615u);
  CHECK(std::holds_alternative<OptionsError>(parse({"--seed", "-1"})));
}

TEST_CASE("--fail-mid-stream-rate: a fraction, off by default") {
  CHECK(std::get<SimOptions>(parse({})).fail_mid_stream_rate == 0);
  CHECK(std::get<SimOptions>(parse({"--fail-mid-stream-rate", "0.05"})).fail_mid_stream_rate == 0.05);
}

TEST_CASE("--speed: a factor 0.01-100, 1 by default; anything else is refused with the range") {
  CHECK(std::get<SimOptions>(parse({})).speed == 1);
  CHECK(std::get<SimOptions>(parse({"--speed", "0.4"})).speed == 0.4);
  CHECK(std::get<SimOptions>(parse({"--speed=100"})).speed == 100);
  CHECK(std::get<SimOptions>(parse({"--speed", "0.01"})).speed == 0.01);
  for (const char* bad : {"0", "-1", "0.009", "100.5", "nan", "inf", "fast", ""}) {
    auto p = parse({"--speed", bad});
    REQUIRE_MESSAGE(std::holds_alternative<OptionsError>(p), bad);
    CHECK_MESSAGE(std::get<OptionsError>(p).message.find("0.01-100") != std::string::npos, bad);
  }
}

TEST_CASE("--speed-after S:F: seconds 0.001-86400 and a factor 0.01-100; anything else is refused with the ranges") {
  CHECK(std::get<SimOptions>(parse({})).speed_change_after_s == 0);
  const SimOptions o = std::get<SimOptions>(parse({"--speed-after", "30:0.1"}));
  CHECK(o.speed_change_after_s == 30);
  CHECK(o.speed_change_to == 0.1);
  for (const char* bad : {"30", "30:", ":0.1", "0:0.1", "86401:1", "30:0", "30:101", "30:nan", "x:1", "30:0.1:2", ""}) {
    auto p = parse({"--speed-after", bad});
    REQUIRE_MESSAGE(std::holds_alternative<OptionsError>(p), bad);
    CHECK_MESSAGE(std::get<OptionsError>(p).message.find("0.01-100") != std::string::npos, bad);
  }
}

TEST_CASE("bad input is an error with a message, never a crash") {
  for (auto args : std::vector<std::vector<std::string>>{
           {"--nope"}, {"--port", "70000"}, {"--port"}, {"--max-num-seqs", "0"}, {"--fail-rate", "2"},
           {"--fail-mid-stream-rate", "1.5"}, {"--fail-mid-stream-rate", "-0.1"},
           {"--mode", "loud"}, {"--kv-blocks", "-1"}, {"--lora-modules", "noequals"}, {"positional"},
           {"--legacy-gpu-cache-metric=1"}, {"--inter-token-latency-ms", "nan"},
           {"--kv-blocks", "2", "--block-size", "16", "--max-model-len", "100"}, {"--lora", "facebook/opt-125m"}}) {
    auto p = parse(args);
    REQUIRE_MESSAGE(std::holds_alternative<OptionsError>(p), args.front());
    CHECK_FALSE(std::get<OptionsError>(p).message.empty());
  }
  CHECK(std::holds_alternative<HelpRequested>(parse({"--help"})));
}

TEST_CASE("max-model-len defaults to what the KV cache holds when that is smaller") {
  auto p = parse({"--kv-blocks", "4", "--block-size", "16"});
  REQUIRE(std::holds_alternative<SimOptions>(p));
  CHECK(std::get<SimOptions>(p).max_model_len == 64);
}

TEST_CASE("help lists every flag") {
  std::string h = options_help();
  for (const char* f : {"--host", "--port", "--model", "--served-model-name", "--lora", "--lora-modules", "--max-loras",
                        "--max-num-seqs", "--max-waiting", "--block-size", "--kv-blocks", "--max-model-len", "--mode",
                        "--inter-token-latency-ms", "--prefill-overhead-ms", "--prefill-time-per-token-us",
                        "--fail-rate", "--fail-mid-stream-rate", "--startup-delay", "--timeout-keep-alive", "--legacy-gpu-cache-metric", "--seed",
                        "--speed", "--help"})
    CHECK_MESSAGE(h.find(f) != std::string::npos, f);
}

TEST_CASE("vLLM's JSON --lora-modules and llm-d-inference-sim's flag names") {
  auto p = parse({"--lora-modules", R"({"name":"sql","path":"/a/sql","base_model_name":"m"})", "--inter-token-latency",
                  "7", "--time-to-first-token", "3", "--kv-cache-size", "99"});
  REQUIRE(std::holds_alternative<SimOptions>(p));
  const auto& o = std::get<SimOptions>(p);
  REQUIRE(o.loras.size() == 1);
  CHECK(o.loras[0].name == "sql");
  CHECK(o.loras[0].path == "/a/sql");
  CHECK(o.inter_token_latency_ms == 7);
  CHECK(o.prefill_overhead_ms == 3);
  CHECK(o.kv_blocks == 99);
  CHECK(std::holds_alternative<OptionsError>(parse({"--lora-modules", "{\"path\":\"x\"}"})));
  CHECK(std::holds_alternative<OptionsError>(parse({"--lora-modules", "{broken"})));
}

TEST_CASE("--kv-events-config takes vLLM's KVEventsConfig JSON") {
  auto o = std::get<SimOptions>(parse({}));
  CHECK(!o.kv_events.publishing());
  o = std::get<SimOptions>(parse({"--kv-events-config",
                                  R"({"enable_kv_cache_events": true, "publisher": "zmq", "endpoint": "tcp://*:6000",
                                      "replay_endpoint": "tcp://*:6001", "topic": "kv@pod", "buffer_steps": 5,
                                      "hwm": 10, "max_queue_size": 20})"}));
  CHECK(o.kv_events.publishing());
  CHECK(o.kv_events.endpoint == "tcp://*:6000");
  CHECK(o.kv_events.replay_endpoint == "tcp://*:6001");
  CHECK(o.kv_events.topic == "kv@pod");
  CHECK(o.kv_events.buffer_steps == 5);
  CHECK(o.kv_events.hwm == 10);
  CHECK(o.kv_events.max_queue_size == 20);
  // Enabled without a publisher: zmq, with vLLM's default endpoint.
  o = std::get<SimOptions>(parse({"--kv-events-config", R"({"enable_kv_cache_events": true})"}));
  CHECK(o.kv_events.publisher == "zmq");
  CHECK(o.kv_events.endpoint == "tcp://*:5557");
  CHECK(o.kv_events.replay_endpoint.empty());
  o = std::get<SimOptions>(parse({"--kv-events-config", R"({"enable_kv_cache_events": true, "publisher": "null"})"}));
  CHECK(!o.kv_events.publishing());
  for (const char* bad : {"{", "[]", R"({"enable_kv_cache_events": 1})", R"({"publisher": "kafka"})",
                          R"({"buffer_steps": 0})", R"({"endpont": "tcp://*:1"})"})
    CHECK(std::holds_alternative<OptionsError>(parse({"--kv-events-config", bad})));
  CHECK(std::holds_alternative<OptionsError>(parse({"--prefix-caching-hash-algo", "sha256"})));
  CHECK(std::holds_alternative<SimOptions>(parse({"--prefix-caching-hash-algo", "sha256_cbor"})));
}

TEST_CASE("--kv-transfer-config: the OffloadingConnector's CPU tier, num_cpu_blocks 1..kMaxCpuBlocks") {
  auto offloading = [](std::string blocks) {
    const std::string json = R"({"kv_connector":"OffloadingConnector","kv_role":"kv_both",)"
                             R"("kv_connector_extra_config":{"num_cpu_blocks":)" +
                             blocks + "}}";
    return parse({"--kv-transfer-config", json});
  };
  for (const std::string& n : std::vector<std::string>{"1", std::to_string(kMaxCpuBlocks)}) {
    auto p = offloading(n);
    REQUIRE(std::holds_alternative<SimOptions>(p));
    const auto& t = std::get<SimOptions>(p).kv_transfer;
    CHECK(t.num_cpu_blocks == std::stoul(n));
    CHECK_FALSE(t.enabled());  // no NIXL pulls: kv_transfer_params are not this connector's
  }
  for (const std::string& n :
       std::vector<std::string>{"0", std::to_string(kMaxCpuBlocks + 1ull), "-1", "1.5", "\"8\""}) {
    CAPTURE(n);
    auto p = offloading(n);
    REQUIRE(std::holds_alternative<OptionsError>(p));
    CHECK(std::get<OptionsError>(p).message.find("num_cpu_blocks") != std::string::npos);
  }
  auto p = parse({"--kv-transfer-config", R"({"kv_connector":"OffloadingConnector","kv_role":"kv_both"})"});
  REQUIRE(std::holds_alternative<OptionsError>(p));
  CHECK(std::get<OptionsError>(p).message.find("needs kv_connector_extra_config.num_cpu_blocks") != std::string::npos);
  const auto no_load = parse({"--kv-offload-load-time-per-block-us", "0"});
  CHECK(std::get<SimOptions>(no_load).kv_offload_load_time_per_block_us == 0);
  CHECK(std::holds_alternative<OptionsError>(parse({"--kv-offload-load-time-per-block-us", "-1"})));
}

TEST_CASE("--kv-transfer-config takes vLLM's KVTransferConfig JSON; NixlConnector") {
  auto o = std::get<SimOptions>(parse({}));
  CHECK_FALSE(o.kv_transfer.enabled());
  for (const char* role : {"kv_producer", "kv_consumer", "kv_both"}) {
    auto p = parse({"--kv-transfer-config",
                    std::string(R"({"kv_connector":"NixlConnector","kv_role":")") + role + R"("})"});
    REQUIRE(std::holds_alternative<SimOptions>(p));
    const auto& t = std::get<SimOptions>(p).kv_transfer;
    CHECK(t.enabled());
    CHECK(t.kv_role == role);
    CHECK(t.engine_id.empty());  // drawn at start
    CHECK(t.kv_load_failure_policy == "recompute");
  }
  o = std::get<SimOptions>(parse({"--kv-transfer-config",
                                  R"({"kv_connector":"NixlConnector","kv_role":"kv_both","engine_id":"e1",
                                      "kv_buffer_device":"cuda","kv_buffer_size":1e9,"kv_rank":null,
                                      "kv_parallel_size":1,"kv_ip":"127.0.0.1","kv_port":14579,
                                      "kv_connector_extra_config":{"backends":["UCX"]},
                                      "kv_connector_module_path":null,"enable_permute_local_kv":false,
                                      "kv_load_failure_policy":"fail"})"}));
  CHECK(o.kv_transfer.engine_id == "e1");
  CHECK(o.kv_transfer.kv_load_failure_policy == "fail");
  auto error_of = [](const char* json) {
    auto p = parse({"--kv-transfer-config", json});
    REQUIRE(std::holds_alternative<OptionsError>(p));
    return std::get<OptionsError>(p).message;
  };
  CHECK(error_of(R"({"kv_connector":"LMCacheConnectorV1","kv_role":"kv_both"})").find("unsupported kv_connector 'LMCacheConnectorV1'") != std::string::npos);
  CHECK(error_of(R"({"kv_role":"kv_both"})").find("kv_connector is required") != std::string::npos);
  CHECK(error_of(R"({"kv_connector":"NixlConnector","kv_role":"kv_leader"})").find("kv_role must be") != std::string::npos);
  CHECK(error_of(R"({"kv_connector":"NixlConnector"})").find("kv_role must be") != std::string::npos);
  CHECK(error_of(R"({"kv_connector":"NixlConnector","kv_role":"kv_both","colour":1})").find("unknown key 'colour'") != std::string::npos);
  CHECK(error_of(R"({"kv_connector":"NixlConnector","kv_role":"kv_both")").find("a JSON object") != std::string::npos);
  CHECK(error_of(R"(["NixlConnector"])").find("a JSON object") != std::string::npos);
  CHECK(error_of(R"({"kv_connector":"NixlConnector","kv_role":"kv_both","kv_load_failure_policy":"retry"})").find("recompute or fail") != std::string::npos);
  CHECK(error_of(R"({"kv_connector":"NixlConnector","kv_role":"kv_both","kv_port":"x"})").find("kv_port") != std::string::npos);
  const std::string long_id(257, 'e');
  CHECK(error_of(("{\"kv_connector\":\"NixlConnector\",\"kv_role\":\"kv_both\",\"engine_id\":\"" + long_id + "\"}").c_str())
            .find("engine_id") != std::string::npos);
}

TEST_CASE("the NIXL cost and bound flags, and --max-num-batched-tokens") {
  auto o = std::get<SimOptions>(parse({}));
  CHECK(o.max_num_batched_tokens == 8192);
  CHECK(o.nixl_abort_request_timeout_s == 480);
  CHECK(o.max_held_kv_transfers == 4096);
  CHECK(o.kv_pull_timeout_s == 5);
  CHECK_FALSE(o.fail_kv_pulls);
  o = std::get<SimOptions>(parse({"--max-num-batched-tokens", "512", "--kv-transfer-time-per-block-us", "30",
                                  "--nixl-abort-request-timeout", "0.5", "--max-held-kv-transfers", "2",
                                  "--kv-pull-timeout", "0.25", "--fail-kv-pulls"}));
  CHECK(o.max_num_batched_tokens == 512);
  CHECK(o.kv_transfer_time_per_block_us == 30);
  CHECK(o.nixl_abort_request_timeout_s == 0.5);
  CHECK(o.max_held_kv_transfers == 2);
  CHECK(o.kv_pull_timeout_s == 0.25);
  CHECK(o.fail_kv_pulls);
  for (std::vector<std::string> bad : {std::vector<std::string>{"--max-num-batched-tokens", "0"},
                                       {"--max-held-kv-transfers", "0"}, {"--max-held-kv-transfers", "2000000"},
                                       {"--kv-pull-timeout", "0"}, {"--kv-transfer-time-per-block-us", "-1"},
                                       {"--nixl-abort-request-timeout", "x"}, {"--fail-kv-pulls=1"}})
    CHECK(std::holds_alternative<OptionsError>(parse(bad)));
}
