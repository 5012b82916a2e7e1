// EndpointPool against fake model servers (the admin server with vLLM's routes) on
// real loopback sockets: what each endpoint serves (base models and LoRA adapters,
// from /v1/models and vllm:lora_requests_info), its load (from /metrics), and
// when it is routable.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ringgate/control/admin_server.h"
#include "ringgate/control/endpoint_pool.h"

using namespace ringgate;
using namespace ringgate::control;

namespace {

// A model server with settable answers for /v1/models and /metrics.
struct FakeServer {
  AdminResponse models{200, "application/json", R"({"object":"list","data":[{"id":"base","parent":null}]})"};
  AdminResponse metrics{200, "text/plain", "vllm:num_requests_waiting{model_name=\"base\"} 4\n"};
  uint16_t port = 0;
  std::unique_ptr<AdminServer> server;

  explicit FakeServer(EpollLoop& loop) {
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
  DesiredEndpoint member(bool ready = true) const { return {"127.0.0.1", port, ready, ""}; }
};

PoolOptions fast_options() {
  PoolOptions o;
  o.poll_interval = std::chrono::milliseconds(5);
  o.models_refresh = std::chrono::milliseconds(5);
  o.scrape_timeout = std::chrono::milliseconds(500);
  return o;
}

// Runs the loop until `done()` holds on a fresh snapshot (or 5 s pass).
std::unique_ptr<sched::EndpointSnapshot> run_until(EpollLoop& loop, EndpointPool& pool, std::vector<FakeServer*> servers,
                                                   const std::function<bool(const sched::EndpointSnapshot&)>& done) {
  const auto give_up = Clock::now() + std::chrono::seconds(5);
  for (;;) {
    loop.run_once(2);
    for (FakeServer* s : servers) s->server->reap();
    pool.tick(Clock::now());
    auto snap = pool.build_snapshot();
    if (done(*snap) || Clock::now() > give_up) return snap;
  }
}

const sched::EndpointState* find(const sched::EndpointSnapshot& snap, uint16_t port) {
  for (const auto& e : snap.endpoints())
    if (e.address.port == port) return &e;
  return nullptr;
}

bool has(const std::vector<std::string>& v, std::string_view s) { return std::find(v.begin(), v.end(), s) != v.end(); }

}  // namespace

TEST_CASE("parse_model_list: base models and adapters (a parent), malformed bodies rejected") {
  std::vector<std::string> models, adapters;
  CHECK(parse_model_list(R"({"object":"list","data":[
      {"id":"meta-llama/Llama-3.1-8B","object":"model","root":"meta-llama/Llama-3.1-8B","parent":null},
      {"id":"sql-lora","object":"model","root":"/adapters/sql","parent":"meta-llama/Llama-3.1-8B"},
      {"id":"alias","object":"model"}]})", models, adapters));
  CHECK(models == std::vector<std::string>{"meta-llama/Llama-3.1-8B", "alias"});
  CHECK(adapters == std::vector<std::string>{"sql-lora"});
  CHECK(parse_model_list(R"({"data":[]})", models, adapters));
  CHECK(models.empty());
  CHECK(adapters.empty());
  CHECK_FALSE(parse_model_list("not json", models, adapters));
  CHECK_FALSE(parse_model_list(R"({"object":"list"})", models, adapters));        // no data
  CHECK_FALSE(parse_model_list(R"({"data":[{"object":"model"}]})", models, adapters));  // no id
  CHECK_FALSE(parse_model_list(R"({"data":[{"id":7}]})", models, adapters));
  CHECK_FALSE(parse_model_list(R"({"data":["x"]})", models, adapters));
  // Found by fuzz_model_list: a malformed parent value threw out of the control thread.
  CHECK_FALSE(parse_model_list(R"({"data":[{"id":"a","parent":n"a"}]})", models, adapters));
  CHECK_FALSE(parse_model_list(R"({"data":[{"id":"a","parent":nul}]})", models, adapters));
  CHECK_FALSE(parse_model_list(R"({"data":[{"id":"a","id":"b"}]})", models, adapters));  // two ids
}

