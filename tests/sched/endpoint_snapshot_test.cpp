#include "ringgate/sched/endpoint_snapshot.h"

#include <doctest/doctest.h>

#include <algorithm>

#include "ringgate/sched/endpoint_registry.h"
#include "sched_test_support.h"

using namespace ringgate::sched;
using namespace ringgate::sched::test;

TEST_CASE("registry: ids are stable per address, dense, never reused, bounded") {
  EndpointRegistry reg(3);
  EndpointId a = reg.id_for("10.0.0.1", 8000);
  EndpointId b = reg.id_for("10.0.0.2", 8000);
  CHECK(a == 0);
  CHECK(b == 1);
  CHECK(reg.id_for("10.0.0.1", 8000) == a);
  CHECK(reg.id_for("10.0.0.1", 8001) == 2);
  CHECK(reg.id_for("10.0.0.9", 8000) == kNoEndpoint);  // full
  CHECK(reg.find("10.0.0.2", 8000) == b);
  CHECK(reg.find("10.0.0.3", 8000) == kNoEndpoint);
}

TEST_CASE("snapshot: endpoints by model and adapter, routable first, index by id") {
  std::vector<EndpointState> v;
  v.push_back(make_endpoint(5, "base"));
  v.push_back(make_endpoint(2, "base", 0, 0, false));
  v.push_back(make_endpoint(9, "other"));
  v[0].lora_adapters = {"sql-lora"};
  v[1].lora_adapters = {"sql-lora"};
  EndpointSnapshot s(std::move(v));
  CHECK(s.size() == 3);
  CHECK(s.id_limit() == 10);
  CHECK(s.index_of(9) == 2);
  CHECK(s.index_of(3) == -1);
  CHECK(s.index_of(1000) == -1);

  auto base = s.endpoints_for("base");
  CHECK(base.serving.size() == 2);
  REQUIRE(base.routable.size() == 1);
  CHECK(s.at(base.routable[0]).id == 5);
  auto lora = s.endpoints_for("sql-lora");
  CHECK(lora.serving.size() == 2);
  CHECK(lora.routable.size() == 1);
  CHECK(s.endpoints_for("nope").serving.empty());
  CHECK(s.model_names().size() == 3);
}

TEST_CASE("snapshot: freshness and address text") {
  EndpointState e = make_endpoint(0);
  CHECK(e.metrics_fresh(fresh_now(), std::chrono::seconds(2)));
  CHECK_FALSE(e.metrics_fresh(fresh_now() + std::chrono::seconds(3), std::chrono::seconds(2)));
  e.has_metrics = false;
  CHECK_FALSE(e.metrics_fresh(fresh_now(), std::chrono::seconds(2)));
  CHECK(e.address.text() == "10.0.0.1:8000");
  EndpointAddress v6{"fd00::1", 8000, {}, 0};
  CHECK(v6.text() == "[fd00::1]:8000");
  CHECK(address_hash("10.0.0.1", 8000) == address_hash("10.0.0.1", 8000));
  CHECK(address_hash("10.0.0.1", 8000) != address_hash("10.0.0.1", 8001));
}

TEST_CASE("apply_scrape: metrics, freshness, KV capacity, adapters merged without duplicates") {
  ringgate::metrics::VllmMetrics m;
  m.all.waiting = 3;
  m.cache.present = true;
  m.cache.num_gpu_blocks = 27545;
  m.cache.num_cpu_blocks = 50000;
  m.cache.block_size = 16;
  m.lora.present = true;
  m.lora.running_adapters = "sql-lora,chat-lora";
  m.lora.waiting_adapters = "sql-lora";
  EndpointState e = make_endpoint(0);
  e.has_metrics = false;
  std::vector<std::string> known{"chat-lora", "idle-lora"};
  apply_scrape(e, m, fresh_now(), known);
  CHECK(e.has_metrics);
  CHECK(e.scraped_at == fresh_now());
  CHECK(e.metrics.all.waiting == 3);
  CHECK(e.num_gpu_blocks == 27545);
  CHECK(e.num_cpu_blocks == 50000);
  CHECK(e.block_size == 16);
  CHECK(e.lora_adapters == std::vector<std::string>{"chat-lora", "idle-lora", "sql-lora"});
}

TEST_CASE("apply_scrape: the running and waiting adapter sets (sorted, unique) and max_lora, cleared without the series") {
  ringgate::metrics::VllmMetrics m;
  m.lora.present = true;
  m.lora.max_lora = 2;
  m.lora.running_adapters = "sql-lora,chat-lora,,sql-lora";
  m.lora.waiting_adapters = "tweet-lora";
  EndpointState e = make_endpoint(0);
  apply_scrape(e, m, fresh_now());
  CHECK(e.loras.reported);
  CHECK(e.loras.max_lora == 2);
  CHECK(e.loras.running == std::vector<std::string>{"chat-lora", "sql-lora"});
  CHECK(e.loras.waiting == std::vector<std::string>{"tweet-lora"});
  CHECK(e.loras.is_running("sql-lora"));
  CHECK(e.loras.is_running("chat-lora"));
  CHECK_FALSE(e.loras.is_running("tweet-lora"));
  CHECK_FALSE(e.loras.is_running("sql"));
  CHECK(e.loras.is_waiting("tweet-lora"));
  // The next page has no lora_requests_info: nothing is known to run or wait.
  m.lora = {};
  apply_scrape(e, m, fresh_now());
  CHECK_FALSE(e.loras.reported);
  CHECK(e.loras.max_lora == 0);
  CHECK(e.loras.running.empty());
  CHECK(e.loras.waiting.empty());
}

