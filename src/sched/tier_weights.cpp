#include "ringgate/sched/tier_weights.h"

#include <cmath>

namespace ringgate::sched {
namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; }

bool same_name(std::string_view lowered, std::string_view other) {
  if (lowered.size() != other.size()) return false;
  for (size_t i = 0; i < other.size(); ++i)
    if (lowered[i] != lower(other[i])) return false;
  return true;
}

}  // namespace

int TierWeights::slot(const std::optional<std::string>& medium) const {
  const std::string_view name = medium ? std::string_view(*medium) : std::string_view("gpu");
  for (size_t i = 0; i < tiers.size() && i < kMaxTiers; ++i)
    if (same_name(tiers[i].name, name)) return int(i);
  return -1;
}

std::string TierWeights::set(std::string_view name, double weight) {
  if (name.empty() || name.size() > kMaxNameBytes) return "a tier name has 1 to 64 characters";
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
          c == '.'))
      return "a tier name is letters, digits, '_', '-' or '.'";
  if (!std::isfinite(weight) || weight < 0 || weight > 1) return "must be a number from 0 to 1";
  std::string lowered(name);
  for (char& c : lowered) c = lower(c);
  for (TierWeight& tier : tiers)
    if (tier.name == lowered) {
      tier.weight = weight;
      return "";
    }
  if (tiers.size() >= kMaxTiers) return "at most 8 tiers";
  tiers.push_back({std::move(lowered), weight});
  return "";
}

std::array<float, TierWeights::kMaxTiers> TierWeights::by_slot() const {
  std::array<float, kMaxTiers> out{};
  for (size_t i = 0; i < tiers.size() && i < kMaxTiers; ++i) out[i] = float(tiers[i].weight);
  return out;
}

}  // namespace ringgate::sched