TEST_CASE("pool: models, adapters (listed and reported running/waiting) and load reach the snapshot") {
  EpollLoop loop;
  sched::EndpointRegistry registry;
  FakeServer a(loop), b(loop);
  a.models.body = R"({"data":[{"id":"base","parent":null},{"id":"sql-lora","parent":"base"}]})";
  b.metrics.body =
      "vllm:num_requests_waiting{model_name=\"base\"} 9\n"
      "vllm:lora_requests_info{max_lora=\"2\",running_lora_adapters=\"hot-lora\",waiting_lora_adapters=\"queued-lora\"} 1.7e9\n";
  EndpointPool pool(loop, registry, fast_options());
  pool.set_members({a.member(), b.member()});
  CHECK(pool.size() == 2);
  CHECK(pool.routable_count() == 0);  // nothing known before the first answers
  auto snap = run_until(loop, pool, {&a, &b}, [&](const sched::EndpointSnapshot& s) {
    auto* ea = find(s, a.port);
    auto* eb = find(s, b.port);
    return ea && eb && ea->routable && eb->routable && ea->has_metrics && eb->has_metrics;
  });
  CHECK(pool.all_probed());
  CHECK(pool.routable_count() == 2);
  auto* ea = find(*snap, a.port);
  auto* eb = find(*snap, b.port);
  REQUIRE(ea);
  REQUIRE(eb);
  CHECK(ea->models == std::vector<std::string>{"base"});
  CHECK(ea->lora_adapters == std::vector<std::string>{"sql-lora"});
  CHECK(eb->lora_adapters == std::vector<std::string>{"hot-lora", "queued-lora"});
  CHECK_FALSE(has(eb->lora_adapters, "sql-lora"));
  CHECK(eb->metrics.find_model("base")->waiting == 9);
  CHECK(ea->metrics.find_model("base")->waiting == 4);
}

TEST_CASE("pool: routability — discovery's verdict, /v1/models known, failed scrapes; 404 /metrics is alive") {
  EpollLoop loop;
  sched::EndpointRegistry registry;
  FakeServer ok(loop), not_ready(loop), no_metrics(loop), no_models(loop);
  no_metrics.metrics = {404, "text/plain", "not here\n"};
  no_models.models = {500, "text/plain", "boom\n"};
  EndpointPool pool(loop, registry, fast_options());
  pool.set_members({ok.member(), not_ready.member(false), no_metrics.member(), no_models.member()});
  std::vector<FakeServer*> all{&ok, &not_ready, &no_metrics, &no_models};
  auto snap = run_until(loop, pool, all, [&](const sched::EndpointSnapshot& s) {
    // Several poll rounds, so that one failed poll cannot pass for an answered one.
    const EndpointHealth* h = pool.health(find(s, no_metrics.port)->id);
    const EndpointHealth* good = pool.health(find(s, ok.port)->id);
    return pool.all_probed() && good && good->scrapes_ok >= 4 && h && !h->last_error.empty();
  });
  CHECK(find(*snap, ok.port)->routable);
  CHECK_FALSE(find(*snap, not_ready.port)->routable);  // discovery says not ready
  CHECK(find(*snap, no_metrics.port)->routable);       // alive without vLLM metrics
  CHECK_FALSE(find(*snap, no_metrics.port)->has_metrics);
  CHECK_FALSE(find(*snap, no_models.port)->routable);  // cannot know what it serves

  // /metrics starts failing with 5xx: out after failed_scrapes_to_unroutable (2) polls, back after one good one.
  ok.metrics = {503, "text/plain", "overloaded\n"};
  snap = run_until(loop, pool, all, [&](const sched::EndpointSnapshot& s) { return !find(s, ok.port)->routable; });
  CHECK_FALSE(find(*snap, ok.port)->routable);
  CHECK(pool.health(find(*snap, ok.port)->id)->failed_scrapes >= 2);
  ok.metrics = {200, "text/plain", "vllm:num_requests_waiting{model_name=\"base\"} 1\n"};
  snap = run_until(loop, pool, all, [&](const sched::EndpointSnapshot& s) { return find(s, ok.port)->routable; });
  CHECK(find(*snap, ok.port)->routable);

  // Leaving the pool: reported once, for the prefix index to forget.
  const auto gone = find(*snap, no_models.port)->id;
  pool.set_members({ok.member(), not_ready.member(false), no_metrics.member()});
  CHECK(pool.take_removed() == std::vector<sched::EndpointId>{gone});
  CHECK(pool.take_removed().empty());
  CHECK(pool.size() == 3);
}

