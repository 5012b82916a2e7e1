#include <doctest/doctest.h>

#include <cstdlib>
#include <map>
#include <new>
#include <random>
#include <string>

#include "ringgate/config/config_loader.h"
#include "ringgate/config/rewrite_table.h"

using namespace ringgate::config;

// Counts every allocation in this test program, to show that pick() makes none.
static size_t allocations = 0;

void* operator new(std::size_t size) {
  ++allocations;
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

RewriteTable table_from(std::string_view rewrites_yaml) {
  LoadOptions options;
  options.pool_given_by_flags = true;
  LoadResult result = load_config_text(rewrites_yaml, "rewrites.yaml", options);
  std::string listing;
  for (const ConfigError& e : result.errors) listing += format_error(e) + "\n";
  REQUIRE_MESSAGE(result.ok(), listing);
  return RewriteTable::build(result.config.rewrites);
}

constexpr std::string_view canary = R"(apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceModelRewrite
metadata: {name: canary}
spec:
  rules:
  - matches: [{model: {value: my-chat}}]
    targets: [{modelRewrite: facebook/opt-125m, weight: 90}, {modelRewrite: opt-125m-v2, weight: 10}]
  - matches: [{model: {value: food-review}}, {model: {value: reviews}}]
    targets: [{modelRewrite: facebook/opt-125m}]
)";

}  // namespace

