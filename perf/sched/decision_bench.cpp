// Decision time of the endpoint picker: endpoints x prompt length, with the
// prompt's block hashes given (what a worker pays per request after parsing)
// and with hashing included. Each iteration is timed on its own; p50/p99 are
// reported as counters (Google Benchmark's mean hides the tail): p50_ns/p99_ns
// by the wall clock, cpu_p50_ns/cpu_p99_ns by this thread's CPU clock, which a
// preemption on a shared, overloaded machine does not inflate (the CPU clock
// read is a syscall: it adds a few hundred ns to the cpu_ figures).
//
// BM_control_alu / BM_control_dram time fixed work of the same length the same way:
// on a shared VM a fixed ~20 us multiply chain has p99 ~3x its p50 (the hypervisor's
// and the kernel's interruptions, charged to the thread's CPU clock too), so a tail of
// that size is the machine's; compare the index's tails with theirs.
//
// Index state: 32 shared "system prompt" families, each routed in full to two
// endpoints; the request shares its family's first 90% and differs after, so
// two endpoints match partially and the binary search does real work.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <time.h>

#include <chrono>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "ringgate/sched/endpoint_snapshot.h"
#include "ringgate/sched/inflight_counters.h"
#include "ringgate/sched/prefix_hasher.h"
#include "ringgate/sched/prefix_index.h"
#include "ringgate/sched/scheduler.h"
#include "ringgate/sched/scorer_registry.h"

using namespace ringgate::sched;

namespace {

constexpr size_t kBytesPerToken = 4;
constexpr int kFamilies = 32;

std::string text(uint64_t seed, size_t bytes) {
    std::mt19937_64 rng(seed);
    static const char* words[] = {"the ", "model ", "cache ", "prefix ", "token ", "server ", "gateway ", "of ",
                                  "and ", "request ", "stream ", "block "};
    std::string s;
    s.reserve(bytes + 16);
    while (s.size() < bytes) s += words[rng() % 12];
    s.resize(bytes);
    return s;
}

struct World {
    std::unique_ptr<EndpointSnapshot> snapshot;
    PrefixIndex index{1u << 20, 1024};
    InflightCounters inflight;
    PrefixHasher hasher{64};
    std::string prompt;               // the request's prompt
    std::vector<uint64_t> hashes;     // its block hashes

    World(size_t endpoints, size_t tokens) {
        std::vector<EndpointState> v;
        std::mt19937_64 rng(endpoints * 1000 + tokens);
        for (size_t i = 0; i < endpoints; ++i) {
            EndpointState e;
            e.id = EndpointId(i);
            e.address.host = "10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
            e.address.port = 8000;
            e.address_hash = address_hash(e.address.host, e.address.port);
            e.models = {"meta-llama/Llama-3.1-8B-Instruct"};
            e.routable = true;
            e.has_metrics = true;
            e.scraped_at = Clock::now() + std::chrono::hours(1);  // fresh for the whole run
            e.metrics.all.waiting = double(rng() % 8);
            e.metrics.all.kv_cache_usage = double(rng() % 100) / 100.0;
            // A fitted latency model (issue 35), one server in four 3x slower.
            const double slow = i % 4 == 3 ? 3 : 1;
            e.latency.ttft = {100 * slow, 4 * slow, 30 * slow, 25 * slow};
            e.latency.tpot = {0.3 * slow, 4 * slow, 8 * slow};
            e.latency.ttft_source = e.latency.tpot_source = LatencySource::Endpoint;
            v.push_back(std::move(e));
            inflight.ensure(EndpointId(i));
            for (uint64_t k = rng() % 4; k > 0; --k) inflight.add(EndpointId(i));
        }
        snapshot = std::make_unique<EndpointSnapshot>(std::move(v));

        size_t bytes = tokens * kBytesPerToken;
        size_t shared = bytes * 9 / 10;
        std::vector<uint64_t> h;
        for (int f = 0; f < kFamilies; ++f) {
            std::string p = text(uint64_t(f) + 1, shared) + text(uint64_t(f) + 777, bytes - shared);
            std::string_view part(p);
            hasher.hash("meta-llama/Llama-3.1-8B-Instruct", std::span<const std::string_view>(&part, 1), h);
            index.on_routed(EndpointId(size_t(f) % endpoints), h);
            index.on_routed(EndpointId(size_t(f * 7 + 3) % endpoints), h);
        }
        prompt = text(4, shared) + text(99999, bytes - shared);  // family 3, other question
        std::string_view part(prompt);
        hasher.hash("meta-llama/Llama-3.1-8B-Instruct", std::span<const std::string_view>(&part, 1), hashes);
    }
};

// Per-iteration wall and thread-CPU durations.
struct Samples {
    std::vector<double> wall, cpu;
    Samples() { wall.reserve(1 << 20); cpu.reserve(1 << 20); }
    struct Mark {
        std::chrono::steady_clock::time_point wall;
        timespec cpu;
    };
    // The wall interval excludes the CPU-clock syscalls (read inside it).
    static Mark start() {
        Mark m;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &m.cpu);
        m.wall = std::chrono::steady_clock::now();
        return m;
    }
    static Mark stop() {
        Mark m;
        m.wall = std::chrono::steady_clock::now();
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &m.cpu);
        return m;
    }
    void add(const Mark& a, const Mark& b) {
        if (wall.size() == wall.capacity()) return;
        wall.push_back(std::chrono::duration<double, std::nano>(b.wall - a.wall).count());
        cpu.push_back(double(b.cpu.tv_sec - a.cpu.tv_sec) * 1e9 + double(b.cpu.tv_nsec - a.cpu.tv_nsec));
    }
};

