#include "ringgate/control/admin_views.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>

#include "ringgate/control/admin_pages.h"
#include "ringgate/control/status_page.h"

namespace ringgate::control {
namespace {

constexpr const char* kText = "text/plain; charset=utf-8";

AdminResponse healthz_page(const AdminSources& sources, std::string_view) {
  // This answer comes from the control loop, so it turns; the workers' loops must too
  // (a worker that stopped while draining is expected).
  if (!sources.status->drain_begun()) {
    if (const auto stall = sources.loop_watch->stalled(Clock::now())) {
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(stall->for_how_long).count();
      return AdminResponse{
          503, kText,
          "worker " + std::to_string(stall->worker) + " has not turned for " + std::to_string(ms) + " ms\n"};
    }
  }
  return AdminResponse{200, kText, "ok\n"};
}

AdminResponse readyz_page(const AdminSources& sources, std::string_view) {
  if (sources.status->draining()) return AdminResponse{503, kText, "draining\n"};
  if (!sources.loop->ready()) return AdminResponse{503, kText, "no routable endpoint\n"};
  return AdminResponse{200, kText, "ready\n"};
}

AdminResponse debug_shared_page(const AdminSources& sources, std::string_view) {
  const SharedState* shared = sources.loop->shared();
  if (!shared) return AdminResponse{200, "application/json", "{\"state\":\"off\"}\n"};
  return shared->render_debug(sources.loop->current());
}

AdminResponse debug_events_page(const AdminSources& sources, std::string_view query) {
  return sources.events->render(query);
}

AdminResponse status_page_view(const AdminSources&, std::string_view) { return status_page(); }

// The GET pages, one line each.
struct Page {
  const char* path;
  AdminResponse (*render)(const AdminSources& sources, std::string_view query);
};
constexpr Page kPages[] = {
    {"/healthz", &healthz_page},
    {"/readyz", &readyz_page},
    {"/metrics", &metrics_page},
    {"/debug/endpoints", &debug_endpoints_page},
    {"/debug/flow", &debug_flow_page},
    {"/debug/shared", &debug_shared_page},
    {"/debug/connections", &debug_connections_page},
    {"/debug/events", &debug_events_page},
    {"/", &status_page_view},
};

}  // namespace

AdminViews::AdminViews(EpollLoop& loop, AdminSources sources) : sources_(sources) {
  const ControlPlaneOptions& options = *sources_.options;
  if (options.admin_listen_fd < 0) return;
  AdminLimits limits;
  limits.max_body_bytes = std::max(limits.max_body_bytes, options.admin_max_body_bytes);
  server_ = std::make_unique<AdminServer>(loop, options.admin_listen_fd, limits);
  install_routes();
}

AdminViews::~AdminViews() { dry_run_.reset(); }

void AdminViews::install_routes() {
  for (const Page& page : kPages)
    server_->route_query(page.path,
                         [this, render = page.render](std::string_view query) { return render(sources_, query); });
  // What a hub schedules this gateway on (docs/multi-cluster.md).
  server_->route_query("/debug/load", [this](std::string_view query) { return debug_load_page(sources_, query); });
}

void AdminViews::enable_dry_run(const proxy::RouterShared& router, const proxy::RulesPublisher* rules,
                                size_t rules_slot) {
  if (!server_) return;
  dry_run_ = std::make_unique<DryRunPicker>(router, sources_.options->workers + 1, rules, rules_slot);
  server_->route_post("/debug/pick", [this](const http::Request& request, std::string_view query) {
    return dry_run_->pick(request, query);
  });
}

void AdminViews::require_admin_key(const proxy::ApiKeysPublisher* keys, size_t slot) {
  if (!server_) return;
  admin_keys_ = keys->reader(slot);
  server_->set_gate([this](const http::Request& request, std::string_view path) -> std::optional<AdminResponse> {
    if (path == "/healthz" || path == "/readyz") return std::nullopt;  // the kubelet's probes carry no key
    const proxy::ApiKeyTable* table = admin_keys_.refresh();
    const std::string_view presented = proxy::presented_api_key(request);
    const proxy::ApiKey* key = table != nullptr ? table->find(presented) : nullptr;
    if (key != nullptr && key->admin) return std::nullopt;
    sources_.status->count_admin_rejection();
    if (key != nullptr) return AdminResponse{403, kText, "this API key is not an admin key\n"};
    return AdminResponse{
        401, kText,
        presented.empty() ? "an admin API key is required: Authorization: Bearer KEY\n" : "the API key is not valid\n",
        "www-authenticate: Bearer realm=\"ringgate-admin\"\r\n"};
  });
}

void AdminViews::reap() {
  if (server_) server_->reap();
}

}  // namespace ringgate::control