TEST_CASE("a 90/10 split over 10,000 seeded picks lands within 1.5 points") {
  RewriteTable table = table_from(canary);
  std::mt19937_64 rng(20261122);
  int main_model = 0, canary_model = 0;
  for (int i = 0; i < 10'000; ++i) {
    RewriteDecision d = table.pick("my-chat", rng());
    CHECK(d.reason == RewriteReason::Exact);
    if (d.target == "facebook/opt-125m")
      ++main_model;
    else if (d.target == "opt-125m-v2")
      ++canary_model;
  }
  CHECK(main_model + canary_model == 10'000);
  const double share = main_model / 100.0;  // percent
  CHECK(share >= 88.5);
  CHECK(share <= 91.5);
}

TEST_CASE("the pick is a pure function of the random number, covering the whole range") {
  RewriteTable table = table_from(canary);
  // Random values map onto cumulative weights in order: the lowest 90% of the range to the first target.
  CHECK(table.pick("my-chat", 0).target == "facebook/opt-125m");
  CHECK(table.pick("my-chat", UINT64_MAX / 10 * 9 - 1000).target == "facebook/opt-125m");
  CHECK(table.pick("my-chat", UINT64_MAX / 10 * 9 + 1000).target == "opt-125m-v2");
  CHECK(table.pick("my-chat", UINT64_MAX).target == "opt-125m-v2");
}

TEST_CASE("unweighted targets split evenly") {
  RewriteTable table = table_from(R"(apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceModelRewrite
spec:
  rules:
  - matches: [{model: {value: m}}]
    targets: [{modelRewrite: a}, {modelRewrite: b}, {modelRewrite: c}]
)");
  std::mt19937_64 rng(7);
  std::map<std::string, int, std::less<>> counts;
  for (int i = 0; i < 30'000; ++i) ++counts[std::string(table.pick("m", rng()).target)];
  REQUIRE(counts.size() == 3);
  for (auto& [model, count] : counts) {
    CHECK(count > 9'400);
    CHECK(count < 10'600);
  }
}

TEST_CASE("exact before catch-all, unknown passes through, forced header wins") {
  RewriteTable table = table_from(R"(apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceModelRewrite
metadata: {name: fallback}
spec:
  rules:
  - targets: [{modelRewrite: default-model}]
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceModelRewrite
metadata: {name: alias}
spec:
  rules:
  - matches: [{model: {value: chat}}]
    targets: [{modelRewrite: real-chat}]
)");
  // The catch-all comes first in the file, but an exact match still beats it.
  RewriteDecision exact = table.pick("chat", 42);
  CHECK(exact.target == "real-chat");
  CHECK(exact.reason == RewriteReason::Exact);
  CHECK(exact.rewrite_name == "alias");
  CHECK(exact.changes("chat"));

  RewriteDecision fallback = table.pick("anything-else", 42);
  CHECK(fallback.target == "default-model");
  CHECK(fallback.reason == RewriteReason::CatchAll);
  CHECK(fallback.rewrite_name == "fallback");

  RewriteDecision forced = table.pick("chat", 42, "opt-125m-v2");
  CHECK(forced.target == "opt-125m-v2");
  CHECK(forced.reason == RewriteReason::Forced);
  CHECK(table.has_catch_all());

  RewriteTable no_catch_all = table_from(canary);
  RewriteDecision none = no_catch_all.pick("gpt-4", 1);
  CHECK(none.target == "gpt-4");
  CHECK(none.reason == RewriteReason::None);
  CHECK_FALSE(none.changes("gpt-4"));
  CHECK_FALSE(no_catch_all.has_catch_all());

  RewriteTable empty;
  CHECK(empty.empty());
  CHECK(empty.pick("x", 5).target == "x");
  CHECK(empty.pick("x", 5, "y").target == "y");
}

TEST_CASE("aliases list every exact name with its targets, in rule order") {
  RewriteTable table = table_from(canary);
  auto aliases = table.aliases();
  REQUIRE(aliases.size() == 3);
  CHECK(aliases[0].alias == "my-chat");
  CHECK(aliases[0].targets == std::vector<std::string>{"facebook/opt-125m", "opt-125m-v2"});
  CHECK(aliases[1].alias == "food-review");
  CHECK(aliases[2].alias == "reviews");
  CHECK(aliases[2].targets == std::vector<std::string>{"facebook/opt-125m"});
}

TEST_CASE("built from unvalidated structs it resolves conflicts the GAIE way") {
  ModelRewrite first;
  first.metadata.name = "first";
  first.rules.push_back(RewriteRule{{"m"}, {RewriteTarget{"a", std::nullopt}}, {}});
  first.rules.push_back(RewriteRule{{}, {RewriteTarget{"catch-1", 0u}}, {}});
  ModelRewrite second;
  second.metadata.name = "second";
  second.rules.push_back(RewriteRule{{"m", "n"}, {RewriteTarget{"b", 5u}}, {}});
  second.rules.push_back(RewriteRule{{}, {RewriteTarget{"catch-2", std::nullopt}}, {}});
  second.rules.push_back(RewriteRule{{"empty"}, {}, {}});  // no targets: ignored
  std::vector<ModelRewrite> rewrites{first, second};
  RewriteTable table = RewriteTable::build(rewrites);
  CHECK(table.pick("m", 0).target == "a");  // the first rule for "m" wins
  CHECK(table.pick("n", 0).target == "b");
  CHECK(table.pick("zzz", 0).target == "catch-1");  // the first catch-all wins
  CHECK(table.pick("empty", 0).target == "catch-1");
  CHECK(table.aliases().size() == 2);
}

TEST_CASE("pick allocates nothing, whatever path it takes") {
  RewriteTable table = table_from(R"(apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceModelRewrite
spec:
  rules:
  - matches: [{model: {value: a-model-name-long-enough-to-defeat-small-string-optimisation}}]
    targets: [{modelRewrite: x, weight: 3}, {modelRewrite: y, weight: 1}]
  - targets: [{modelRewrite: fallback}]
)");
  const std::string exact = "a-model-name-long-enough-to-defeat-small-string-optimisation";
  const std::string other = "another-model-name-long-enough-to-defeat-small-string-optimisation";
  std::mt19937_64 rng(1);
  const size_t before = allocations;
  size_t rewritten = 0;
  for (int i = 0; i < 1000; ++i) {
    rewritten += table.pick(exact, rng()).changes(exact);
    rewritten += table.pick(other, rng()).changes(other);
    rewritten += table.pick(other, rng(), "forced").changes(other);
  }
  CHECK(allocations == before);
  CHECK(rewritten == 3000);
  std::string probe(100, 'x');  // the counter does see allocations
  CHECK(allocations > before);
}
