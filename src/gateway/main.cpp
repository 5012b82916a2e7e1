// ringgate: the gateway binary. Reads flags and the config file, starts the control
// plane (endpoint pool, metrics polling, snapshots, admin listener), the pool's
// membership source (static list, demo servers or Kubernetes EndpointSlices) and one
// data-path worker per core; prints the listening line; then reloads the config on
// SIGHUP or file change and drains on SIGTERM/SIGINT.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <future>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "ringgate/config/check_config.h"
#include "ringgate/config/config_file_watcher.h"
#include "ringgate/config/config_loader.h"
#include "ringgate/config/endpoint_picker_config.h"
#include "ringgate/control/control_plane.h"
#include "ringgate/epp/ext_proc_server.h"
#include "ringgate/gateway/demo.h"
#include "ringgate/gateway/options.h"
#include "ringgate/gateway/pool_source.h"
#include "ringgate/gateway/rules_source.h"
#include "ringgate/gateway/settings.h"
#include "ringgate/gateway/api_keys_source.h"
#include "ringgate/gateway/tls_source.h"
#include "ringgate/net/io_backend.h"
#include "ringgate/net/listener.h"
#include "ringgate/proxy/worker.h"

using namespace ringgate;

namespace {

int fail(const std::string& message) {
  std::fprintf(stderr, "ringgate: %s\n", message.c_str());
  return 1;
}

config::LoadOptions load_options_for(const gateway::Options& flags) {
  config::LoadOptions o;
  o.pool_given_by_flags = !flags.endpoints.empty() || flags.demo > 0 || !flags.pool_name.empty();
  if (!flags.pool_name.empty()) o.pool_name_from_flags = flags.pool_name;  // what poolRefs must name
  return o;
}

// `heading` (if any) and one line per error, in one write: a log reader (or a test
// waiting for the heading) never sees the heading without its errors.
void print_errors(const std::vector<config::ConfigError>& errors, std::string_view heading = {}) {
  std::string text;
  if (!heading.empty()) text.append("ringgate: ").append(heading).append("\n");
  for (const config::ConfigError& e : errors) text.append("ringgate: ").append(config::format_error(e)).append("\n");
  std::fwrite(text.data(), 1, text.size(), stderr);
}

void warn(const std::string& message) { std::fprintf(stderr, "ringgate: warning: %s\n", message.c_str()); }

// A digest of the config file's bytes (nullopt if unreadable): lets the file watcher
// skip content that a SIGHUP already loaded, so one change is one reload.
std::optional<size_t> file_digest(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return std::hash<std::string>{}(text);
}

// Applies what a reload may change while running: the request rules (rewrites,
// objectives, session header), the aliases /v1/models lists, a static pool, and the
// response table's bounds.
// Listeners, workers, limits, scheduler weights and auth (which file, admin.auth: the
// keys file itself reloads on its own) take effect on restart.
// `loaded` is the digest of the content last loaded (applied or rejected); a watcher
// event for that same content is not a change. The digest is taken before the load,
// so a write racing the load is seen as a change again, never missed.
// `picker`: the EndpointPickerConfig (--config-file), put under the file again.
void reload(const gateway::Options& flags, const config::GatewayConfig* picker, gateway::RulesSource& rules,
            control::ControlPlane& control, gateway::PoolSource& pool, std::optional<size_t>& loaded,
            bool from_watcher) {
  const std::optional<size_t> digest = file_digest(flags.config_file);
  if (from_watcher && digest && digest == loaded) return;
  loaded = digest;
  config::LoadResult r = config::load_config_file(flags.config_file, load_options_for(flags));
  if (!r.ok()) {
    print_errors(r.errors, "config reload rejected, the running config stays:");
    control.count_reload(false, r.errors.empty() ? std::string() : config::format_error(r.errors.front()));
    return;
  }
  if (picker) config::apply_picker_config(*picker, r.config.gateway);
  rules.set_file(&r.config);  // with the watched Kubernetes rule objects, if any
  gateway::Settings settings;
  if (gateway::resolve_settings(flags, &r.config, settings).empty()) {
    control.set_response_limits(settings.responses);
    if (!settings.kubernetes && flags.demo == 0) pool.set_static(settings);
  }
  control.count_reload(true, flags.config_file);
  std::fprintf(stderr, "ringgate: config reloaded from %s\n", flags.config_file.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  gateway::ParsedOptions parsed = gateway::parse_options(argc, argv);
  if (parsed.options.help) {
    std::fputs(gateway::usage().c_str(), stdout);
    return 0;
  }
  if (!parsed.error.empty()) {
    std::fprintf(stderr, "ringgate: %s\n\n%s", parsed.error.c_str(), gateway::usage().c_str());
    return 2;
  }
  gateway::Options& flags = parsed.options;
  if (!flags.check_config_file.empty()) return config::check_config_main(flags.check_config_file, std::cout);
  for (const std::string& w : flags.warnings) warn(w);

  // The Go EPP's --config-file (GAIE EndpointPickerConfig): what maps onto ringgate's
  // settings goes under the config file's; what cannot be honored is said once, here.
  std::optional<config::PickerConfigResult> picker;
  if (!flags.picker_config_file.empty() || !flags.picker_config_text.empty()) {
    const bool inline_text = flags.picker_config_file.empty();
    const std::string name = inline_text ? "--config-text" : flags.picker_config_file;
    picker = inline_text ? config::load_picker_config_text(flags.picker_config_text, name)
                         : config::load_picker_config_file(flags.picker_config_file);
    if (!picker->ok()) {
      print_errors(picker->errors);
      return fail("invalid EndpointPickerConfig " + name);
    }
    for (const std::string& w : picker->warnings) warn(name + ": " + w);
  }

  std::optional<config::LoadResult> file;
  std::optional<size_t> loaded_digest;
  if (!flags.config_file.empty()) {
    loaded_digest = file_digest(flags.config_file);
    file = config::load_config_file(flags.config_file, load_options_for(flags));
    if (!file->ok()) {
      print_errors(file->errors);
      return fail("invalid config " + flags.config_file);
    }
  }
  config::ConfigSet picker_only;  // the EndpointPickerConfig's settings when there is no --config
  if (picker) config::apply_picker_config(picker->gateway, file ? file->config.gateway : picker_only.gateway);
  const config::ConfigSet* config = file ? &file->config : (picker ? &picker_only : nullptr);
  const config::GatewayConfig* picker_gateway = picker ? &picker->gateway : nullptr;

  // Signals are taken through a signalfd by this thread only; every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  gateway::DemoSims sims;
  if (flags.demo > 0) {
    const std::string binary = flags.sim_bin.empty() ? gateway::default_sim_binary() : flags.sim_bin;
    sims = gateway::start_demo_sims(flags.demo, binary, flags.demo_model, flags.sim_args);
    if (!sims.error.empty()) return fail(sims.error);
    for (const std::string& address : sims.addresses) flags.endpoints.push_back(address);
    std::fprintf(stderr, "ringgate: demo: %u ringgate-sim servers (%s)\n", flags.demo, binary.c_str());
  }
  struct StopSims {
    gateway::DemoSims& sims;
    ~StopSims() { gateway::stop_demo_sims(sims.pids); }
  } stop_sims{sims};

  gateway::Settings settings;
  if (std::string error = gateway::resolve_settings(flags, config, settings); !error.empty()) return fail(error);
  // Unknown flags waited for the config file's mode: warned about in EPP mode, refused otherwise.
  if (!flags.unknown_flags.empty()) {
    if (!settings.epp_mode) {
      std::fprintf(stderr, "ringgate: %s\n\n%s", gateway::unknown_flags_error(flags).c_str(), gateway::usage().c_str());
      return 2;
    }
    for (const std::string& u : flags.unknown_flags) warn(u + " is ignored: not a flag ringgate knows (see --help)");
  }
  if (settings.static_endpoints.empty() && !settings.kubernetes) {
    std::fprintf(stderr, "ringgate: no upstream: give --endpoint HOST:PORT (repeatable), --demo N, or a pool in --config\n\n%s",
                 gateway::usage().c_str());
    return 2;
  }

  const net::ListenResult admin = net::listen_tcp(settings.admin, /*reuse_port=*/false, 128);
  if (admin.fd < 0) return fail("admin listener: " + admin.error);
  const std::string admin_address = net::local_address(admin.fd)->to_string();

  // Flow control and rate limits, shared by the workers. The limiter's table is sized
  // at start (rateLimits.maxTenants); the budgets themselves reload with the rules.
  proxy::FlowShared flow_shared;
  proxy::RateLimiter limiter(config ? config->gateway.rate_limits.max_tenants : config::RateLimitConfig{}.max_tenants);
  // Metric label values that clients and model servers choose: bounded for the whole process.
  metrics::LabelBounds label_bounds(settings.proxy.max_label_values);
  control::ControlPlaneOptions control_options;
  control_options.pool_name = settings.pool_name;
  control_options.pool = settings.pool;
  control_options.scheduler = settings.scheduler;
  control_options.prefix_block_bytes = settings.prefix_block_bytes;
  control_options.kv_events = settings.kv_events;
  control_options.prompt_tokenizer = settings.prompt_tokenizer;
  control_options.limiter = &limiter;
  control_options.health = settings.health;
  control_options.workers = settings.workers;
  control_options.shared_state = settings.shared_state;
  control_options.responses = settings.responses;
  control_options.admin_listen_fd = admin.fd;
  control_options.build = {RINGGATE_COMMIT, RINGGATE_VERSION};
  control_options.metric_names = settings.metric_names;
  control_options.admin_max_body_bytes = settings.proxy.limits.max_body_bytes;
  if (settings.kubernetes) control_options.pool_namespace = settings.kubernetes->namespace_name;
  if (!settings.access_log_path.empty()) {
    control::AccessLogOpen opened = control::AccessLogWriter::open(settings.access_log_path);
    if (!opened.writer) return fail(opened.error);
    control_options.access_log = std::move(opened.writer);
  }
  control_options.tracing = settings.trace_export;
  if (control_options.tracing) control_options.tracing->service_version = RINGGATE_VERSION;
  control_options.wake_hook = settings.wake_hook;
  // One reader slot per worker (the worker's index), and one for /debug/pick's dry
  // runs on the control thread (slot `workers`); declared first, it outlives the control plane.
  proxy::RulesPublisher rules(settings.workers + 1);
  // API keys, the same way: a slot per worker and one for the admin port's gate.
  proxy::ApiKeysPublisher api_keys(settings.workers + 1);
  control::ControlPlane control(control_options);
  if (std::string error = control.tracing_error(); !error.empty()) return fail(error);
  if (std::string error = control.wake_hook_error(); !error.empty()) return fail(error);

  // The file's rules, later joined by watched InferenceModelRewrite/InferenceObjective objects.
  gateway::RulesSource rules_source(rules, control);
  rules_source.set_file(config);
  proxy::CatalogPublisher catalog(settings.workers);
  catalog.publish(std::make_unique<proxy::ModelCatalog>());
  control.attach_catalog(&catalog);

  // The event-loop backend, decided once for every worker: auto falls back to epoll when
  // io_uring is refused (seccomp RuntimeDefault, kernel.io_uring_disabled) and says so here, once.
  net::BackendKind requested_backend = net::BackendKind::Auto;
  net::parse_backend_kind(settings.io_backend, requested_backend);
  net::BackendChoice backend;
  if (std::string error = net::choose_backend(requested_backend, backend); !error.empty()) return fail(error);
  if (!backend.reason.empty()) {
    std::fprintf(stderr, "ringgate: io_uring is refused (%s): serving through epoll (ringgate_io_backend_info)\n",
                 backend.reason.c_str());
  }

  // HTTPS on the API listener: the certificate, published to the workers and reloaded
  // when its files change.
  std::optional<gateway::TlsSource> tls;
  if (settings.tls && settings.epp_mode)
    std::fprintf(stderr, "ringgate: listen.tls is for the API listener: EPP mode has none, so it is not used\n");
  if (settings.tls && !settings.epp_mode) {
    tls.emplace(*settings.tls, settings.workers, control);
    if (std::string error = tls->start(); !error.empty()) return fail(error);
  }

  // API keys (auth.apiKeysFile) on the API listener and, with admin.auth, the admin port.
  std::optional<gateway::ApiKeysSource> keys;
  if (!settings.api_keys_file.empty()) {
    keys.emplace(settings.api_keys_file, api_keys, control);
    if (std::string error = keys->start(); !error.empty()) return fail(error);
    if (settings.admin_auth) control.require_admin_key(&api_keys, settings.workers);
    if (settings.epp_mode && !settings.admin_auth)
      std::fprintf(stderr, "ringgate: auth is for the API listener: EPP mode has none, so only admin.auth uses the keys\n");
  }

  proxy::WorkerContext context;
  context.tls = tls ? tls->publisher() : nullptr;
  context.api_keys = keys ? &api_keys : nullptr;
  context.flow_shared = &flow_shared;
  context.limiter = &limiter;
  context.labels = &label_bounds;
  context.workers = settings.workers;
  context.backend = backend.kind;
  context.options = settings.proxy;
  control.share(context.router);  // the snapshots and the tables the control loop owns
  context.router.scheduler = settings.scheduler;
  context.router.prefix_block_bytes = settings.prefix_block_bytes;
  context.router.media = settings.media_weights;
  context.router.tokenizer = settings.prompt_tokenizer;
  context.rules = &rules;
  context.catalog = &catalog;
  control.enable_dry_run(context.router, &rules, settings.workers);

  // EPP mode (GAIE's Endpoint Picker): no proxy workers; ext-proc gRPC threads decide
  // with the same router, rules, catalog and statistics slots, and the Gateway proxies.
  std::unique_ptr<epp::ExtProcServer> epp_server;
  if (settings.epp_mode) {
    epp::ExtProcServerOptions epp_options;
    epp_options.listen = settings.epp_listen;
    epp_options.health_listen = settings.epp_health_listen;
    epp_options.tls = settings.epp_tls;
    epp_options.threads = settings.workers;
    epp_options.backend = backend.kind;
    epp_options.worker = {settings.proxy, context.router, &rules, &catalog, &label_bounds};
    epp_options.ready = [&control] { return control.ready() && !control.draining(); };  // as /readyz
    epp_server = std::make_unique<epp::ExtProcServer>(std::move(epp_options));
    for (size_t i = 0; i < epp_server->worker_count(); ++i)
      control.attach_worker(i, &epp_server->worker(i).stats(), &epp_server->worker(i).counters());
    if (std::string error = epp_server->start(); !error.empty()) return fail(error);
    std::fprintf(stderr, "ringgate: ext-proc served with %s\n", epp_server->transport().c_str());
  }

  // Each worker sets up its ring on its own thread (SINGLE_ISSUER); the first one
  // binds the port (maybe 0) and the rest join it with SO_REUSEPORT. They listen and
  // serve once the pool can route (below): a connection taken before that would get a
  // 503, where another gateway on the port (a replacement) would have served it.
  std::vector<std::unique_ptr<proxy::Worker>> workers;
  std::vector<std::thread> threads;
  std::promise<void> serve;
  const std::shared_future<void> serving = serve.get_future().share();
  bool served = false;
  auto start_serving = [&] {
    if (!std::exchange(served, true)) serve.set_value();
  };
  auto stop_workers = [&] {
    for (auto& w : workers) w->stop();
    start_serving();  // a worker stopped before it began returns at once
    for (auto& t : threads) t.join();
    threads.clear();
  };
  net::Address listen = settings.listen;
  for (unsigned i = 0; i < (settings.epp_mode ? 0 : settings.workers); ++i) {
    workers.push_back(std::make_unique<proxy::Worker>(context, int(i)));
    proxy::Worker* worker = workers.back().get();
    control.attach_worker(i, &worker->stats(), &worker->counters());
    std::promise<std::string> ready;
    std::future<std::string> ready_result = ready.get_future();
    threads.emplace_back([worker, listen, &ready, serving] {
      std::string error = worker->init(listen);
      const bool ok = error.empty();
      ready.set_value(std::move(error));
      if (!ok) return;
      serving.wait();
      worker->run();
    });
    if (std::string error = ready_result.get(); !error.empty()) {
      stop_workers();
      return fail(error);
    }
    listen = worker->listen_address();
  }

  control.start();
  gateway::PoolSource pool_source;
  if (std::string error = pool_source.start(settings, control, &rules_source); !error.empty()) {
    stop_workers();
    return fail(error);
  }
  // A static pool is known at once: the workers listen once every server answered its
  // first probe (models, health), so no request races them; after 3 s they listen anyway
  // (a pool of dead servers gets its 503s). Discovery pools report readiness instead.
  if (!settings.kubernetes) {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (!control.probed() && std::chrono::steady_clock::now() < give_up)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  for (auto& w : workers) {
    if (std::string error = w->open_listener(); !error.empty()) {
      stop_workers();
      return fail(error);
    }
  }
  start_serving();

  if (epp_server) {  // "api" is the ext-proc address, so test harnesses find the port as usual
    std::printf("{\"event\":\"listening\",\"mode\":\"epp\",\"api\":\"%s\",\"epp\":\"%s\",\"eppHealth\":\"%s\",\"admin\":\"%s\",\"eppTls\":%s}\n",
                epp_server->address().to_string().c_str(), epp_server->address().to_string().c_str(),
                epp_server->health_address().to_string().c_str(), admin_address.c_str(),
                settings.epp_tls.secure ? "true" : "false");
  } else {
    std::printf("{\"event\":\"listening\",\"api\":\"%s\",\"admin\":\"%s\",\"tls\":\"%s\"}\n",
                listen.to_string().c_str(), admin_address.c_str(), tls ? tls->mode().name.c_str() : "off");
  }
  std::fflush(stdout);
  if (tls) {
    std::fprintf(stderr, "ringgate: TLS on %s: %s (%s)\n", listen.to_string().c_str(), tls->mode().name.c_str(),
                 tls->mode().reason.c_str());
  }
  std::fprintf(stderr, "ringgate: %u %s, pool %s (%s)\n", settings.workers, epp_server ? "EPP threads" : "workers", settings.pool_name.c_str(),
               settings.kubernetes ? "kubernetes" : (std::to_string(settings.static_endpoints.size()) + " endpoints").c_str());

  const int signal_fd = signalfd(-1, &signals, SFD_CLOEXEC);
  std::optional<config::ConfigFileWatcher> watcher;
  if (!flags.config_file.empty()) {
    auto opened = config::ConfigFileWatcher::open(flags.config_file);
    if (opened.watcher) watcher = std::move(*opened.watcher);
    else std::fprintf(stderr, "ringgate: not watching %s for changes: %s\n", flags.config_file.c_str(), opened.error.c_str());
  }
  int stop_signal = 0;
  while (stop_signal == 0) {
    std::vector<pollfd> fds = {{signal_fd, POLLIN, 0}, {watcher ? watcher->fd() : -1, POLLIN, 0}};
    std::optional<std::chrono::steady_clock::time_point> next_check = watcher ? watcher->next_check() : std::nullopt;
    for (gateway::WatchedFiles* files : {tls ? &tls->files() : nullptr, keys ? &keys->files() : nullptr}) {
      if (files == nullptr) continue;
      files->add_poll_fds(fds);
      if (auto t = files->next_check(); t && (!next_check || *t < *next_check)) next_check = t;
    }
    int timeout_ms = -1;
    if (next_check) {
      auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(*next_check - std::chrono::steady_clock::now());
      timeout_ms = int(std::max<int64_t>(0, wait.count()) + 1);
    }
    poll(fds.data(), fds.size(), timeout_ms);
    if (fds[0].revents & POLLIN) {
      // Readiness turns 503 before the pending stop signal is consumed (ControlPlane::draining()).
      sigset_t pending;
      if (sigpending(&pending) == 0 && (sigismember(&pending, SIGTERM) == 1 || sigismember(&pending, SIGINT) == 1))
        control.begin_drain();
      signalfd_siginfo info;
      if (read(signal_fd, &info, sizeof info) == sizeof info) {
        if (info.ssi_signo == SIGHUP) {
          if (flags.config_file.empty()) std::fprintf(stderr, "ringgate: SIGHUP: no --config to reload\n");
          else
            reload(flags, picker_gateway, rules_source, control, pool_source, loaded_digest, /*from_watcher=*/false);
        } else {
          stop_signal = int(info.ssi_signo);
        }
      }
    }
    if (watcher && watcher->changed())
      reload(flags, picker_gateway, rules_source, control, pool_source, loaded_digest, /*from_watcher=*/true);
    if (tls) tls->check();
    if (keys) keys->check();
  }

  // Drain: readiness goes 503 at once (load balancers move away), the listeners close,
  // in-flight requests get the drain timeout, then everything stops.
  std::fprintf(stderr, "ringgate: %s: draining\n", stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
  control.begin_drain();
  if (epp_server) epp_server->stop(settings.proxy.drain_timeout_ms);
  stop_workers();
  pool_source.stop();
  control.stop();
  close(signal_fd);
  std::fprintf(stderr, "ringgate: stopped\n");
  return 0;
}
