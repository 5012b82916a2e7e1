#include <string>

#include "ringgate/control/admin_pages.h"
#include "ringgate/net/io_backend.h"
#include "ringgate/sched/endpoint_report.h"
#include "ringgate/util/json_text.h"

namespace ringgate::control {

AdminResponse debug_endpoints_page(const AdminSources& sources, std::string_view) {
  const ControlPlaneOptions& options = *sources.options;
  const ControlLoop& loop = *sources.loop;
  const KvEventSources* kv = loop.kv();
  const sched::EndpointSnapshot* snapshot = loop.current();
  std::string body = "{\"pool\":";
  util::append_json_string(body, options.pool_name);  // a configured name: escape it
  body += std::string(",\"ready\":") + (loop.ready() ? "true" : "false") +
          ",\"draining\":" + (sources.status->draining() ? "true" : "false");
  // The scheduler's load signal (scheduler.loadSignal): shared replicas agree, local ones
  // count their own in-flight requests.
  body += ",\"load_signal\":";
  sched::append_load_signal_json(body, options.scheduler);
  // The scorers that run and their weights (scheduler.scorers).
  body += ",\"scorers\":";
  sched::append_scorers_json(body, options.scheduler.weights);
  body += ",\"io_backend\":{\"backend\":";
  util::append_json_string(body, net::backend_kind_name(net::chosen_backend().kind));
  body += ",\"fallback_reason\":";
  util::append_json_string(body, net::chosen_backend().reason);
  body += "},\"endpoints\":";
  body.push_back('[');
  if (snapshot) {
    const auto reports =
        sched::describe_endpoints(*snapshot, loop.inflight(), loop.index(), Clock::now(), options.scheduler);
    for (size_t i = 0; i < reports.size(); ++i) {
      // Each report's object plus the pool's verdict on it (why it is or is not routable).
      const std::string one = sched::to_json({reports[i]});  // "[{...}]"
      if (i) body.push_back(',');
      body.append(one, 1, one.size() - 3);  // "{..." without the closing "}]"
      if (const EndpointHealth* h = loop.pool().health(reports[i].id)) {
        // Going away (Kubernetes terminating): no new request goes there, those running finish.
        body += std::string(",\"terminating\":") + (h->terminating ? "true" : "false");
        body += std::string(",\"health\":{\"discovered_ready\":") + (h->discovered_ready ? "true" : "false") +
                ",\"has_models\":" + (h->has_models ? "true" : "false") +
                ",\"probed\":" + (h->probed ? "true" : "false") +
                ",\"failed_scrapes\":" + std::to_string(h->failed_scrapes) +
                ",\"scrapes_ok\":" + std::to_string(h->scrapes_ok) +
                ",\"scrapes_failed\":" + std::to_string(h->scrapes_failed) +
                ",\"undeclared_engine_samples\":" + std::to_string(h->undeclared_engine_samples) + ",\"last_error\":";
        util::append_json_string(body, h->last_error);
        body.push_back('}');
      }
      // Its latency model: fitted coefficients and errors (issue 35).
      body += ",\"latency\":";
      loop.latency().append_endpoint_json(body, reports[i].id);
      // Where its prefix score comes from: KV events (precise) or the approximate index, and why.
      const sched::ExactEndpointReport exact = kv ? kv->index().report(reports[i].id) : sched::ExactEndpointReport{};
      body += ",\"prefix_source\":{\"source\":";
      util::append_json_string(body, kv ? sched::to_string(exact.state) : "approximate");
      body += ",\"reason\":";
      util::append_json_string(body, kv ? std::string_view(exact.reason)
                                        : std::string_view("no KV events configured (prefix mode approximate)"));
      body += ",\"blocks\":" + std::to_string(exact.blocks) +
              ",\"max_blocks\":" + std::to_string(kv ? kv->index().max_blocks_per_endpoint() : 0) +
              ",\"batches\":" + std::to_string(exact.batches) + ",\"last_seq\":" + std::to_string(exact.last_seq);
      if (kv) {
        const KvEventSource* src = kv->source(reports[i].id);
        body += ",\"events_address\":";
        util::append_json_string(body, src ? std::string_view(src->address) : std::string_view());
        body += ",\"replay_address\":";
        util::append_json_string(body, src ? std::string_view(src->replay_address) : std::string_view());
        body += ",\"annotation_problem\":";
        util::append_json_string(body, kv->annotation_problem(reports[i].id));
      }
      body += "}}";  // prefix_source, then the endpoint
    }
  }
  body.push_back(']');
  // The pool's latency fit: what an endpoint with few samples is predicted by.
  body += ",\"latency_pool\":";
  loop.latency().append_pool_json(body);
  // What requests learnt (passive health): consecutive failures, ejection, half-open.
  body += ",\"passive_health\":[";
  if (snapshot) {
    const uint64_t now_ms = proxy::PassiveHealth::now_ms();
    bool first = true;
    for (const sched::EndpointState& e : snapshot->endpoints()) {
      const proxy::PassiveHealthView v = loop.health().view(e.id, now_ms);
      if (!first) body += ',';
      first = false;
      body += "{\"endpoint\":\"" + e.address.text() +
              "\",\"consecutive_failures\":" + std::to_string(v.consecutive_failures) +
              ",\"ejected\":" + (v.ejected ? "true" : "false") + ",\"half_open\":" + (v.half_open ? "true" : "false") +
              ",\"ejected_for_ms\":" + std::to_string(v.ejected_for_ms) +
              ",\"ejections\":" + std::to_string(v.ejections) + "}";
    }
  }
  body += "]}\n";
  return {200, "application/json", body};
}

}  // namespace ringgate::control
