#include "ringgate/metrics/vllm_metrics.h"

namespace ringgate::metrics {

const ModelLoad* VllmMetrics::find_model(std::string_view name) const {
  for (size_t i = 0; i < model_count_; ++i)
    if (models_[i].model_name == name) return &models_[i];
  return nullptr;
}

void VllmMetrics::clear() {
  // Keep the ModelLoad objects (and their strings' capacity) for reuse.
  model_count_ = 0;
  all = ModelLoad{};
  lora.present = false;
  lora.updated_at = 0;
  lora.max_lora = 0;
  lora.running_adapters.clear();
  lora.waiting_adapters.clear();
  cache = CacheConfig{};
  samples = 0;
  unreadable_engine_samples = 0;
  engine_count_ = 0;
}

ModelLoad& VllmMetrics::engine_slot(size_t engine) {
  if (engines_.size() <= engine) engines_.resize(engine + 1);
  // Slots between the last named engine and this one start empty (reused capacity).
  for (; engine_count_ <= engine; ++engine_count_) engines_[engine_count_] = ModelLoad{};
  return engines_[engine];
}

size_t VllmMetrics::engines_named() const {
  size_t n = 0;
  for (size_t i = 0; i < engine_count_; ++i) n += has_load(engines_[i]) ? 1 : 0;
  return n;
}

ModelLoad* VllmMetrics::model_slot(std::string_view name, size_t max_models) {
  // A server has one model (plus adapters, which vLLM does not label gauges
  // with): a linear scan beats any map here, and max_models bounds it.
  for (size_t i = 0; i < model_count_; ++i)
    if (models_[i].model_name == name) return &models_[i];
  if (model_count_ >= max_models) return nullptr;
  if (model_count_ == models_.size()) models_.emplace_back();
  ModelLoad& slot = models_[model_count_++];
  std::string name_storage = std::move(slot.model_name);
  slot = ModelLoad{};
  slot.model_name = std::move(name_storage);
  slot.model_name.assign(name);
  return &slot;
}

}  // namespace ringgate::metrics
