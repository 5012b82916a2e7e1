#include "ringgate/sched/exact_block_index.h"

#include <doctest/doctest.h>

#include <cmath>
#include <optional>
#include <string>
#include <vector>

using namespace ringgate::sched;
namespace kve = ringgate::kvevents;

namespace {
kve::KvEventBatch stored(std::vector<uint64_t> hashes) {
  kve::KvEventBatch b;
  b.events.push_back(kve::BlockStored{std::move(hashes), std::nullopt, {}, 16, std::nullopt, "GPU"});
  return b;
}
kve::KvEventBatch removed(std::vector<uint64_t> hashes) {
  kve::KvEventBatch b;
  b.events.push_back(kve::BlockRemoved{std::move(hashes), "GPU"});
  return b;
}
}  // namespace

TEST_CASE("leading blocks follow stores and removals once the endpoint is precise") {
  ExactBlockIndex index;
  const std::vector<uint64_t> prompt{1, 2, 3, 4};
  CHECK(index.leading_blocks(0, prompt) == -1);  // never heard of: approximate
  index.set_state(0, ExactState::Precise, "");
  CHECK(index.leading_blocks(0, prompt) == 0);
  index.apply(0, 0, stored({1, 2, 3}));
  CHECK(index.leading_blocks(0, prompt) == 3);
  index.apply(0, 1, removed({2}));
  CHECK(index.leading_blocks(0, prompt) == 1);  // a hole ends the run
  CHECK(index.report(0).blocks == 2);
  CHECK(index.report(0).last_seq == 1);
  kve::KvEventBatch clear;
  clear.events.push_back(kve::AllBlocksCleared{});
  index.apply(0, 2, clear);
  CHECK(index.leading_blocks(0, prompt) == 0);
  CHECK(index.leading_blocks(1, prompt) == -1);  // other endpoints are their own
}

TEST_CASE("an endpoint not precise is not trusted, whatever its set holds") {
  ExactBlockIndex index;
  index.apply(3, 0, stored({1}));
  index.set_state(3, ExactState::Syncing, "waiting for the stream");
  CHECK(index.leading_blocks(3, std::vector<uint64_t>{1}) == -1);
  index.set_state(3, ExactState::Fallback, "gap");
  CHECK(index.leading_blocks(3, std::vector<uint64_t>{1}) == -1);
  CHECK(index.report(3).reason == "gap");
  CHECK(index.stats().endpoints_fallback == 1);
  index.set_state(3, ExactState::Precise, "", true);  // a restarted stream: empty and trusted
  CHECK(index.leading_blocks(3, std::vector<uint64_t>{1}) == 0);
}

TEST_CASE("the per-endpoint bound: past it the endpoint falls back until its cache is cleared") {
  ExactBlockIndex index(3);
  index.set_state(0, ExactState::Precise, "");
  index.apply(0, 0, stored({1, 2, 3}));
  CHECK(index.state(0) == ExactState::Precise);
  index.apply(0, 1, stored({4}));
  CHECK(index.state(0) == ExactState::Fallback);
  CHECK(index.report(0).blocks == 3);  // never more than the bound
  CHECK(index.stats().blocks == 3);
  index.set_state(0, ExactState::Precise, "");  // still over: stays in fallback
  CHECK(index.state(0) == ExactState::Fallback);
  kve::KvEventBatch clear;
  clear.events.push_back(kve::AllBlocksCleared{});
  index.apply(0, 2, clear);
  CHECK(index.state(0) == ExactState::Precise);
  CHECK(index.stats().memory_bytes > 0);
}

TEST_CASE("ids past max_endpoints are ignored; purge forgets") {
  ExactBlockIndex index(8, 4);
  index.set_state(9, ExactState::Precise, "");
  index.apply(9, 0, stored({1}));
  CHECK(index.leading_blocks(9, std::vector<uint64_t>{1}) == -1);
  index.set_state(2, ExactState::Precise, "");
  index.apply(2, 0, stored({1}));
  index.purge(2);
  CHECK(index.leading_blocks(2, std::vector<uint64_t>{1}) == -1);
  CHECK(index.report(2).blocks == 0);
}

namespace {
kve::KvEventBatch stored_in(std::optional<std::string> medium, std::vector<uint64_t> hashes) {
  kve::KvEventBatch b;
  b.events.push_back(kve::BlockStored{std::move(hashes), std::nullopt, {}, 16, std::nullopt, std::move(medium)});
  return b;
}
kve::KvEventBatch removed_from(std::optional<std::string> medium, std::vector<uint64_t> hashes) {
  kve::KvEventBatch b;
  b.events.push_back(kve::BlockRemoved{std::move(hashes), std::move(medium)});
  return b;
}
}  // namespace

