// Data parallelism in the sim: vLLM's X-data-parallel-rank parsing, its internal balancer,
// engine ids and KV-event endpoints per rank, the flags, and metrics labelled per engine.
#include "ringgate/sim/data_parallel.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "ringgate/sim/kv_event_publisher.h"
#include "ringgate/sim/options.h"
#include "ringgate/sim/sim_metrics.h"

using namespace ringgate::sim;

TEST_CASE("X-data-parallel-rank is read as Python's int() reads it, then checked against the size") {
  auto rank = [](std::string_view v, uint32_t size = 4) { return parse_rank_header(v, size); };
  CHECK(rank("1").kind == RankHeader::Kind::rank);
  CHECK(rank("1").rank == 1);
  CHECK(rank(" 3\t").rank == 3);
  CHECK(rank("+2").rank == 2);
  CHECK(rank("003").rank == 3);
  CHECK(rank("-0").kind == RankHeader::Kind::rank);
  CHECK(rank("1_0", 64).rank == 10);
  // int() raises: vLLM takes no rank and its balancer picks.
  for (std::string_view bad : {"", " ", "abc", "1.0", "0x1", "1__0", "_1", "1_", "--1", "1 2", "+"})
    CHECK_MESSAGE(rank(bad).kind == RankHeader::Kind::none, bad);
  // In range of int() but not of the engines: vLLM's ValueError, answered 400.
  CHECK(rank("4").kind == RankHeader::Kind::out_of_range);
  CHECK(rank("4").message == "data_parallel_rank 4 is out of range [0, 4).");
  CHECK(rank("-1").message == "data_parallel_rank -1 is out of range [0, 4).");
  CHECK(rank("0_07", 2).message == "data_parallel_rank 7 is out of range [0, 2).");
  const std::string huge(5000, '9');
  CHECK(rank(huge).kind == RankHeader::Kind::out_of_range);
  CHECK(rank(huge).message == "data_parallel_rank " + huge + " is out of range [0, 4).");
  CHECK(rank("0", 1).kind == RankHeader::Kind::rank);
  CHECK(rank("1", 1).kind == RankHeader::Kind::out_of_range);
}

TEST_CASE("the balancer picks the lowest waiting*4 + running, the first of equals") {
  DpBalancer b(3, 0);  // live counts at every pick
  CHECK(b.pick(1, std::vector<EngineLoad>{{0, 0}, {0, 0}, {0, 0}}, 1) == std::vector<uint32_t>{0});
  CHECK(b.pick(2, std::vector<EngineLoad>{{0, 5}, {0, 3}, {0, 4}}, 1) == std::vector<uint32_t>{1});
  // One waiting weighs as four running: 1 waiting (4) loses to 3 running (3).
  CHECK(b.pick(3, std::vector<EngineLoad>{{1, 0}, {0, 3}, {1, 1}}, 1) == std::vector<uint32_t>{1});
  CHECK(b.pick(4, std::vector<EngineLoad>{{1, 0}, {0, 4}, {1, 1}}, 1) == std::vector<uint32_t>{0});
  // Requests picked together count as waiting on the engine each went to.
  CHECK(b.pick(5, std::vector<EngineLoad>{{0, 0}, {0, 0}, {0, 9}}, 4) == std::vector<uint32_t>{0, 1, 0, 1});
}

TEST_CASE("between two snapshots of the counts each pick adds one waiting to its engine") {
  const uint64_t ms = 1000000;
  DpBalancer b(2, 100 * ms);
  const std::vector<EngineLoad> idle{{0, 0}, {0, 0}};
  CHECK(b.pick(1 * ms, idle, 1) == std::vector<uint32_t>{0});
  // Still the first snapshot: engine 0 counts one waiting now, whatever the live counts say.
  CHECK(b.pick(50 * ms, idle, 1) == std::vector<uint32_t>{1});
  CHECK(b.pick(60 * ms, idle, 1) == std::vector<uint32_t>{0});
  // 100 ms on: a new snapshot of the live counts.
  CHECK(b.pick(101 * ms, std::vector<EngineLoad>{{0, 2}, {0, 1}}, 1) == std::vector<uint32_t>{1});
}

TEST_CASE("NixlConnector's engine id names the rank only with data parallelism") {
  CHECK(data_parallel_engine_id("e", 0, 1) == "e");
  CHECK(data_parallel_engine_id("e", 0, 2) == "e_dp0");
  CHECK(data_parallel_engine_id("e", 3, 4) == "e_dp3");
}