TEST_CASE("snapshot: has_routable_prefill needs a routable endpoint of role prefill") {
  auto snapshot_of = [](std::initializer_list<std::pair<EndpointRole, bool>> roles) {
    std::vector<EndpointState> v;
    EndpointId id = 0;
    for (auto [role, routable] : roles) {
      v.push_back(make_endpoint(id++, "base", 0, 0, routable));
      v.back().role = role;
    }
    return EndpointSnapshot(std::move(v));
  };
  CHECK_FALSE(EndpointSnapshot({}).has_routable_prefill());
  CHECK_FALSE(snapshot_of({{EndpointRole::Both, true}, {EndpointRole::Decode, true}}).has_routable_prefill());
  CHECK_FALSE(snapshot_of({{EndpointRole::Prefill, false}, {EndpointRole::Decode, true}}).has_routable_prefill());
  CHECK(snapshot_of({{EndpointRole::Decode, true}, {EndpointRole::Prefill, true}}).has_routable_prefill());
  CHECK(snapshot_of({{EndpointRole::Prefill, false}, {EndpointRole::Prefill, true}}).has_routable_prefill());
  // The role reaches the snapshot's endpoints as given.
  auto s = snapshot_of({{EndpointRole::Decode, true}, {EndpointRole::Prefill, false}});
  CHECK(s.at(0).role == EndpointRole::Decode);
  CHECK(s.at(1).role == EndpointRole::Prefill);
}

// Issue 71: the "same server" rule (a failure domain). The ranks behind one port fail
// together; a server on the same port of another host, and another port of the same host,
// are other servers. Told apart by host and port both, and by address_hash as well.
TEST_CASE("same_server: the same port on two hosts, and two ports of one host, are different servers") {
  auto rank = [](EndpointId id, std::string host, uint16_t port, int32_t r, bool header) {
    EndpointState e = make_endpoint(id);
    e.address.host = std::move(host);
    e.address.port = port;
    e.dp = {r, header};
    e.address_hash = address_hash(e.address.host, e.address.port, e.dp);
    return e;
  };
  std::vector<EndpointState> v;
  v.push_back(rank(0, "10.0.0.1", 8000, 0, true));  // host A, port 8000: two ranks behind it
  v.push_back(rank(1, "10.0.0.1", 8000, 1, true));
  v.push_back(rank(2, "10.0.0.2", 8000, 0, true));  // host B, the same port: another server
  v.push_back(rank(3, "10.0.0.2", 8000, 1, true));
  v.push_back(rank(4, "10.0.0.1", 8001, 0, true));  // host A, another port: another server
  v.push_back(rank(5, "10.0.0.1", 8001, 1, true));
  v.push_back(rank(6, "10.0.0.1", 8002, 0, false));  // a port per rank: each alone
  v.push_back(rank(7, "10.0.0.1", 8003, 1, false));
  const EndpointSnapshot s(std::move(v));
  auto same = [&](EndpointId id) {
    std::vector<EndpointId> out;
    same_server(s, id, out);
    std::sort(out.begin(), out.end());
    return out;
  };
  using Ids = std::vector<EndpointId>;
  CHECK(same(0) == Ids{0, 1});
  CHECK(same(1) == Ids{0, 1});
  CHECK(same(2) == Ids{2, 3});
  CHECK(same(3) == Ids{2, 3});
  CHECK(same(4) == Ids{4, 5});
  CHECK(same(5) == Ids{4, 5});
  CHECK(same(6) == Ids{6});
  CHECK(same(7) == Ids{7});
  CHECK(same(99).empty());  // not in the snapshot
  // The server's identity shared by every replica (the Responses holder, rendezvous): host
  // and port both, the rank only when it shares the port.
  CHECK(address_hash("10.0.0.1", 8000) != address_hash("10.0.0.2", 8000));
  CHECK(address_hash("10.0.0.1", 8000) != address_hash("10.0.0.1", 8001));
  CHECK(address_hash("10.0.0.1", 8000, {0, true}) != address_hash("10.0.0.1", 8000, {1, true}));
  CHECK(address_hash("10.0.0.1", 8000, {0, true}) != address_hash("10.0.0.1", 8000));
  CHECK(address_hash("10.0.0.1", 8002, {0, false}) == address_hash("10.0.0.1", 8002));
}
