#include "ringgate/control/kv_event_metrics.h"

namespace ringgate::control {
namespace {

void add_family(std::string& out, const char* name, const char* help, const char* type, uint64_t value) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " +
         std::to_string(value) + "\n";
}

}  // namespace

void append_kv_event_families(std::string& out, const sched::ExactIndexStats& st, const KvEventSubscriberCounters& c) {
  auto gauge = [&](const char* name, const char* help, const char* type, uint64_t value) {
    add_family(out, name, help, type, value);
  };
  gauge("ringgate_kv_events_index_blocks", "Block hashes held by the KV-event (precise) index, all endpoints.",
        "gauge", st.blocks);
  gauge("ringgate_kv_events_index_memory_bytes", "Estimated memory of the KV-event (precise) index.", "gauge",
        st.memory_bytes);
  gauge("ringgate_kv_events_index_max_blocks_per_endpoint", "Bound on one endpoint's blocks (kvEvents.maxBlocksPerEndpoint).",
        "gauge", st.max_blocks_per_endpoint);
  gauge("ringgate_kv_events_endpoints_precise", "Endpoints scored from their KV events.", "gauge",
        st.endpoints_precise);
  gauge("ringgate_kv_events_endpoints_fallback",
        "Endpoints whose KV-event stream lost events: scored by the approximate index until resynced.", "gauge",
        st.endpoints_fallback);
  gauge("ringgate_kv_events_unknown_medium_total",
        "KV events (BlockStored, BlockRemoved) naming a tier (medium) with no weight in scorers.prefix.tierWeights: "
        "not applied, so their blocks score 0.",
        "counter", st.unknown_medium_events);
  gauge("ringgate_kv_events_batches_total", "KV-event batches applied (replayed ones included).", "counter",
        c.batches.load(std::memory_order_relaxed));
  gauge("ringgate_kv_events_replayed_batches_total", "KV-event batches obtained by replay requests.", "counter",
        c.replayed_batches.load(std::memory_order_relaxed));
  gauge("ringgate_kv_events_gaps_total", "Sequence gaps seen in KV-event streams.", "counter",
        c.gaps.load(std::memory_order_relaxed));
  gauge("ringgate_kv_events_decode_errors_total", "KV-event messages refused (bad framing or payload).", "counter",
        c.decode_errors.load(std::memory_order_relaxed));
}

void append_prompt_tokenizer_families(std::string& out, const openai::PromptTokenizerCounts& n, bool chat_template,
                                      const openai::TokenCacheStats& cache) {
  auto gauge = [&](const char* name, const char* help, const char* type, uint64_t value) {
    add_family(out, name, help, type, value);
  };
  // Requests the model's tokenizer could not read are scored by the approximate index.
  out += "# HELP ringgate_prompt_tokenizer_requests_total Requests tokenized for precise prefix scoring, by "
         "outcome (other than ok: scored by the approximate index; truncated: ok, first maxTokenizeBytes only; "
         "probed: ok, first 4 KiB only, as no server held all of it).\n"
         "# TYPE ringgate_prompt_tokenizer_requests_total counter\n";
  const std::pair<const char*, uint64_t> outcomes[] = {{"ok", n.tokenized},
                                                       {"truncated", n.truncated},
                                                       {"probed", n.probed},
                                                       {"no_prompt", n.no_prompt},
                                                       {"template_failed", n.template_failed},
                                                       {"encode_failed", n.encode_failed}};
  for (const auto& [outcome, value] : outcomes)
    out += std::string("ringgate_prompt_tokenizer_requests_total{outcome=\"") + outcome + "\"} " +
           std::to_string(value) + "\n";
  gauge("ringgate_prompt_tokenizer_chat_template", "1 when the tokenizer directory's chat template loaded.", "gauge",
        chat_template ? 1 : 0);
  gauge("ringgate_prompt_tokenizer_cache_hits_total",
        "Prompt texts (at least 4 KiB up to the maxTokenizeBytes cut) whose token ids came from the token cache.",
        "counter", cache.hits);
  gauge("ringgate_prompt_tokenizer_cache_misses_total", "Prompt texts looked up in the token cache and tokenized.",
        "counter", cache.misses);
  gauge("ringgate_prompt_tokenizer_cache_entries", "Prompt texts whose token ids the cache holds.", "gauge",
        cache.entries);
  gauge("ringgate_prompt_tokenizer_cache_bytes", "Memory the token cache holds (bounded by tokenCacheBytes).", "gauge",
        cache.bytes);
}

}  // namespace ringgate::control