void report(benchmark::State& state, Samples& s) {
    if (s.wall.empty()) return;
    auto pct = [](std::vector<double>& v, size_t per_1000) {
        return v[std::min(v.size() - 1, v.size() * per_1000 / 1000)];
    };
    std::sort(s.wall.begin(), s.wall.end());
    std::sort(s.cpu.begin(), s.cpu.end());
    state.counters["p50_ns"] = pct(s.wall, 500);
    state.counters["p99_ns"] = pct(s.wall, 990);
    state.counters["cpu_p50_ns"] = pct(s.cpu, 500);
    state.counters["cpu_p90_ns"] = pct(s.cpu, 900);
    state.counters["cpu_p99_ns"] = pct(s.cpu, 990);
}

void BM_decision(benchmark::State& state) {
    World w(size_t(state.range(0)), size_t(state.range(1)));
    Scheduler sched(SchedulerConfig{}, w.index, w.inflight);
    Rng rng(1);
    PickRequest req;
    req.model = "meta-llama/Llama-3.1-8B-Instruct";
    req.prefix_hashes = w.hashes;
    req.now = Clock::now();
    Samples ns;
    uint32_t matched = 0;
    for (auto _ : state) {
        auto t0 = Samples::start();
        PickResult r = sched.pick(*w.snapshot, req, rng);
        auto t1 = Samples::stop();
        benchmark::DoNotOptimize(r);
        matched = r.matched_blocks;
        ns.add(t0, t1);
    }
    state.counters["blocks"] = double(w.hashes.size());
    state.counters["matched"] = matched;
    report(state, ns);
}

// The same decision by predicted latency: {latency: 1, prefix: 3} (the latency scorer's
// predictions for every candidate), and a request with objectives (the SLO-aware pick).
void BM_decision_latency(benchmark::State& state) {
    World w(size_t(state.range(0)), size_t(state.range(1)));
    SchedulerConfig config;
    config.weights = {};
    config.weights[*scorer_slot("latency")] = 1;
    config.weights[*scorer_slot("prefix")] = 3;
    Scheduler sched(config, w.index, w.inflight);
    Rng rng(1);
    PickRequest req;
    req.model = "meta-llama/Llama-3.1-8B-Instruct";
    req.prefix_hashes = w.hashes;
    req.now = Clock::now();
    req.slo = {300, 40};
    Samples ns;
    for (auto _ : state) {
        auto t0 = Samples::start();
        PickResult r = sched.pick(*w.snapshot, req, rng);
        auto t1 = Samples::stop();
        benchmark::DoNotOptimize(r);
        ns.add(t0, t1);
    }
    report(state, ns);
}

void BM_hash_and_decision(benchmark::State& state) {
    World w(size_t(state.range(0)), size_t(state.range(1)));
    Scheduler sched(SchedulerConfig{}, w.index, w.inflight);
    Rng rng(1);
    std::vector<uint64_t> hashes;
    hashes.reserve(w.hashes.size());
    std::string_view part(w.prompt);
    Samples ns;
    for (auto _ : state) {
        auto t0 = Samples::start();
        w.hasher.hash("meta-llama/Llama-3.1-8B-Instruct", std::span<const std::string_view>(&part, 1), hashes);
        PickRequest req;
        req.model = "meta-llama/Llama-3.1-8B-Instruct";
        req.prefix_hashes = hashes;
        req.now = Clock::now();
        PickResult r = sched.pick(*w.snapshot, req, rng);
        auto t1 = Samples::stop();
        benchmark::DoNotOptimize(r);
        ns.add(t0, t1);
    }
    report(state, ns);
}

