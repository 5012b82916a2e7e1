#include "reference_docs.h"

#include <cstdio>
#include <memory>
#include <sstream>

#include "ringgate/config/gaie_schema.h"
#include "ringgate/config/gateway_schema.h"
#include "ringgate/config/llm_d_compat.h"
#include "ringgate/control/epoll_loop.h"
#include "ringgate/control/gateway_metrics.h"
#include "ringgate/control/flow_metrics.h"
#include "ringgate/control/kv_event_metrics.h"
#include "ringgate/control/latency_learner.h"
#include "ringgate/control/response_table_metrics.h"
#include "ringgate/control/shared_state.h"
#include "ringgate/control/wake_hook.h"
#include "ringgate/gateway/options.h"
#include "ringgate/metrics/gateway_stats.h"
#include "ringgate/proxy/rate_limiter.h"
#include "ringgate/proxy/worker_counters.h"
#include "ringgate/sched/inflight_counters.h"
#include "ringgate/sched/prefix_index.h"
#include "ringgate/proxy/response_table.h"
#include "ringgate/sched/scorer_registry.h"

namespace ringgate::docs {
namespace {

namespace gs = config::gateway_schema;

constexpr const char* kRegenerate = "ninja -C build reference-docs";

// A table cell: no newline, and "|" escaped.
std::string cell(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '|') out += "\\|";
    else if (c == '\n') out += ' ';
    else out += c;
  }
  return out;
}

std::string code(std::string_view text) { return text.empty() ? std::string() : "`" + cell(text) + "`"; }

std::string join(std::string_view parent, std::string_view key) {
  return parent.empty() ? std::string(key) : std::string(parent) + "." + std::string(key);
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

void flag_table(std::string& out, std::span<const util::FlagSpec> flags) {
  out += "| Flag | Value | What it does |\n|---|---|---|\n";
  for (const util::FlagSpec& f : flags)
    out += "| " + code(f.name) + " | " + code(f.value_hint) + " | " + cell(f.help) + " |\n";
}

}  // namespace

