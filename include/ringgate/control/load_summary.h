#pragma once
// A leaf gateway's load, as a hub reads it (docs/multi-cluster.md): the compact JSON the
// leaf's admin port answers on GET /debug/load, and the hub's parser of it. The hub
// schedules the leaf as one endpoint on these figures; a summary that is malformed, past
// a bound or stale leaves the leaf unscheduled (a leaf is another cluster: not trusted).
//
//   {"version":1,"draining":false,"ageMs":12,"waiting":0,"running":3,"kvUsage":0.12,
//    "saturation":0.2,"held":0,"models":[{"name":"m","ready":2}]}
//
// ageMs: how old the leaf's oldest load figure of a routable server is (its own scrapes);
// ready: the leaf's routable servers for the model (0: it gets no request for it).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ringgate/sched/endpoint_snapshot.h"
#include "ringgate/sched/saturation_detector.h"
#include "ringgate/util/result.h"

namespace ringgate::control {

struct LoadSummaryLimits {
  size_t max_bytes = 64u << 10;  // the whole body
  size_t max_models = 256;       // entries of "models"
  size_t max_name_bytes = 256;   // a model's name (= openai::kMaxModelBytes)
  uint64_t max_age_ms = 2000;    // older figures are stale
  double max_count = 1e9;        // waiting, running, held, ready
};

struct LeafModel {
  std::string name;
  uint32_t ready = 0;
};

struct LoadSummary {
  bool draining = false;
  uint64_t age_ms = 0;
  double waiting = 0, running = 0, kv_usage = 0, saturation = 0, held = 0;
  std::vector<LeafModel> models;
};

// The leaf's summary, or why it is refused (malformed, a bound, stale).
util::Result<LoadSummary> parse_load_summary(std::string_view body, const LoadSummaryLimits& limits = {});

// What the leaf says (control thread): the routable servers of `snapshot` (null: none).
struct LoadSummaryInputs {
  const sched::EndpointSnapshot* snapshot = nullptr;
  bool draining = false;
  double held = 0;        // requests waiting in flow control (saturated, or a model at zero)
  double saturation = 0;  // the pool's (control::pool_saturation)
  sched::Clock::time_point now{};
};
std::string render_load_summary(const LoadSummaryInputs& in);

// A hub's admin key for a leaf (adminKeyFile): the file's first line, at most 512 bytes of
// characters a header can carry; or why not.
util::Result<std::string> read_admin_key_file(const std::string& path);

}  // namespace ringgate::control