TEST_CASE("pool: a model declared on the command line (--model) makes a server routable before /v1/models answers") {
  EpollLoop loop;
  sched::EndpointRegistry registry;
  FakeServer silent_models(loop);
  silent_models.models = {500, "text/plain", "no\n"};
  PoolOptions o = fast_options();
  o.declared_models = {"declared-model"};
  EndpointPool pool(loop, registry, o);
  pool.set_members({silent_models.member()});
  auto snap = pool.build_snapshot();
  REQUIRE(snap->size() == 1);
  CHECK(snap->at(0).routable);
  CHECK(snap->at(0).models == std::vector<std::string>{"declared-model"});
}

TEST_CASE("pool: scrapes are due at multiples of the poll interval on the wall clock") {
  using std::chrono::milliseconds;
  using Wall = std::chrono::system_clock;
  const Clock::time_point now = Clock::time_point{} + std::chrono::seconds(1000);
  // Wall clock 12.325 s past a whole second: the next multiple of 50 ms is 12.350 s, 25 ms on.
  const Wall::time_point wall = Wall::time_point{} + milliseconds(1'700'000'012'325);
  CHECK(next_wall_aligned(now, milliseconds(50), wall) == now + milliseconds(25));
  // Less than half an interval to the next multiple: the one after (12.345 → 12.400),
  // so a first poll at any phase and the next are never a moment apart.
  CHECK(next_wall_aligned(now, milliseconds(50), Wall::time_point{} + milliseconds(1'700'000'012'345)) ==
        now + milliseconds(55));
  // Exactly on a multiple: the next one, a whole interval on (never `now` again).
  CHECK(next_wall_aligned(now, milliseconds(50), Wall::time_point{} + milliseconds(1'700'000'012'350)) ==
        now + milliseconds(50));
  // Two replicas whose turns fall at different moments of one interval pick the same
  // wall-clock instant: 12.312 and 12.324 both go to 12.350.
  const Clock::time_point later = now + milliseconds(12);
  CHECK(next_wall_aligned(now, milliseconds(50), Wall::time_point{} + milliseconds(1'700'000'012'312)) ==
        now + milliseconds(38));
  CHECK(next_wall_aligned(later, milliseconds(50), Wall::time_point{} + milliseconds(1'700'000'012'324)) ==
        later + milliseconds(26));
  CHECK(next_wall_aligned(now, Clock::duration::zero(), wall) == now);
}

TEST_CASE("pool: the next poll due is reported so the control loop wakes for it") {
  EpollLoop loop;
  sched::EndpointRegistry registry;
  FakeServer a(loop);
  PoolOptions options = fast_options();
  options.poll_interval = std::chrono::milliseconds(200);
  options.models_refresh = std::chrono::seconds(10);
  EndpointPool pool(loop, registry, options);
  CHECK(pool.next_due() == Clock::time_point::max());  // no members
  pool.set_members({a.member()});
  CHECK(pool.next_due() <= Clock::now());  // a new member is polled at once
  const Clock::time_point added = Clock::now();
  run_until(loop, pool, {&a}, [&](const sched::EndpointSnapshot& s) {
    auto* e = find(s, a.port);
    return e && e->has_metrics;
  });
  // Until the models are known they are asked for at the poll rate, unaligned, and may
  // be due first: past the second models poll (one interval after the first, with the
  // models known) they are next asked for in 10 s, and the scrape is what is due (once
  // no scrape is running: a running one is not due, and the models' 10 s would show).
  run_until(loop, pool, {&a}, [&](const sched::EndpointSnapshot& s) {
    auto* e = find(s, a.port);
    return e && !e->models.empty() && Clock::now() > added + std::chrono::milliseconds(350) &&
           pool.next_due() < Clock::now() + std::chrono::seconds(1);
  });
  // After that, the next scrape waits for a wall-clock multiple of 200 ms: at most one
  // and a half intervals away (at least half of one), and on the wall clock's 200 ms
  // grid (20 ms of slack for a thread preempted between the two clock reads; an
  // unaligned poll lands anywhere on it).
  const auto wall = std::chrono::system_clock::now();
  const Clock::time_point now = Clock::now(), due = pool.next_due();
  REQUIRE(due != Clock::time_point::max());
  CHECK(due <= now + std::chrono::milliseconds(300));
  const int64_t at = std::chrono::duration_cast<std::chrono::milliseconds>(wall.time_since_epoch() + (due - now)).count();
  const int64_t off = at % 200;
  CHECK(std::min(off, 200 - off) <= 20);
}