std::string configuration_reference() {
  std::string out;
  out +=
      "# Configuration reference\n\n"
      "<!-- Generated: do not edit. `" + std::string(kRegenerate) + "` writes this page from\n"
      "     include/ringgate/config/gateway_schema.h, include/ringgate/config/gaie_schema.h and the\n"
      "     flag tables of src/gateway/options.cpp; tests/docs/reference_docs_test.cpp fails when it is stale. -->\n\n"
      "The config file (`ringgate --config FILE`) holds Kubernetes-style YAML documents separated by `---`:\n"
      "one `kind: Gateway` document (ringgate's own settings, all optional) and any number of the\n"
      "GAIE documents below. `deploy/examples/ringgate.yaml` shows every field. Settings apply as\n"
      "defaults < file < command-line flags. `ringgate --check-config FILE` validates a file.\n\n"
      "**Reload**: *live* fields apply on `SIGHUP` or when the file changes (a ConfigMap's `..data` swap\n"
      "included) without dropping a request; *restart* fields apply when ringgate restarts. A file with\n"
      "errors is rejected as a whole and the running configuration stays.\n\n"
      "Sizes take `Ki`/`Mi`/`Gi` suffixes (`64Ki`); durations are Go-style (`500ms`, `5s`, `1m30s`, `1h`).\n\n"
      "Contents: [Gateway document](#gateway-document) · [Scorers](#scorers) · "
      "[GAIE documents](#gaie-documents) · [Command-line flags](#command-line-flags)\n\n"
      "## Gateway document\n\n`apiVersion: ringgate.io/v1`, `kind: Gateway`. A field's path is dotted; `[]` stands for the\n"
      "items of a list.\n";
  for (const gs::Map& map : gs::kMaps) {
    out += "\n### " + (map.path.empty() ? std::string("Top level") : "`" + std::string(map.path) + "`") + "\n\n";
    out += "| Field | Type | Default | Range | Reload | Flag | Description |\n|---|---|---|---|---|---|---|\n";
    for (size_t i = 0; i < map.fields.size(); ++i) {
      const gs::Field& f = map.fields[i];
      std::string default_value(f.default_value);
      std::string description(f.description);
      if (map.path == "scheduler.scorers") {
        default_value = number(sched::kScorers[i].default_weight);
        description += " llm-d plugin type `" + std::string(sched::kScorers[i].plugin_type) + "`.";
      }
      out += "| " + code(join(map.path, f.name)) + " | " + cell(f.type) + " | " + code(default_value) + " | " +
             cell(f.range) + " | " + (f.reload == gs::Reload::Live ? "live" : "restart") + " | " + cell(f.flag) +
             " | " + cell(description) + " |\n";
    }
  }
  out +=
      "\n## Scorers\n\nThe keys of `scheduler.scorers` (`include/ringgate/sched/scorer_registry.h`): each is also a\n"
      "plugin type of an EndpointPickerConfig and a `plugin_duration_seconds` series, and `/debug/pick`\n"
      "shows its `<name>_score`.\n\n| Scorer | llm-d plugin type | Default weight |\n|---|---|---|\n";
  for (const sched::Scorer& s : sched::kScorers)
    out += "| " + code(std::string("scorer ") + std::string(s.name)) + " | `" + std::string(s.plugin_type) + "` | " +
           number(s.default_weight) + " |\n";
  out +=
      "\n## GAIE documents\n\nThe Gateway API Inference Extension documents ringgate reads, with the fields it acts on.\n"
      "`metadata` is Kubernetes' ObjectMeta in every kind.\n";
  for (const config::gaie_schema::Document& d : config::gaie_schema::kDocuments) {
    out += "\n### " + std::string(d.kind) + "\n\n`apiVersion`: " + cell(d.api_versions) + ". " + cell(d.where) +
           "\n\n| Field | Type | What ringgate does with it |\n|---|---|---|\n";
    for (const config::gaie_schema::Field& f : d.fields)
      out += "| " + code(std::string(d.kind) + " " + std::string(f.path)) + " | " + cell(f.type) + " | " +
             cell(f.description) + " |\n";
  }
  out +=
      "\n## Command-line flags\n\n`ringgate --help` prints the same. Flags beat the config file. Forms: `--flag value`,\n"
      "`--flag=value`.\n\n### ringgate\n\n";
  flag_table(out, gateway::gateway_flags());
  out +=
      "\n### The Go EPP's flags\n\nAs GAIE's `inferencepool` chart passes them ([EPP mode](../epp-mode.md)); Go's `-flag` form works\ntoo.\n\n";
  flag_table(out, gateway::epp_flags());
  return out;
}

