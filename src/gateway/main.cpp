// ringgate: the gateway binary. Parses flags, starts demo sims if asked, learns the
// endpoints' models, starts one data-path worker per core and the admin listener,
// prints the listening line, then waits for SIGTERM/SIGINT and drains.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "ringgate/gateway/admin_listener.h"
#include "ringgate/gateway/demo.h"
#include "ringgate/gateway/model_fetch.h"
#include "ringgate/gateway/options.h"
#include "ringgate/net/listener.h"
#include "ringgate/proxy/worker.h"

using namespace ringgate;

namespace {

int fail(const std::string& message) {
  std::fprintf(stderr, "ringgate: %s\n", message.c_str());
  return 1;
}

// Fetches every endpoint's model list; endpoints that answer get their list recorded
// (used by routing) on the first call only, the catalog gets the union every time.
void refresh_models(proxy::EndpointSet& endpoints, proxy::ModelCatalog& catalog, bool record_per_endpoint) {
  std::vector<std::string> all;
  for (uint32_t id = 0; id < endpoints.size(); ++id) {
    auto models = gateway::fetch_models(endpoints.at(id).address, 1000);
    if (!models) continue;
    if (record_per_endpoint) endpoints.at(id).models = *models;
    all.insert(all.end(), models->begin(), models->end());
  }
  if (!all.empty() || record_per_endpoint) catalog.publish(std::move(all));
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
  gateway::Options& options = parsed.options;

  // Signals are taken by sigwait() in this thread only; every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  gateway::DemoSims sims;
  if (options.demo > 0) {
    const std::string binary = options.sim_bin.empty() ? gateway::default_sim_binary() : options.sim_bin;
    sims = gateway::start_demo_sims(options.demo, binary, options.demo_model, options.sim_args);
    if (!sims.error.empty()) return fail(sims.error);
    for (const std::string& address : sims.addresses) options.endpoints.push_back(address);
    std::fprintf(stderr, "ringgate: demo: %u ringgate-sim servers (%s)\n", options.demo, binary.c_str());
  }
  auto cleanup = [&] { gateway::stop_demo_sims(sims.pids); };

  proxy::EndpointSet endpoints;
  for (const std::string& endpoint : options.endpoints) {
    endpoints.add(*net::parse_address(endpoint), endpoint);
  }
  proxy::ModelCatalog catalog;
  if (!options.models.empty()) {
    catalog.publish(options.models);
  } else {
    refresh_models(endpoints, catalog, /*record_per_endpoint=*/true);
  }
  proxy::RequestRouter router(endpoints);

  const net::ListenResult admin = net::listen_tcp(options.admin, /*reuse_port=*/false, 128);
  if (admin.fd < 0) {
    cleanup();
    return fail("admin listener: " + admin.error);
  }
  fcntl(admin.fd, F_SETFL, fcntl(admin.fd, F_GETFL) & ~O_NONBLOCK);

  unsigned worker_count = options.workers ? options.workers : std::thread::hardware_concurrency();
  if (worker_count == 0) worker_count = 1;
  proxy::WorkerContext context;
  context.options = options.proxy;
  context.endpoints = &endpoints;
  context.router = &router;
  context.catalog = &catalog;

  // Each worker sets up its ring on its own thread (SINGLE_ISSUER); the first one
  // binds the port (maybe 0) and the rest join it with SO_REUSEPORT.
  std::vector<std::unique_ptr<proxy::Worker>> workers;
  std::vector<std::thread> threads;
  net::Address listen = options.listen;
  for (unsigned i = 0; i < worker_count; ++i) {
    workers.push_back(std::make_unique<proxy::Worker>(context, int(i)));
    proxy::Worker* worker = workers.back().get();
    std::promise<std::string> ready;
    std::future<std::string> ready_result = ready.get_future();
    threads.emplace_back([worker, listen, &ready] {
      std::string error = worker->init(listen);
      const bool ok = error.empty();
      ready.set_value(std::move(error));
      if (ok) worker->run();
    });
    const std::string error = ready_result.get();
    if (!error.empty()) {
      for (auto& w : workers) w->stop();
      for (auto& t : threads) t.join();
      cleanup();
      return fail(error);
    }
    listen = worker->listen_address();
  }

  gateway::AdminContext admin_context;
  admin_context.listen_fd = admin.fd;
  for (auto& worker : workers) admin_context.counters.push_back(&worker->counters());
  admin_context.endpoints = &endpoints;
  admin_context.catalog = &catalog;
  gateway::start_admin_listener(admin_context);

  std::string api = listen.to_string();
  std::string admin_address = net::local_address(admin.fd)->to_string();
  std::printf("{\"event\":\"listening\",\"api\":\"%s\",\"admin\":\"%s\"}\n", api.c_str(), admin_address.c_str());
  std::fflush(stdout);
  std::fprintf(stderr, "ringgate: %u workers, %zu endpoints\n", worker_count, endpoints.size());

  // Model list refresh (the control plane will feed ModelCatalog::publish instead).
  std::mutex refresh_mutex;
  std::condition_variable refresh_wake;
  bool stopping = false;
  std::thread refresher;
  if (options.models.empty() && options.models_refresh_ms > 0) {
    refresher = std::thread([&] {
      std::unique_lock lock(refresh_mutex);
      while (!refresh_wake.wait_for(lock, std::chrono::milliseconds(options.models_refresh_ms), [&] { return stopping; })) {
        lock.unlock();
        refresh_models(endpoints, catalog, /*record_per_endpoint=*/false);
        lock.lock();
      }
    });
  }

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  std::fprintf(stderr, "ringgate: %s: draining\n", signal_number == SIGINT ? "SIGINT" : "SIGTERM");
  for (auto& worker : workers) worker->stop();
  for (auto& thread : threads) thread.join();
  {
    std::lock_guard lock(refresh_mutex);
    stopping = true;
  }
  refresh_wake.notify_all();
  if (refresher.joinable()) refresher.join();
  cleanup();
  std::fprintf(stderr, "ringgate: stopped\n");
  return 0;
}