TEST_CASE("pool: each member's role reaches the snapshot; a role change (a relabelled pod) is a change") {
  EpollLoop loop;
  sched::EndpointRegistry registry;
  EndpointPool pool(loop, registry, fast_options());
  auto member = [](uint16_t port, sched::EndpointRole role) {
    DesiredEndpoint d{"127.0.0.1", port, true, "pod-" + std::to_string(port)};  // named: as Kubernetes pods
    d.role = role;
    return d;
  };
  pool.set_members({member(1, sched::EndpointRole::Prefill), member(2, sched::EndpointRole::Decode),
                    member(3, sched::EndpointRole::Both)});
  auto snap = pool.build_snapshot();
  REQUIRE(snap->size() == 3);
  CHECK(snap->at(0).role == sched::EndpointRole::Prefill);
  CHECK(snap->at(1).role == sched::EndpointRole::Decode);
  CHECK(snap->at(2).role == sched::EndpointRole::Both);
  const sched::EndpointId decode_id = snap->at(1).id;
  CHECK_FALSE(pool.changed());

  // Same members, one relabelled decode -> prefill: same endpoint (id), new role, a new snapshot due.
  pool.set_members({member(1, sched::EndpointRole::Prefill), member(2, sched::EndpointRole::Prefill),
                    member(3, sched::EndpointRole::Both)});
  CHECK(pool.changed());
  snap = pool.build_snapshot();
  REQUIRE(snap->size() == 3);
  CHECK(snap->at(1).id == decode_id);
  CHECK(snap->at(1).role == sched::EndpointRole::Prefill);
  CHECK(pool.take_removed().empty());
}

TEST_CASE("pool: a terminating endpoint is unroutable at once, stays a member, and says why") {
  EpollLoop loop;
  sched::EndpointRegistry registry;
  FakeServer a(loop), b(loop);
  EndpointPool pool(loop, registry, fast_options());
  auto member = [](const FakeServer& s, bool ready, bool terminating) {
    DesiredEndpoint d{"127.0.0.1", s.port, ready, "pod-" + std::to_string(s.port)};
    d.terminating = terminating;
    return d;
  };
  pool.set_members({member(a, true, false), member(b, true, false)});
  auto snap = run_until(loop, pool, {&a, &b}, [&](const sched::EndpointSnapshot& s) {
    return find(s, a.port)->routable && find(s, b.port)->routable;
  });
  REQUIRE(find(*snap, b.port)->routable);
  const sched::EndpointId b_id = find(*snap, b.port)->id;
  CHECK_FALSE(pool.health(b_id)->terminating);
  CHECK_FALSE(pool.changed());

  // EndpointSlice: ready false, serving true, terminating true. The next snapshot (no poll
  // in between: no scrape is awaited) has it unroutable; it is still a member, same id.
  pool.set_members({member(a, true, false), member(b, false, true)});
  CHECK(pool.changed());
  snap = pool.build_snapshot();
  REQUIRE(find(*snap, b.port) != nullptr);
  CHECK(find(*snap, b.port)->id == b_id);
  CHECK_FALSE(find(*snap, b.port)->routable);
  CHECK(find(*snap, a.port)->routable);
  CHECK(pool.health(b_id)->terminating);
  CHECK_FALSE(pool.health(b_id)->discovered_ready);
  CHECK(pool.take_removed().empty());
  // Discovery calling it ready while terminating (a hand-written member) does not route to it.
  pool.set_members({member(a, true, false), member(b, true, true)});
  snap = pool.build_snapshot();
  CHECK_FALSE(find(*snap, b.port)->routable);
  // Polls go on (it still answers) and do not bring it back.
  snap = run_until(loop, pool, {&a, &b},
                   [&](const sched::EndpointSnapshot&) { return pool.health(b_id)->scrapes_ok >= 3; });
  CHECK_FALSE(find(*snap, b.port)->routable);
  CHECK(pool.routable_count() == 1);

  // Not terminating and ready again (a terminated pod's replacement at the same address).
  pool.set_members({member(a, true, false), member(b, true, false)});
  CHECK(pool.changed());
  snap = pool.build_snapshot();
  CHECK(find(*snap, b.port)->routable);
  CHECK_FALSE(pool.health(b_id)->terminating);
}