std::string render_all_metrics() {
  const auto now = sched::Clock::now();
  std::vector<sched::EndpointState> states(1);
  sched::EndpointState& e = states[0];
  e.id = 0;
  e.address.host = "10.0.0.1";
  e.address.port = 8000;
  e.routable = true;
  e.has_metrics = true;
  e.scraped_at = now;
  sched::EndpointSnapshot snapshot(std::move(states));

  // One worker's statistics with a sample in every table, so every family shows its labels.
  auto stats = std::make_unique<metrics::WorkerStats>();
  std::string k;
  metrics::ObjectiveStats& o =
      stats->objectives.find_or_add(metrics::objective_key("m", "m", 0, metrics::kDefaultFairnessId, k));
  o.requests.add();
  o.running.add(1);
  for (auto& c : o.errors) c.add();
  o.duration.observe(0.1, metrics::kRequestDurationBuckets);
  for (auto& h : o.ttft) h.observe(0.1, metrics::kRequestDurationBuckets);
  o.ntpot.observe(0.01, metrics::kNtpotBuckets);
  o.tpot.observe(0.01, metrics::kTpotBuckets);
  o.itl.observe(0.01, metrics::kItlBuckets);
  o.input_tokens.observe(10, metrics::kInputTokenBuckets);
  o.output_tokens.observe(10, metrics::kOutputTokenBuckets);
  o.cached_tokens.observe(10, metrics::kInputTokenBuckets);
  o.request_sizes.observe(100, metrics::kRequestSizeBuckets);
  o.response_sizes.observe(100, metrics::kResponseSizeBuckets);
  stats->rewrite_decisions.find_or_add(metrics::rewrite_decision_key("rule", "m", "m", k)).add();
  stats->scheduler_duration.observe(0.001, metrics::kSchedulerDurationBuckets);
  stats->epp_request_processing.observe(0.0001, metrics::kEppRequestProcessingBuckets);
  stats->epp_response_processing.observe(0.0001, metrics::kEppResponseProcessingBuckets);
  for (auto& h : stats->plugin_duration) h.observe(0.001, metrics::kSchedulerDurationBuckets);
  stats->scheduler_attempts.find_or_add(metrics::attempt_key(true, "m", 0, k)).add();
  stats->scheduler_attempts.find_or_add(metrics::attempt_key(false, "m", 0, k)).add();
  stats->prefix_hit_ratio.observe(0.5, metrics::kHitRatioBuckets);
  stats->prefix_hit_bytes.observe(64, metrics::kHitBytesBuckets);
  stats->disaggregation.decisions.find_or_add(metrics::pd_decision_key("m", true, k)).add();
  for (auto& c : stats->disaggregation.prefill_failures) c.add();
  stats->disaggregation.decode_only_fallbacks.add();
  for (auto& h : stats->disaggregation.leg_duration) h.observe(0.1, metrics::kPdLegDurationBuckets);
  for (auto& c : stats->media_parts.parts) c.add();
  for (auto& outcome : stats->migrations.count)
    for (auto& c : outcome) c.add();
  stats->migrations.pause.observe(0.1, metrics::kMigrationPauseBuckets);
  metrics::FlowBandStats& band = metrics::flow_series(*stats, 0, "tenant", "m", "m", k);
  band.queued.add(1);
  band.queued_bytes.add(100);
  for (auto& h : band.queue_duration) h.observe(0.01, metrics::kFlowQueueDurationBuckets);
  for (auto& c : stats->label_overflow) c.add();
  stats->rate_limit_rejections.find_or_add(metrics::rate_limit_key("tenant", true, k)).add();
  const metrics::WorkerStats* workers[] = {stats.get()};
  auto counters = std::make_unique<proxy::WorkerCounters>();
  const proxy::WorkerCounters* worker_counters[] = {counters.get()};

  control::ControlCounters control;
  control.access_log_enabled = true;
  control.tracing_enabled = true;  // the ringgate_trace_* families
  control.tls.enabled = true;
  control.tls.mode = "userspace";
  control.tls.reason = "example";
  control.auth.enabled = true;
  control::PoolView pool;
  pool.pool_name = "vllm";
  pool.snapshot = &snapshot;
  pool.now = now;
  pool.endpoints_known = 1;
  sched::InflightCounters inflight;
  proxy::RateLimiter limiter(16);
  control::FlowView flow;
  flow.pool_name = "vllm";
  flow.snapshot = &snapshot;
  flow.inflight = &inflight;
  flow.now = now;
  flow.limiter = &limiter;
  std::string text = control::render_gateway_metrics(pool, workers, worker_counters, sched::PrefixIndexStats{}, control,
                                                     control::BuildInfo{"commit", "ref"},
                                                     control::MetricNames::Both, &flow);
  // What metrics_page (control/admin_pages.h) appends: precise prefix mode, shared state, latency model.
  control::append_kv_event_families(text, sched::ExactIndexStats{}, control::KvEventSubscriberCounters{});
  control::append_prompt_tokenizer_families(text, openai::PromptTokenizerCounts{}, true, openai::TokenCacheStats{});
  control::EpollLoop loop;
  control::SharedStateOptions shared_options;
  shared_options.redis_host = "127.0.0.1";  // never connected: only rendered
  shared_options.redis_port = 6379;
  shared_options.replica_id = "docs";
  sched::PrefixIndex index;
  proxy::ResponseTable responses;
  control::SharedState shared(loop, shared_options, "vllm", &limiter, index, responses, 1);
  control::append_response_table_families(text, responses);
  shared.append_metrics(text);
  const std::pair<std::string, uint64_t> wakes[] = {{"m", 1}};  // scaleFromZero.wakeUrl's families
  control::append_wake_hook_families(text, wakes, 0);
  // The latency model reports an endpoint's error once its fit has scored predictions: learn a while.
  control::LatencyLearner latency(1);
  latency.ensure(0);
  for (int i = 0; i < 100; ++i) {
    sched::LatencySample* s = latency.rings()[0].claim();
    if (!s) break;
    s->endpoint = 0;
    s->features.ttft.uncached_prompt_tokens = 200 + (i * 37) % 1800;
    s->features.ttft.slot_waits = i % 8;
    s->features.tpot.running = i % 8;
    s->features.tpot.batched_tokens = i % 8;
    s->ttft_ns = uint64_t((20 + 100 * s->features.ttft.uncached_prompt_tokens / 1000) * 1e6);
    s->tpot_ns = uint64_t((10 + 0.5 * s->features.tpot.running) * 1e6);
    latency.rings()[0].commit();
  }
  latency.drain();
  latency.append_metrics(text, &snapshot);
  return text;
}