TEST_CASE("KV-event endpoints are offset by the rank as vLLM's offset_endpoint_port") {
  std::string error;
  CHECK(offset_endpoint_port("tcp://*:5557", 0, error) == "tcp://*:5557");
  CHECK(offset_endpoint_port("tcp://*:5557", 3, error) == "tcp://*:5560");
  CHECK(offset_endpoint_port("tcp://10.0.0.1:5558", 1, error) == "tcp://10.0.0.1:5559");
  CHECK(offset_endpoint_port("inproc://cache", 2, error) == "inproc://cache_dp2");
  CHECK(offset_endpoint_port("tcp://127.0.0.1:*", 2, error) == "tcp://127.0.0.1:*");  // the sim's free port
  CHECK(offset_endpoint_port("", 2, error).empty());
  CHECK(error.empty());
  CHECK(offset_endpoint_port("ipc:///tmp/kv", 0, error) == "ipc:///tmp/kv");
  CHECK(offset_endpoint_port("ipc:///tmp/kv", 1, error).empty());
  CHECK(error.find("must contain 'inproc' or match tcp://") != std::string::npos);
  error.clear();
  CHECK(offset_endpoint_port("tcp://*:65535", 1, error).empty());
  CHECK(!error.empty());
  error.clear();
  CHECK(offset_endpoint_port("tcp://*:abc", 1, error).empty());
  CHECK(!error.empty());
}

TEST_CASE("--data-parallel-size 1-64; --data-parallel-rank 0..size-1 and only with a size") {
  auto parse = [](std::vector<std::string> args) { return parse_options(args); };
  auto ok = parse({});
  REQUIRE(std::holds_alternative<SimOptions>(ok));
  CHECK(std::get<SimOptions>(ok).data_parallel_size == 1);
  CHECK(!std::get<SimOptions>(ok).data_parallel_rank);
  CHECK(std::get<SimOptions>(ok).local_ranks() == std::vector<uint32_t>{0});
  auto four = parse({"--data-parallel-size", "4"});
  REQUIRE(std::holds_alternative<SimOptions>(four));
  CHECK(std::get<SimOptions>(four).local_ranks() == std::vector<uint32_t>{0, 1, 2, 3});
  auto rank = parse({"--data-parallel-size", "4", "--data-parallel-rank", "2"});
  REQUIRE(std::holds_alternative<SimOptions>(rank));
  CHECK(std::get<SimOptions>(rank).local_ranks() == std::vector<uint32_t>{2});
  CHECK(std::holds_alternative<SimOptions>(parse({"--data-parallel-size", "64"})));
  for (auto bad : std::vector<std::vector<std::string>>{{"--data-parallel-size", "0"},
                                                        {"--data-parallel-size", "65"},
                                                        {"--data-parallel-size", "-1"},
                                                        {"--data-parallel-size", "x"},
                                                        {"--data-parallel-rank", "0"},
                                                        {"--data-parallel-size", "2", "--data-parallel-rank", "2"},
                                                        {"--data-parallel-size", "2", "--data-parallel-rank", "-1"},
                                                        {"--data-parallel-stats-interval-ms", "-1"}}) {
    auto p = parse(bad);
    CHECK_MESSAGE(std::holds_alternative<OptionsError>(p), bad.front());
  }
}

TEST_CASE("metrics: one series per engine under each family's one header") {
  SimCounters c0, c1;
  c0.prefix_cache_hits = 16;
  c1.prefix_cache_hits = 48;
  c1.time_to_first_token.observe(0.2);
  EngineMetrics e0, e1;
  e0.rank = 0;
  e0.counters = &c0;
  e0.running = 2;
  e1.rank = 1;
  e1.counters = &c1;
  e1.waiting = 3;
  SimGauges g;
  g.model_name = "m";
  g.num_gpu_blocks = 8;
  const std::vector<EngineMetrics> engines{e0, e1};
  const std::string text = render_metrics(engines, g);
  auto count = [&](std::string_view needle) {
    size_t n = 0;
    for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
    return n;
  };
  CHECK(text.find("vllm:num_requests_running{engine=\"0\",model_name=\"m\"} 2.0\n") != std::string::npos);
  CHECK(text.find("vllm:num_requests_running{engine=\"1\",model_name=\"m\"} 0.0\n") != std::string::npos);
  CHECK(text.find("vllm:num_requests_waiting{engine=\"1\",model_name=\"m\"} 3.0\n") != std::string::npos);
  CHECK(text.find("vllm:prefix_cache_hits_total{engine=\"0\",model_name=\"m\"} 16.0\n") != std::string::npos);
  CHECK(text.find("vllm:prefix_cache_hits_total{engine=\"1\",model_name=\"m\"} 48.0\n") != std::string::npos);
  CHECK(text.find("vllm:time_to_first_token_seconds_count{engine=\"1\",model_name=\"m\"} 1.0\n") != std::string::npos);
  CHECK(text.find("vllm:time_to_first_token_seconds_count{engine=\"0\",model_name=\"m\"} 0.0\n") != std::string::npos);
  CHECK(count("# TYPE vllm:prefix_cache_hits_total counter\n") == 1);
  CHECK(count("# TYPE vllm:time_to_first_token_seconds histogram\n") == 1);
  CHECK(count("vllm:cache_config_info{") == 2);
  CHECK(count("vllm:engine_sleep_state{") == 6);
  CHECK(count("vllm:request_success_total{") == 6);
  // Every sample of a family before the next family's header.
  CHECK(text.find("vllm:num_requests_running{engine=\"1\"") < text.find("# HELP vllm:num_requests_waiting"));
}