TEST_CASE("pool: an endpoint's slots are the most it was seen running, once it was seen queueing") {
  EpollLoop loop;
  sched::EndpointRegistry registry;
  FakeServer a(loop);
  auto page = [&](const char* running, const char* waiting) {
    a.metrics.body = std::string("vllm:num_requests_running{model_name=\"base\"} ") + running +
                     "\nvllm:num_requests_waiting{model_name=\"base\"} " + waiting + "\n";
  };
  EndpointPool pool(loop, registry, fast_options());
  pool.set_members({a.member()});
  auto scraped = [&](double running, double waiting) {
    return run_until(loop, pool, {&a}, [&](const sched::EndpointSnapshot& s) {
      auto* e = find(s, a.port);
      const metrics::ModelLoad* m = e && e->has_metrics ? e->metrics.find_model("base") : nullptr;
      return m && m->running == running && m->waiting == waiting;
    });
  };
  // Until it queues, its slots are not known: running 5 with nobody waiting says nothing.
  page("5", "0");
  auto snap = scraped(5, 0);
  REQUIRE(find(*snap, a.port));
  CHECK(find(*snap, a.port)->slots == 0);
  // A request waiting for the next step at low load (vLLM shows that at any load): the
  // slots are the most seen running (5), not the 3 running beside it.
  page("3", "1");
  CHECK(find(*scraped(3, 1), a.port)->slots == 5);
  page("8", "0");
  CHECK(find(*scraped(8, 0), a.port)->slots == 8);
  page("6", "2");
  CHECK(find(*scraped(6, 2), a.port)->slots == 8);
  // A hostile count is bounded as every latency feature is.
  page("1e300", "1");
  snap = scraped(1e300, 1);
  CHECK(find(*snap, a.port)->slots == sched::kMaxCount);
}

// Issue 48: a server behind one port serves its data-parallel ranks, each its own endpoint
// (own id, own load from its engine's series); learnt from its engine labels, or declared.
TEST_CASE("pool: ranks behind one port are learnt from the engine labels, scored on their own series, and leave with it") {
  EpollLoop loop;
  sched::EndpointRegistry registry;
  EndpointPool pool(loop, registry, fast_options());
  FakeServer s(loop);
  s.metrics.body =
      "vllm:num_requests_waiting{engine=\"0\",model_name=\"base\"} 1\n"
      "vllm:num_requests_waiting{engine=\"1\",model_name=\"base\"} 5\n"
      "vllm:kv_cache_usage_perc{engine=\"1\",model_name=\"base\"} 0.7\n"
      "vllm:num_requests_waiting{engine=\"2\",model_name=\"base\"} 2\n";
  DesiredEndpoint d = s.member();
  d.name = "pod-a";
  d.pod = "pod-a";
  pool.set_members({d});
  auto snap = run_until(loop, pool, {&s}, [](const sched::EndpointSnapshot& sn) { return sn.size() == 3 && sn.at(0).has_metrics; });
  REQUIRE(snap->size() == 3);
  std::vector<sched::EndpointId> ids;
  for (size_t i = 0; i < 3; ++i) {
    const sched::EndpointState& e = snap->at(i);
    CHECK(e.dp.rank == int32_t(i));
    CHECK(e.dp.header);
    CHECK(e.pod == "pod-a");
    CHECK(e.address_hash == sched::address_hash("127.0.0.1", s.port, e.dp));
    CHECK(pool.name(e.id) == std::string("pod-a-rank-") + std::to_string(i));
    ids.push_back(e.id);
  }
  CHECK(snap->at(0).metrics.all.waiting == 1);  // rank 0 (the first) reads engine="0", not the server's 8
  CHECK(snap->at(1).metrics.all.waiting == 5);  // rank 1's own series, not the server's 8
  CHECK(snap->at(1).metrics.all.kv_cache_usage == doctest::Approx(0.7));
  CHECK(snap->at(2).metrics.all.waiting == 2);
  std::vector<sched::EndpointId> same;
  sched::same_server(*snap, ids[1], same);
  CHECK(same.size() == 3);
  CHECK(pool.take_removed().size() == 1);  // the whole-server endpoint it was before its first scrape

  // The page names one engine now: the server is one endpoint again; the ranks' ids are released.
  s.metrics.body = "vllm:num_requests_waiting{engine=\"0\",model_name=\"base\"} 1\n";
  snap = run_until(loop, pool, {&s}, [](const sched::EndpointSnapshot& sn) { return sn.size() == 1; });
  REQUIRE(snap->size() == 1);
  CHECK(snap->at(0).dp.rank == -1);
  CHECK_FALSE(snap->at(0).dp.header);
  CHECK(pool.take_removed().size() == 3);

  // Declared: two ranks whatever the page says; an engine past them is counted, never scored.
  s.metrics.body =
      "vllm:num_requests_waiting{engine=\"0\",model_name=\"base\"} 1\n"
      "vllm:num_requests_waiting{engine=\"1\",model_name=\"base\"} 3\n"
      "vllm:num_requests_waiting{engine=\"7\",model_name=\"base\"} 9\n";
  d.data_parallel_size = 2;
  pool.set_members({d});
  snap = run_until(loop, pool, {&s}, [&](const sched::EndpointSnapshot& sn) {
    return sn.size() == 2 && pool.health(sn.at(0).id)->undeclared_engine_samples > 0;
  });
  REQUIRE(snap->size() == 2);
  CHECK(snap->at(0).metrics.all.waiting == 1);  // the first declared rank and the last, each its own series
  CHECK(snap->at(1).metrics.all.waiting == 3);
  CHECK(pool.health(snap->at(0).id)->undeclared_engine_samples > 0);

  // The pod leaves: every rank in the same update.
  pool.take_removed();
  pool.set_members({});
  CHECK(pool.take_removed().size() == 2);
  CHECK(pool.build_snapshot()->size() == 0);
}