std::map<std::string, MetricFamily> parse_families(const std::string& exposition) {
  std::map<std::string, MetricFamily> out;
  std::istringstream in(exposition);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
      const bool help = line[2] == 'H';
      const size_t space = line.find(' ', 7);
      const std::string name = line.substr(7, space == std::string::npos ? std::string::npos : space - 7);
      const std::string rest = space == std::string::npos ? std::string() : line.substr(space + 1);
      MetricFamily& f = out[name];
      f.name = name;
      (help ? f.help : f.type) = rest;
      continue;
    }
    if (line.empty() || line[0] == '#') continue;
    const size_t end = line.find_first_of("{ ");
    std::string name = line.substr(0, end);
    if (!out.contains(name)) {
      for (std::string_view suffix : {"_bucket", "_sum", "_count"})
        if (name.ends_with(suffix) && out.contains(name.substr(0, name.size() - suffix.size()))) {
          name.resize(name.size() - suffix.size());
          break;
        }
    }
    MetricFamily& f = out[name];
    f.name = name;
    f.has_samples = true;
    if (end != std::string::npos && line[end] == '{') {
      // label="value",... ; values are escaped, so a quote inside one is \"
      size_t i = end + 1;
      while (i < line.size() && line[i] != '}') {
        const size_t eq = line.find('=', i);
        if (eq == std::string::npos) break;
        const std::string label = line.substr(i, eq - i);
        if (label != "le" && label != "quantile") f.labels.insert(label);
        size_t j = eq + 2;
        while (j < line.size() && line[j] != '"') j += line[j] == '\\' ? 2 : 1;
        i = j + 1;
        if (i < line.size() && line[i] == ',') ++i;
      }
    }
  }
  return out;
}

std::string metrics_reference() {
  const std::map<std::string, MetricFamily> families = parse_families(render_all_metrics());
  std::string out =
      "# Metrics reference\n\n"
      "<!-- Generated: do not edit. `" + std::string(kRegenerate) + "` writes this page from the families\n"
      "     ringgate renders (tests/docs/reference_docs.cpp renders them with every feature on);\n"
      "     tests/docs/reference_docs_test.cpp fails when it is stale. -->\n\n"
      "Every metric family ringgate exposes on the admin listener's `/metrics` (`:9090`). Per-worker\n"
      "statistics are summed at scrape time. Some families appear only with their feature in use (TLS,\n"
      "API keys, the access log, flow control, precise prefix mode, shared state, disaggregation, stream\n"
      "migration); none is emitted empty. `metrics.names` / `--metrics-names` keeps one of the two EPP\n"
      "name sets (GAIE's `inference_*`, llm-d's `llm_d_*`); `ringgate_*` families are always there.\n"
      "What the EPP families mean, and which upstream ones are not emitted:\n"
      "[operations](../operations.md#metrics-gaie-and-llm-d-names).\n\n"
      "Contents: [ringgate](#ringgate) · [GAIE](#gaie-inference_) · [llm-d](#llm-d-llm_d_)\n";
  const std::pair<const char*, const char*> sections[] = {
      {"ringgate_", "## ringgate\n\nThe gateway's own families."},
      {"inference_", "## GAIE (`inference_*`)\n\nThe Gateway API Inference Extension EPP's families (v1.5.0)."},
      {"llm_d_", "## llm-d (`llm_d_*`)\n\nllm-d-router v0.10's families, with the deprecated `llm_d_inference_scheduler_*` "
                 "twins it still emitted."}};
  for (const auto& [prefix, heading] : sections) {
    out += std::string("\n") + heading + "\n\n| Family | Type | Labels | Help |\n|---|---|---|---|\n";
    for (const auto& [name, f] : families) {
      if (!name.starts_with(prefix)) continue;
      std::string labels;
      for (const std::string& l : f.labels) labels += (labels.empty() ? "" : ", ") + code(l);
      out += "| " + code(name) + " | " + cell(f.type) + " | " + labels + " | " + cell(f.help) + " |\n";
    }
  }
  return out;
}

