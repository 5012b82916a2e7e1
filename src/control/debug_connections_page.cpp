#include <string>

#include "ringgate/control/admin_pages.h"

namespace ringgate::control {

namespace {

// opened - closed, read as two relaxed counters: a scrape between the two reads may see
// a close before its open, never below zero here.
uint64_t open_count(const proxy::Counter& opened, const proxy::Counter& closed) {
  const uint64_t c = closed.get();
  const uint64_t o = opened.get();
  return o > c ? o - c : 0;
}

}  // namespace

AdminResponse debug_connections_page(const AdminSources& sources, std::string_view) {
  std::string body = "{\"workers\":[";
  uint64_t totals[3] = {};
  bool first = true;
  for (const proxy::WorkerCounters* w : *sources.worker_counters) {
    if (w == nullptr) continue;
    const uint64_t open[3] = {open_count(w->connections_accepted, w->connections_closed),
                              open_count(w->http2_connections, w->http2_connections_closed),
                              open_count(w->http2_streams, w->http2_streams_closed)};
    body += first ? "{" : ",{";
    first = false;
    body += "\"connections\":" + std::to_string(open[0]) + ",\"http2_connections\":" + std::to_string(open[1]) +
            ",\"http2_streams\":" + std::to_string(open[2]) + "}";
    for (int i = 0; i < 3; ++i) totals[i] += open[i];
  }
  body += "],\"connections\":" + std::to_string(totals[0]) + ",\"http2_connections\":" + std::to_string(totals[1]) +
          ",\"http2_streams\":" + std::to_string(totals[2]) + "}";
  return {200, "application/json", std::move(body)};
}

}  // namespace ringgate::control
