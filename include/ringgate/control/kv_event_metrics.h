#pragma once
// The precise prefix mode's families on :9090/metrics: the exact index and the KV-event
// streams (ringgate_kv_events_*), and the prompt tokenizer (ringgate_prompt_tokenizer_*).
// Free functions of plain values, so that the metrics reference (tests/docs) renders them
// as the /metrics page does (metrics_page.cpp).
#include <string>

#include "ringgate/control/kv_event_subscriber.h"
#include "ringgate/openai/hf_prompt_tokenizer.h"
#include "ringgate/openai/token_cache.h"
#include "ringgate/sched/exact_block_index.h"

namespace ringgate::control {

void append_kv_event_families(std::string& out, const sched::ExactIndexStats& index,
                              const KvEventSubscriberCounters& counters);
void append_prompt_tokenizer_families(std::string& out, const openai::PromptTokenizerCounts& counts,
                                      bool chat_template, const openai::TokenCacheStats& cache);

}  // namespace ringgate::control