std::set<std::string> entries_of(const std::string& page) {
  std::set<std::string> out;
  std::istringstream in(page);
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with("| `")) continue;
    const size_t end = line.find('`', 3);
    if (end != std::string::npos) out.insert(line.substr(3, end - 3));
  }
  return out;
}

std::string llm_d_compatibility_reference() {
  using config::CompatStatus;
  std::ostringstream out;
  const auto plugins = config::llm_d_plugins();
  size_t same = 0, mapped = 0, refused = 0;
  for (const config::PluginCompat& p : plugins) {
    if (p.status == CompatStatus::Same)
      ++same;
    else if (p.status == CompatStatus::Mapped)
      ++mapped;
    else
      ++refused;
  }
  out << "# llm-d compatibility: EndpointPickerConfig plugin by plugin\n\n"
      << "<!-- Generated by `ninja -C build reference-docs` from include/ringgate/config/llm_d_compat.h's table "
         "(src/config/llm_d_compat.cpp), the one the EndpointPickerConfig loader decides by. Do not edit. -->\n\n"
      << "What ringgate does with each plugin type and section of llm-d's `EndpointPickerConfig` (`--config-file`, "
         "`--check-config`). **same**: ringgate has it, same behaviour; **mapped**: an equivalent ringgate mechanism "
         "does the job (named); **refused**: loading fails with the reason. Nothing is ignored: a type, parameter "
         "or field not listed here is a config error naming it.\n\n"
      << "Written from " << config::kLlmDSnapshot << ".\n\n"
      << "Plugin types: " << plugins.size() << " (" << same << " same, " << mapped << " mapped, " << refused
      << " refused).\n\n## Plugin types\n\n| type | role | status | ringgate | parameters (llm-d default: ringgate) |\n"
      << "|---|---|---|---|---|\n";
  for (const config::PluginCompat& p : plugins) {
    out << "| `" << p.type << "` | " << config::to_string(p.role) << " | " << config::to_string(p.status) << " | "
        << p.ringgate << " | ";
    for (size_t i = 0; i < p.params.size(); ++i) {
      const config::CompatParam& q = p.params[i];
      out << (i ? "<br>" : "") << "`" << q.path << "`";
      if (!q.llm_d_default.empty()) out << " (" << q.llm_d_default << ")";
      if (!q.ringgate.empty()) out << ": " << q.ringgate;
    }
    out << " |\n";
  }
  out << "\n## Sections\n\n| section | status | ringgate | fields (llm-d default: ringgate) |\n|---|---|---|---|\n";
  for (const config::SectionCompat& s : config::llm_d_sections()) {
    out << "| `" << s.name << "` | " << config::to_string(s.status) << " | " << s.ringgate << " | ";
    for (size_t i = 0; i < s.fields.size(); ++i) {
      const config::CompatParam& q = s.fields[i];
      out << (i ? "<br>" : "") << "`" << q.path << "`";
      if (!q.llm_d_default.empty()) out << " (" << q.llm_d_default << ")";
      if (!q.ringgate.empty()) out << ": " << q.ringgate;
    }
    out << " |\n";
  }
  return out.str();
}

}  // namespace ringgate::docs
