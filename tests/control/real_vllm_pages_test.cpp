// The gateway's model-server readers on bodies served by real vLLM servers
// (tests/fixtures/vllm/, provenance in its README): parse_model_list on /v1/models,
// and an EndpointPool scraping both pages from a loopback server, so the snapshot the
// scheduler gets holds what the pages say.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <doctest/doctest.h>

#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "ringgate/control/admin_server.h"
#include "ringgate/control/endpoint_pool.h"

using namespace ringgate;
using namespace ringgate::control;

namespace {

std::string fixture(const char* relative) {
  std::ifstream in(std::string(RINGGATE_SOURCE_DIR "/tests/fixtures/vllm/") + relative, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "missing fixture ", relative);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A loopback server answering /v1/models and /metrics with fixed bodies.
struct PageServer {
  AdminResponse models, metrics;
  uint16_t port = 0;
  std::unique_ptr<AdminServer> server;

  PageServer(EpollLoop& loop, std::string models_body, std::string metrics_body)
      : models{200, "application/json", std::move(models_body)},
        metrics{200, "text/plain; version=0.0.4; charset=utf-8", std::move(metrics_body)} {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin) == 0);
    REQUIRE(listen(fd, 16) == 0);
    socklen_t len = sizeof sin;
    getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &len);
    port = ntohs(sin.sin_port);
    server = std::make_unique<AdminServer>(loop, fd);
    server->route("/v1/models", [this] { return models; });
    server->route("/metrics", [this] { return metrics; });
  }
  DesiredEndpoint member() const { return {"127.0.0.1", port, true, ""}; }
};

const sched::EndpointState* find(const sched::EndpointSnapshot& snap, uint16_t port) {
  for (const auto& e : snap.endpoints())
    if (e.address.port == port) return &e;
  return nullptr;
}

}  // namespace

TEST_CASE("real /v1/models bodies: base models and LoRA adapters (by parent)") {
  std::vector<std::string> models, adapters;
  std::string why;
  // V0 era (2025-01), two adapters loaded at run time, pretty-printed as published.
  REQUIRE_MESSAGE(parse_model_list(fixture("v0.7-aibrix/models.json"), models, adapters, &why), why);
  CHECK(models == std::vector<std::string>{"Qwen/Qwen2.5-Coder-1.5B-Instruct"});
  CHECK(adapters == std::vector<std::string>{"lora-1", "lora-2"});
  // V1 era (2025-08), vLLM's compact body as curl printed it; the id is a local path.
  REQUIRE_MESSAGE(parse_model_list(fixture("v0.10-codebase-semantic-search/models.json"), models, adapters, &why), why);
  CHECK(models == std::vector<std::string>{"/home/jiangyinzuo/Qwen3-Embedding-0.6B/"});
  CHECK(adapters.empty());
}

TEST_CASE("pool scraping real vLLM pages: models, adapters, queue, KV usage and cache config reach the snapshot") {
  EpollLoop loop;
  sched::EndpointRegistry registry;
  PageServer v0(loop, fixture("v0.7-aibrix/models.json"), fixture("v0.7-aibrix/metrics.txt"));
  PageServer v1(loop, fixture("v0.10-codebase-semantic-search/models.json"),
                fixture("v0.10.0-production-stack-617/metrics.txt"));
  PoolOptions options;
  options.poll_interval = std::chrono::milliseconds(5);
  options.models_refresh = std::chrono::milliseconds(5);
  options.scrape_timeout = std::chrono::milliseconds(500);
  EndpointPool pool(loop, registry, options);
  pool.set_members({v0.member(), v1.member()});

  std::unique_ptr<sched::EndpointSnapshot> snap;
  const auto give_up = Clock::now() + std::chrono::seconds(5);
  for (;;) {
    loop.run_once(2);
    v0.server->reap();
    v1.server->reap();
    pool.tick(Clock::now());
    snap = pool.build_snapshot();
    auto* a = find(*snap, v0.port);
    auto* b = find(*snap, v1.port);
    if ((a && b && a->routable && b->routable && a->has_metrics && b->has_metrics) || Clock::now() > give_up) break;
  }
  const sched::EndpointState* a = find(*snap, v0.port);
  const sched::EndpointState* b = find(*snap, v1.port);
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(a->has_metrics);
  REQUIRE(b->has_metrics);
  CHECK(a->routable);
  CHECK(b->routable);

  CHECK(a->models == std::vector<std::string>{"Qwen/Qwen2.5-Coder-1.5B-Instruct"});
  CHECK(a->lora_adapters == std::vector<std::string>{"lora-1", "lora-2"});
  CHECK(a->block_size == 16);
  CHECK(a->num_gpu_blocks == 81767);
  const metrics::ModelLoad* qwen = a->metrics.find_model("Qwen/Qwen2.5-Coder-1.5B-Instruct");
  REQUIRE(qwen);
  CHECK(qwen->has_waiting);
  CHECK(qwen->waiting == 0.0);
  CHECK(qwen->kv_cache_usage_is_legacy);
  CHECK(a->metrics.lora.max_lora == 0);

  CHECK(b->models == std::vector<std::string>{"/home/jiangyinzuo/Qwen3-Embedding-0.6B/"});
  CHECK(b->lora_adapters.empty());
  CHECK(b->block_size == 0);  // the excerpt has no vllm:cache_config_info
  CHECK(b->metrics.all.kv_cache_usage == 9.75010481363281e-06);
  CHECK_FALSE(b->metrics.all.kv_cache_usage_is_legacy);
}
