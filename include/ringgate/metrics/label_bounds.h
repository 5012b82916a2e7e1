#pragma once
// The metric label values that a client or a model server chooses (fairness ids, tenants,
// model and adapter names), bounded for the whole process: each family admits at most
// `metrics.maxLabelValues` distinct values, first come, and only a request that was
// admitted may add one. Every other value is counted under "other" (and in
// ringgate_metric_label_overflow_total{family}), so no client can mint series: issue 72
// saw /metrics grow from 48 KB to 13 MB from 400 requests for an unknown model, each with
// a fresh x-gateway-inference-fairness-id.
//
// Shared by every worker. Reads take no lock (a slot's value is written before its hash
// is published with release); an insertion takes the set's mutex, at most `limit` times
// for the life of the process plus the races to fill the last slot.
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

namespace ringgate::metrics {

enum class LabelFamily : uint8_t { FairnessId, Tenant, ModelName };
// The `family` label of ringgate_metric_label_overflow_total; model_name covers
// target_model_name and LoRA adapters (one set: a target is a model name).
inline constexpr std::array<std::string_view, 3> kLabelFamilyNames = {"fairness_id", "tenant", "model_name"};
inline constexpr size_t kLabelFamilyCount = kLabelFamilyNames.size();

// One family's admitted values.
class LabelValueSet {
 public:
  static constexpr size_t kMaxLimit = 1024;  // metrics.maxLabelValues' range
  explicit LabelValueSet(size_t limit) : limit_(limit > kMaxLimit ? kMaxLimit : limit) {}
  LabelValueSet(const LabelValueSet&) = delete;
  LabelValueSet& operator=(const LabelValueSet&) = delete;

  // Whether `value` is a label value of its own: it is held, or `may_add` and there is
  // room (then it is held from now on). False: the caller counts it as "other".
  bool admit(std::string_view value, bool may_add);
  size_t size() const { return count_.load(std::memory_order_acquire); }
  size_t limit() const { return limit_; }

 private:
  static constexpr size_t kSlots = 2 * kMaxLimit;  // open addressing, at most half full
  struct Slot {
    std::atomic<uint64_t> hash{0};  // 0 = empty; published after `value` is written
    std::string value;
  };
  bool holds(std::string_view value, uint64_t hash, size_t& end) const;

  const size_t limit_;
  std::atomic<size_t> count_{0};
  std::mutex insert_;
  std::array<Slot, kSlots> slots_;
};

// Every family's set: what workers (gateway and EPP mode alike) count labels through.
struct LabelBounds {
  explicit LabelBounds(size_t limit) : fairness_ids(limit), tenants(limit), model_names(limit) {}
  LabelValueSet& of(LabelFamily family) {
    switch (family) {
      case LabelFamily::FairnessId:
        return fairness_ids;
      case LabelFamily::Tenant:
        return tenants;
      case LabelFamily::ModelName:
        break;
    }
    return model_names;
  }
  LabelValueSet fairness_ids, tenants, model_names;
};

}  // namespace ringgate::metrics
