#pragma once
// When the prefix scorer stands down: it scores at kStoodDownPrefixScale, so that it decides
// only where the load scores lie within 0.3 of each other (an idle pool still sends a prompt
// to its holder).
//
// Behind the prefix-cache-affinity filter, while the pool's prompts are cheap to hold
// twice: the index's prompt roots (PrefixIndex::root_entries: each distinct first block,
// once per server holding it) times this prompt's longest cached lead are at most `share`
// of every candidate's index capacity (0.25: half its KV), and the lead is no longer than
// a chat's root (past it, the lead is a conversation's history, which keeps its server).
//
// Why: a group held by one server would otherwise pin its load there. On DOE40-1K a
// 100-token system prompt fills 6 of a prompt's 8 blocks, under the filter's 0.8, so the
// filter keeps nobody and the prefix score (3 x 6/8) outweighs an emptier server's queue
// score (2): one sim queued 1.4-6x the other. A second copy costs one prefill and a sliver
// of KV. Standing down, load decides among the holders the filter keeps (an exact repeat
// stays), or among all where it keeps none, so each group gains a copy where the load
// sends it, as under llm-d's optimized baseline; the prefix still decides between equal
// loads. Where the roots do not fit (H: 150 groups of 600 tokens on 8 servers) the prefix
// score is what keeps them resident; the rule fires there on one pick in 8,192
// (perf/routing/README.md, "Standing down").
#include <span>

#include "ringgate/sched/endpoint_signals.h"
#include "ringgate/sched/prefix_index.h"

namespace ringgate::sched {

// A tenth: the prefix weight (3) then adds at most 0.3, where the queue score's min-max
// puts 2 points between two candidates of unequal load (outside its noise band).
inline constexpr double kStoodDownPrefixScale = 0.1;

// `candidates` with their prefix_blocks filled in; root_blocks: PickRequest::root_blocks.
bool prefix_stands_down(std::span<const EndpointSignals> candidates, const PrefixIndex& index, size_t root_blocks,
                        double share);

}  // namespace ringgate::sched
