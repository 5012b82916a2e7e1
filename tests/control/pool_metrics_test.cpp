// The inference_pool_* (GAIE) and llm_d_epp_* pool gauges from a snapshot, as GAIE's
// refreshPrometheusMetrics computes them: ready pods are the routable pods whose metrics
// are at most 2 s old, the averages (and llm-d's standard deviations) are over those,
// and the per-pod queue sizes cover every pod of the pool, stale or not.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "ringgate/control/gateway_metrics.h"

using namespace ringgate;
using namespace std::chrono_literals;

namespace {
sched::EndpointState endpoint(uint32_t id, bool routable, sched::Clock::time_point scraped, double waiting,
                              double running, double kv) {
  sched::EndpointState e;
  e.id = id;
  e.address.host = "10.0.0." + std::to_string(id + 1);
  e.address.port = 8000;
  e.routable = routable;
  e.has_metrics = true;
  e.scraped_at = scraped;
  e.metrics.all.waiting = waiting;
  e.metrics.all.running = running;
  e.metrics.all.kv_cache_usage = kv;
  return e;
}

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}
}  // namespace

TEST_CASE("pool gauges: ready pods = routable with metrics <= 2 s old; averages over them; per-pod over all") {
  const auto now = sched::Clock::time_point{} + 1000s;
  std::vector<sched::EndpointState> states;
  states.push_back(endpoint(0, true, now - 100ms, 4, 2, 0.5));    // fresh
  states.push_back(endpoint(1, true, now - 1500ms, 2, 6, 0.25));  // 1.5 s: still fresh (not the scheduler's 500 ms)
  states.push_back(endpoint(2, true, now - 3s, 100, 100, 1.0));   // stale: not ready, not averaged
  states.push_back(endpoint(3, false, now - 10ms, 50, 50, 0.9));  // not routable: neither
  sched::EndpointSnapshot snapshot(std::move(states));
  control::PoolView view;
  view.pool_name = "vllm";
  view.snapshot = &snapshot;
  view.now = now;
  const std::string text = "\n" + control::render_gateway_metrics(view, {}, {}, sched::PrefixIndexStats{},
                                                                   control::ControlCounters{}, control::BuildInfo{"abc", "1.0"});
  CHECK(has_line(text, "inference_pool_ready_pods{name=\"vllm\"} 2"));
  CHECK(has_line(text, "inference_pool_average_queue_size{name=\"vllm\"} 3"));
  CHECK(has_line(text, "inference_pool_average_running_requests{name=\"vllm\"} 4"));
  CHECK(has_line(text, "inference_pool_average_kv_cache_utilization{name=\"vllm\"} 0.375"));
  CHECK(has_line(text, "llm_d_epp_ready_endpoints{name=\"vllm\"} 2"));
  CHECK(has_line(text, "llm_d_epp_average_queue_size{name=\"vllm\"} 3"));
  CHECK(has_line(text, "llm_d_epp_std_dev_queue_size{name=\"vllm\"} 1"));
  CHECK(has_line(text, "llm_d_epp_std_dev_running_requests{name=\"vllm\"} 2"));
  CHECK(has_line(text, "llm_d_epp_std_dev_kv_cache_utilization{name=\"vllm\"} 0.125"));
  CHECK(has_line(text, "inference_pool_per_pod_queue_size{model_server_pod=\"10.0.0.1:8000\",name=\"vllm\"} 4"));
  CHECK(has_line(text, "inference_pool_per_pod_queue_size{model_server_pod=\"10.0.0.2:8000\",name=\"vllm\"} 2"));
  CHECK(has_line(text, "inference_pool_per_pod_queue_size{model_server_pod=\"10.0.0.3:8000\",name=\"vllm\"} 100"));
  CHECK(has_line(text, "inference_pool_per_pod_queue_size{model_server_pod=\"10.0.0.4:8000\",name=\"vllm\"} 50"));
  CHECK(has_line(text, "llm_d_epp_per_endpoint_queue_size{model_server_endpoint=\"10.0.0.3:8000\",name=\"vllm\"} 100"));
  CHECK(has_line(text, "inference_extension_info{build_ref=\"1.0\",commit=\"abc\"} 1"));
  CHECK(has_line(text, "llm_d_epp_info{build_ref=\"1.0\",commit=\"abc\"} 1"));

  // With pod names from discovery, per-pod series are labelled by pod (host:port otherwise).
  view.pod_name = [](sched::EndpointId id) { return id == 0 ? std::string_view("vllm-0") : std::string_view(); };
  const std::string named = "\n" + control::render_gateway_metrics(view, {}, {}, sched::PrefixIndexStats{},
                                                                    control::ControlCounters{}, control::BuildInfo{});
  CHECK(has_line(named, "inference_pool_per_pod_queue_size{model_server_pod=\"vllm-0\",name=\"vllm\"} 4"));
  CHECK(has_line(named, "inference_pool_per_pod_queue_size{model_server_pod=\"10.0.0.2:8000\",name=\"vllm\"} 2"));
}

TEST_CASE("pool gauges with no fresh endpoint: no ready pod, averages 0, the pod's queue still shown") {
  const auto now = sched::Clock::time_point{} + 1000s;
  std::vector<sched::EndpointState> states;
  states.push_back(endpoint(0, true, now - 5s, 7, 7, 0.7));
  sched::EndpointSnapshot snapshot(std::move(states));
  control::PoolView view;
  view.pool_name = "p";
  view.snapshot = &snapshot;
  view.now = now;
  const std::string text = "\n" + control::render_gateway_metrics(view, {}, {}, sched::PrefixIndexStats{},
                                                                   control::ControlCounters{}, control::BuildInfo{});
  CHECK(has_line(text, "inference_pool_ready_pods{name=\"p\"} 0"));
  CHECK(has_line(text, "inference_pool_average_queue_size{name=\"p\"} 0"));
  CHECK(has_line(text, "inference_pool_per_pod_queue_size{model_server_pod=\"10.0.0.1:8000\",name=\"p\"} 7"));
}

TEST_CASE("--metrics-names: one set only") {
  const auto now = sched::Clock::time_point{} + 1000s;
  std::vector<sched::EndpointState> states;
  states.push_back(endpoint(0, true, now - 5ms, 1, 1, 0.1));
  sched::EndpointSnapshot snapshot(std::move(states));
  control::PoolView view;
  view.pool_name = "p";
  view.snapshot = &snapshot;
  view.now = now;
  const std::string gaie = control::render_gateway_metrics(view, {}, {}, sched::PrefixIndexStats{}, control::ControlCounters{},
                                                           control::BuildInfo{}, control::MetricNames::Gaie);
  CHECK(gaie.find("inference_pool_ready_pods{") != std::string::npos);
  CHECK(gaie.find("\nllm_d_") == std::string::npos);
  CHECK(gaie.find("ringgate_connections_open") != std::string::npos);
  const std::string llmd = control::render_gateway_metrics(view, {}, {}, sched::PrefixIndexStats{}, control::ControlCounters{},
                                                           control::BuildInfo{}, control::MetricNames::LlmD);
  CHECK(llmd.find("llm_d_epp_ready_endpoints{") != std::string::npos);
  CHECK(llmd.find("\ninference_") == std::string::npos);
  CHECK(control::parse_metric_names("llm-d") == control::MetricNames::LlmD);
  CHECK_FALSE(control::parse_metric_names("llmd").has_value());
}