TEST_CASE("pool: one rank per port keeps its rank and pod, no header, its own id") {
  EpollLoop loop;
  sched::EndpointRegistry registry;
  EndpointPool pool(loop, registry, fast_options());
  std::vector<DesiredEndpoint> ranks;
  for (int32_t r = 0; r < 4; ++r) {
    DesiredEndpoint d{"127.0.0.1", uint16_t(8000 + r), true, "ds-0-rank-" + std::to_string(r)};
    d.pod = "ds-0";
    d.rank = r;
    ranks.push_back(d);
  }
  pool.set_members(ranks);
  auto snap = pool.build_snapshot();
  REQUIRE(snap->size() == 4);
  for (size_t i = 0; i < 4; ++i) {
    CHECK(snap->at(i).dp == sched::DataParallelRank{int32_t(i), false});
    CHECK(snap->at(i).pod == "ds-0");
    std::vector<sched::EndpointId> same;
    sched::same_server(*snap, snap->at(i).id, same);
    CHECK(same == std::vector<sched::EndpointId>{snap->at(i).id});  // a port of its own fails alone
  }
}

TEST_CASE("pool: a leaf gateway is scheduled on its /debug/load summary; a bad one leaves it unscheduled, counted") {
  EpollLoop loop;
  sched::EndpointRegistry registry;
  FakeServer leaf(loop);  // its api port: never read; its admin port: `admin`
  FakeServer admin(loop);
  const std::string good =
      R"({"version":1,"draining":false,"ageMs":5,"waiting":7,"running":3,"kvUsage":0.4,"saturation":0.2,"held":0,)"
      R"("models":[{"name":"base","ready":2},{"name":"gone","ready":0}]})";
  AdminResponse summary{200, "application/json", good};
  admin.server->route("/debug/load", [&] { return summary; });
  PoolOptions options = fast_options();
  options.refused_page_backoff = std::chrono::milliseconds(10);
  EndpointPool pool(loop, registry, options);
  DesiredEndpoint d = leaf.member();
  d.gateway = true;
  d.admin_host = "127.0.0.1";
  d.admin_port = admin.port;
  d.priority = 3;
  pool.set_members({d});
  auto routable = [&](const sched::EndpointSnapshot& s) { return find(s, leaf.port) && find(s, leaf.port)->routable; };
  auto snap = run_until(loop, pool, {&leaf, &admin}, routable);
  const sched::EndpointState* e = find(*snap, leaf.port);
  REQUIRE(e);
  CHECK(e->routable);
  CHECK(e->gateway);
  CHECK(e->priority == 3);
  // "gone" has no ready server there, nor anywhere: offered last (the next test).
  CHECK(e->models == std::vector<std::string>{"base", "gone"});
  CHECK(e->metrics.all.waiting == 7);
  CHECK(e->metrics.all.running == 3);
  CHECK(e->metrics.all.kv_cache_usage == doctest::Approx(0.4));
  CHECK(pool.summaries_refused() == 0);

  // Each bad summary: unscheduled at once and counted; a good one brings it back.
  const std::string bad[] = {
      "not json",
      R"({"version":1,"draining":false,"ageMs":2001,"models":[{"name":"base","ready":2}]})",  // stale
      R"({"version":1,"ageMs":0,"models":[{"name":")" + std::string(257, 'm') + R"(","ready":1}]})",
      R"({"version":1,"ageMs":0,"models":[]})" + std::string(70000, ' '),  // past 64 KiB
  };
  uint64_t refused = 0;
  for (const std::string& body : bad) {
    CAPTURE(body.substr(0, 80));
    summary.body = body;
    snap = run_until(loop, pool, {&leaf, &admin}, [&](const sched::EndpointSnapshot& s) { return !routable(s); });
    CHECK_FALSE(routable(*snap));
    CHECK(pool.summaries_refused() > refused);
    refused = pool.summaries_refused();
    summary.body = good;
    snap = run_until(loop, pool, {&leaf, &admin}, routable);
    CHECK(routable(*snap));
  }
  // Draining: no new requests.
  summary.body = R"({"version":1,"draining":true,"ageMs":0,"models":[{"name":"base","ready":2}]})";
  snap = run_until(loop, pool, {&leaf, &admin}, [&](const sched::EndpointSnapshot& s) { return !routable(s); });
  CHECK_FALSE(routable(*snap));
  CHECK(pool.summaries_refused() == refused);  // draining is no refusal
}