// The write after routing (not part of the decision, but paid per request):
// the request's prompt again (its chain is recorded: a binary search and a
// touch of its segments).
void BM_on_routed(benchmark::State& state) {
    World w(size_t(state.range(0)), size_t(state.range(1)));
    Samples ns;
    for (auto _ : state) {
        auto t0 = Samples::start();
        w.index.on_routed(EndpointId(3), w.hashes);
        auto t1 = Samples::stop();
        ns.add(t0, t1);
    }
    state.counters["blocks"] = double(w.hashes.size());
    report(state, ns);
}

// Recording a prompt the endpoint has never been sent: every block is new, and
// once the endpoint is full (capacity 2 x 32768 GPU blocks) as many old blocks
// are evicted. Each iteration's chain is the request's with its tail past the
// shared 90% made distinct (as a new question on a shared document), or wholly
// distinct with "distinct" set (a new document).
void on_routed_new(benchmark::State& state, bool distinct) {
    World w(size_t(state.range(0)), size_t(state.range(1)));
    w.index.set_capacity(EndpointId(3), 2 * 32768);
    std::vector<uint64_t> h = w.hashes;
    size_t from = distinct ? 0 : h.size() * 9 / 10;
    uint64_t round = 0;
    auto next = [&] {
        ++round;
        for (size_t i = from; i < h.size(); ++i) h[i] = w.hashes[i] ^ (round * 0x9E3779B97F4A7C15ULL);
    };
    // Steady state, untimed: the endpoint full (each recording evicts as much as it
    // adds) and the index's pages touched.
    while (w.index.entries(EndpointId(3)) + (h.size() - from) <= w.index.capacity(EndpointId(3))) {
        next();
        w.index.on_routed(EndpointId(3), h);
    }
    Samples ns;
    for (auto _ : state) {
        ++round;
        for (size_t i = from; i < h.size(); ++i) h[i] = w.hashes[i] ^ (round * 0x9E3779B97F4A7C15ULL);
        auto t0 = Samples::start();
        w.index.on_routed(EndpointId(3), h);
        auto t1 = Samples::stop();
        ns.add(t0, t1);
    }
    state.counters["blocks"] = double(h.size());
    state.counters["new_blocks"] = double(h.size() - from);
    report(state, ns);
}
void BM_on_routed_new_tail(benchmark::State& state) { on_routed_new(state, false); }
void BM_on_routed_new_prompt(benchmark::State& state) { on_routed_new(state, true); }

// Controls for the tails above: fixed work of about the same length, timed the same
// way. Whatever p99/p50 these show is the machine's (interrupts, a hypervisor's exits,
// preemption charged to the thread), not the index's. ALU: a dependent multiply chain
// (arg: steps). DRAM: dependent loads at random places in 256 MiB, as an index insert
// or erase misses the cache (arg: loads).
void BM_control_alu(benchmark::State& state) {
    const auto steps = uint64_t(state.range(0));
    uint64_t x = 1;
    Samples ns;
    for (auto _ : state) {
        auto t0 = Samples::start();
        for (uint64_t i = 0; i < steps; ++i) x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        benchmark::DoNotOptimize(x);
        auto t1 = Samples::stop();
        ns.add(t0, t1);
    }
    report(state, ns);
}

void BM_control_dram(benchmark::State& state) {
    const auto loads = size_t(state.range(0));
    const size_t n = (size_t(256) << 20) / sizeof(uint32_t);
    std::vector<uint32_t> next(n);
    std::mt19937_64 rng(7);
    for (auto& v : next) v = uint32_t(rng() % n);  // a random walk, touched once up front
    uint32_t at = 0;
    Samples ns;
    for (auto _ : state) {
        auto t0 = Samples::start();
        for (size_t i = 0; i < loads; ++i) at = next[at];
        benchmark::DoNotOptimize(at);
        auto t1 = Samples::stop();
        ns.add(t0, t1);
    }
    report(state, ns);
}

void shapes(benchmark::internal::Benchmark* b) {
    for (int64_t endpoints : {8, 64, 256})
        for (int64_t tokens : {1000, 8000, 100000}) b->Args({endpoints, tokens});
    b->ArgNames({"endpoints", "tokens"});
    b->Unit(benchmark::kMicrosecond);
}

}  // namespace

BENCHMARK(BM_decision)->Apply(shapes);
BENCHMARK(BM_decision_latency)->Apply(shapes);
BENCHMARK(BM_hash_and_decision)->Apply(shapes);
BENCHMARK(BM_on_routed)->Apply(shapes);
BENCHMARK(BM_on_routed_new_tail)->Apply(shapes);
BENCHMARK(BM_on_routed_new_prompt)->Apply(shapes);
BENCHMARK(BM_control_alu)->Arg(1500)->Arg(15000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_control_dram)->Arg(50)->Arg(250)->Unit(benchmark::kMicrosecond);
BENCHMARK_MAIN();
