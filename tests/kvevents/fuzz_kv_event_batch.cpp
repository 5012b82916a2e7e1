// libFuzzer target: any payload a model server sends must decode or be refused
// cleanly, within the limits; what decodes must encode and decode to the same batch.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ringgate/kvevents/kv_event.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace kve = ringgate::kvevents;
  kve::KvEventLimits limits;
  limits.max_events = 64;
  limits.max_hashes_per_event = 256;
  limits.max_tokens_per_event = 4096;
  limits.max_extra_keys_per_block = 8;
  limits.max_extra_keys_per_event = 64;
  limits.max_extra_key_bytes = 80;
  kve::KvEventBatch batch;
  std::string error = kve::decode_kv_event_batch(std::string_view(reinterpret_cast<const char*>(data), size), limits, batch);
  if (!error.empty()) return 0;
  if (batch.events.size() > limits.max_events) __builtin_trap();
  for (const kve::KvEvent& e : batch.events) {
    if (const auto* s = std::get_if<kve::BlockStored>(&e)) {
      if (s->block_hashes.size() > limits.max_hashes_per_event || s->token_ids.size() > limits.max_tokens_per_event)
        __builtin_trap();
      if (s->extra_keys.size() > s->block_hashes.size()) __builtin_trap();
      size_t keys = 0;
      for (const kve::BlockExtraKeys& k : s->extra_keys) {
        if (k.size() > limits.max_extra_keys_per_block) __builtin_trap();
        keys += k.size();
        for (const std::string& key : k)
          if (key.size() > limits.max_extra_key_bytes) __builtin_trap();
      }
      if (keys > limits.max_extra_keys_per_event) __builtin_trap();
    }
  }
  kve::KvEventBatch again;
  if (!kve::decode_kv_event_batch(kve::encode_kv_event_batch(batch), {}, again).empty()) __builtin_trap();
  if (!(again == batch) && batch.ts == batch.ts) __builtin_trap();  // NaN ts compares unequal
  return 0;
}