TEST_CASE("pool: a model at zero in every leaf is offered by the leaves that list it, else only where it is ready") {
  EpollLoop loop;
  sched::EndpointRegistry registry;
  FakeServer leaf_a(loop), leaf_b(loop), admin_a(loop), admin_b(loop);
  AdminResponse a{200, "application/json",
                  R"({"version":1,"ageMs":0,"models":[{"name":"base","ready":1},{"name":"z","ready":0}]})"};
  AdminResponse b{200, "application/json",
                  R"({"version":1,"ageMs":0,"models":[{"name":"base","ready":1},{"name":"z","ready":0}]})"};
  admin_a.server->route("/debug/load", [&] { return a; });
  admin_b.server->route("/debug/load", [&] { return b; });
  EndpointPool pool(loop, registry, fast_options());
  auto leaf = [](const FakeServer& api, const FakeServer& admin) {
    DesiredEndpoint d = api.member();
    d.gateway = true;
    d.admin_host = "127.0.0.1";
    d.admin_port = admin.port;
    return d;
  };
  pool.set_members({leaf(leaf_a, admin_a), leaf(leaf_b, admin_b)});
  const std::vector<FakeServer*> all = {&leaf_a, &leaf_b, &admin_a, &admin_b};
  auto lists = [](const sched::EndpointSnapshot& s, uint16_t port, std::string_view model) {
    const sched::EndpointState* e = find(s, port);
    return e && e->routable && has(e->models, model);
  };
  // z at zero everywhere: both leaves offer it (each holds or refuses it as configured).
  auto snap = run_until(loop, pool, all, [&](const sched::EndpointSnapshot& s) {
    return lists(s, leaf_a.port, "z") && lists(s, leaf_b.port, "z");
  });
  CHECK(lists(*snap, leaf_a.port, "z"));
  CHECK(lists(*snap, leaf_b.port, "z"));
  // z ready in leaf b only: never routed to leaf a.
  b.body = R"({"version":1,"ageMs":0,"models":[{"name":"base","ready":1},{"name":"z","ready":2}]})";
  snap = run_until(loop, pool, all, [&](const sched::EndpointSnapshot& s) { return !lists(s, leaf_a.port, "z"); });
  CHECK_FALSE(lists(*snap, leaf_a.port, "z"));
  CHECK(lists(*snap, leaf_b.port, "z"));
  CHECK(lists(*snap, leaf_a.port, "base"));
}
