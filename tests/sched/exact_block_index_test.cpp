#include "ringgate/sched/exact_block_index.h"

#include <doctest/doctest.h>

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