TEST_CASE("tiers: a block counts at the best tier holding it; a removal takes one tier's copy") {
  ExactBlockIndex index;  // default weights: gpu 1, cpu 0.8
  index.set_state(0, ExactState::Precise, "");
  const std::vector<uint64_t> prompt{1, 2, 3, 4};
  index.apply(0, 0, stored_in("GPU", {1, 2}));
  index.apply(0, 1, stored_in("CPU", {1, 2, 3}));  // offloaded: 1 and 2 now in both tiers
  LeadingMatch m = index.leading_match(0, prompt);
  CHECK(m.blocks == 3);
  CHECK(m.weighted == doctest::Approx(1.0 + 1.0 + 0.8));  // both tiers: the better
  CHECK(index.report(0).blocks == 3);                     // distinct hashes
  index.apply(0, 2, removed_from("GPU", {1}));            // evicted from HBM: the CPU copy stays
  m = index.leading_match(0, prompt);
  CHECK(m.blocks == 3);
  CHECK(m.weighted == doctest::Approx(0.8 + 1.0 + 0.8));
  index.apply(0, 3, removed_from("CPU", {1}));  // and from host memory: gone
  CHECK(index.leading_match(0, prompt).blocks == 0);
  CHECK(index.report(0).blocks == 2);
  index.apply(0, 4, removed_from("CPU", {2, 3}));  // 2 keeps its GPU copy, 3 had none
  CHECK(index.report(0).blocks == 1);
  CHECK(index.leading_match(0, std::vector<uint64_t>{2}).weighted == doctest::Approx(1.0));
}

TEST_CASE("tiers: no medium is the GPU (older vLLM), names match whatever their case") {
  ExactBlockIndex index;
  index.set_state(0, ExactState::Precise, "");
  index.apply(0, 0, stored_in(std::nullopt, {1}));
  index.apply(0, 1, stored_in("cpu", {1}));
  CHECK(index.leading_match(0, std::vector<uint64_t>{1}).weighted == doctest::Approx(1.0));
  index.apply(0, 2, removed_from(std::nullopt, {1}));  // the GPU copy only
  CHECK(index.leading_match(0, std::vector<uint64_t>{1}).weighted == doctest::Approx(0.8));
  index.apply(0, 3, removed_from("Cpu", {1}));
  CHECK(index.leading_match(0, std::vector<uint64_t>{1}).blocks == 0);
  CHECK(index.stats().unknown_medium_events == 0);
}

TEST_CASE("tiers: an unknown medium is counted and never applied (its blocks score 0, never GPU)") {
  ExactBlockIndex index;
  index.set_state(0, ExactState::Precise, "");
  index.apply(0, 0, stored_in("NVME", {1, 2}));
  CHECK(index.leading_match(0, std::vector<uint64_t>{1, 2}).blocks == 0);
  CHECK(index.report(0).blocks == 0);
  CHECK(index.stats().unknown_medium_events == 1);
  index.apply(0, 1, stored_in("GPU", {1}));
  index.apply(0, 2, removed_from("NVME", {1}));  // removes nothing it never added
  CHECK(index.leading_match(0, std::vector<uint64_t>{1}).weighted == doctest::Approx(1.0));
  CHECK(index.stats().unknown_medium_events == 2);
  // A tier given a weight is known, even a weight of 0: its blocks continue the run
  // (as in llm-d) and add nothing.
  TierWeights tiers;
  REQUIRE(tiers.set("nvme", 0).empty());
  ExactBlockIndex weighted(16, 4, tiers);
  weighted.set_state(0, ExactState::Precise, "");
  weighted.apply(0, 0, stored_in("NVME", {1}));
  weighted.apply(0, 1, stored_in("GPU", {2}));
  const LeadingMatch m = weighted.leading_match(0, std::vector<uint64_t>{1, 2});
  CHECK(m.blocks == 2);
  CHECK(m.weighted == doctest::Approx(1.0));
  CHECK(weighted.stats().unknown_medium_events == 0);
}

TEST_CASE("tiers: a second tier's copy of a held block is not one more block against the bound") {
  ExactBlockIndex index(2);
  index.set_state(0, ExactState::Precise, "");
  index.apply(0, 0, stored_in("GPU", {1, 2}));
  index.apply(0, 1, stored_in("CPU", {1, 2}));
  CHECK(index.state(0) == ExactState::Precise);
  index.apply(0, 2, stored_in("CPU", {3}));
  CHECK(index.state(0) == ExactState::Fallback);
}

TEST_CASE("tier weights: the table's bounds") {
  TierWeights t;
  CHECK(t.slot(std::string("GPU")) == 0);
  CHECK(t.slot(std::nullopt) == 0);
  CHECK(t.slot(std::string("Object_Store")) == 3);
  CHECK(t.slot(std::string("disk")) == -1);
  CHECK(t.by_slot()[1] == doctest::Approx(0.8));
  CHECK(t.set("cpu", 0).empty());
  CHECK(t.set("cpu", 1).empty());
  CHECK(t.by_slot()[1] == doctest::Approx(1.0));
  CHECK(!t.set("cpu", 1.0001).empty());
  CHECK(!t.set("cpu", -0.0001).empty());
  CHECK(!t.set("cpu", std::nan("")).empty());
  CHECK(t.by_slot()[1] == doctest::Approx(1.0));  // refused: unchanged
  CHECK(!t.set("", 1).empty());
  CHECK(!t.set("a b", 1).empty());
  CHECK(t.set(std::string(64, 'x'), 0.5).empty());
  CHECK(!t.set(std::string(65, 'y'), 0.5).empty());
  CHECK(t.set("DISK", 0.1).empty());  // 6 tiers
  CHECK(t.slot(std::string("disk")) == 5);
  CHECK(t.set("t7", 0.1).empty());
  CHECK(t.set("t8", 0.1).empty());  // 8: the most
  CHECK(!t.set("t9", 0.1).empty());
  CHECK(t.tiers.size() == 8);
}
