#pragma once
// What the control thread is started with (ControlPlane, and the rooms it is made of:
// ControlLoop, AdminViews).
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "ringgate/config/gateway_config.h"
#include "ringgate/control/access_log_writer.h"
#include "ringgate/control/endpoint_pool.h"
#include "ringgate/control/epp_metrics.h"
#include "ringgate/control/gateway_metrics.h"
#include "ringgate/control/otlp_exporter.h"
#include "ringgate/control/shared_state.h"
#include "ringgate/control/wake_hook.h"
#include "ringgate/openai/hf_prompt_tokenizer.h"
#include "ringgate/proxy/passive_health.h"
#include "ringgate/proxy/rate_limiter.h"
#include "ringgate/proxy/response_table.h"
#include "ringgate/sched/scheduler_config.h"

namespace ringgate::control {

struct ControlPlaneOptions {
  std::string pool_name = "vllm";
  proxy::ResponseTableLimits responses;  // which server holds each Responses API response
  PoolOptions pool;
  sched::SchedulerConfig scheduler;
  size_t prefix_block_bytes = 64;      // the prefix index's block (scheduler.prefixBlockBytes)
  proxy::PassiveHealthOptions health;  // passive ejection (config `health`)
  size_t workers = 1;
  int admin_listen_fd = -1;  // bound and listening; owned from here on
  BuildInfo build;
  MetricNames metric_names = MetricNames::Both;  // which EPP name sets /metrics carries
  std::string pool_namespace;                    // Kubernetes namespace of the pool's pods; empty for static endpoints
  // Structured access log: the opened writer (null = off). The workers' rings must be
  // enabled (ProxyOptions::access_log) for it to get records.
  std::shared_ptr<AccessLogWriter> access_log;
  // OpenTelemetry traces: where the workers' spans go (unset = tracing off). The workers'
  // span rings must be enabled (ProxyOptions::tracing) for it to get spans.
  std::optional<OtlpExporterOptions> tracing;
  // scaleFromZero.wakeUrl: where the wake hook POSTs while requests wait for a model (unset: no hook).
  std::optional<WakeHookOptions> wake_hook;
  // The workers' shared rate limiter (/debug/flow shows its table; sharedState shares
  // its budgets); null = none.
  proxy::RateLimiter* limiter = nullptr;
  // Where the pool's KV-cache events are (followed when scheduler.precise_prefix).
  config::KvEventsConfig kv_events;
  // Precise mode's model tokenizer (null: sim-bytes): its outcomes go to /metrics.
  std::shared_ptr<const openai::HfPromptTokenizer> prompt_tokenizer;
  // The data path's request-body cap: POST /debug/pick takes bodies up to it.
  size_t admin_max_body_bytes = 16384;
  // sharedState / --redis: replicas share their load through Redis (off: redis_host empty).
  SharedStateOptions shared_state;
};

}  // namespace ringgate::control
