// Data parallelism as vLLM's API server does it for N engines behind one port: the
// X-data-parallel-rank header (vllm/entrypoints/openai/serving_engine.py
// _get_data_parallel_rank, checked in vllm/v1/engine/processor.py process_inputs) and,
// without it, the internal balancer (vllm/v1/engine/core_client.py DPLBAsyncMPClient
// .get_core_engine_for_request).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ringgate::sim {

// What an X-data-parallel-rank value asks for.
struct RankHeader {
  enum class Kind {
    none,          // absent, empty or not an integer: vLLM's int() raised, the balancer picks
    rank,          // 0 <= rank < size
    out_of_range,  // an integer outside [0, size): vLLM's 400 (`message`)
  };
  Kind kind = Kind::none;
  uint32_t rank = 0;
  std::string message;  // "data_parallel_rank R is out of range [0, N)." for out_of_range
};

// Reads the header as Python's int(str) does (surrounding whitespace, a sign, digits with
// single underscores between them; leading zeros allowed), then checks it against `size`.
// Non-ASCII digits, which int() also takes, are not recognised (taken as no rank).
RankHeader parse_rank_header(std::string_view value, uint32_t size);

struct EngineLoad {
  uint32_t waiting = 0;
  uint32_t running = 0;
};

// vLLM's internal load balancing (v0.12, one API server: client_index 0 of 1): the engine with
// the lowest waiting * 4 + running wins, the first of equals scanning from engine 0. The counts
// are the DP coordinator's, published every 100 ms; between two, the chosen engine's waiting
// count goes up by one per request, so a burst spreads before the next snapshot.
class DpBalancer {
 public:
  // `stats_interval_ns`: how old a snapshot may get (0: live counts at every pick).
  DpBalancer(uint32_t engines, uint64_t stats_interval_ns);
  // Engines for `count` requests arriving together (the n choices or prompts of one client
  // request: vLLM adds each as a request of its own, one after another). `live`: each engine's
  // counts now, taken as the snapshot when it is due (once per call).
  std::vector<uint32_t> pick(uint64_t now_ns, std::span<const EngineLoad> live, uint32_t count);
  uint32_t engines() const { return uint32_t(counts_.size()); }

 private:
  std::vector<EngineLoad> counts_;
  uint64_t interval_ns_;
  uint64_t refreshed_ns_ = 0;
  bool fresh_ = false;  // a snapshot was ever taken
};

// vLLM's engine id of data-parallel rank `rank`: "<engine_id>_dp<rank>" when size > 1
// (EngineCoreProc.run_engine_core), the id itself otherwise.
std::string data_parallel_engine_id(std::string_view engine_id, uint32_t rank, uint32_t size);

}  // namespace ringgate::sim
