#include "ringgate/sim/data_parallel.h"

#include <limits>

namespace ringgate::sim {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

}  // namespace

RankHeader parse_rank_header(std::string_view v, uint32_t size) {
  RankHeader out;
  while (!v.empty() && is_space(v.front())) v.remove_prefix(1);
  while (!v.empty() && is_space(v.back())) v.remove_suffix(1);
  bool negative = false;
  if (!v.empty() && (v.front() == '+' || v.front() == '-')) {
    negative = v.front() == '-';
    v.remove_prefix(1);
  }
  // Digits, an underscore only between two digits (Python's int literal rule).
  std::string digits;
  for (size_t i = 0; i < v.size(); ++i) {
    const char c = v[i];
    if (c >= '0' && c <= '9') {
      digits += c;
    } else if (c == '_' && i > 0 && i + 1 < v.size() && v[i - 1] != '_' && v[i + 1] >= '0' && v[i + 1] <= '9') {
      continue;
    } else {
      return out;  // int() raises ValueError: no rank
    }
  }
  if (digits.empty()) return out;
  size_t first = digits.find_first_not_of('0');
  digits = first == std::string::npos ? "0" : digits.substr(first);  // str(int(...)): no leading zeros
  const bool zero = digits == "0";
  // Ranks fit in 2 digits (size <= 64); anything longer is out of range whatever its value.
  uint64_t value = 0;
  if (digits.size() <= 9)
    for (char c : digits) value = value * 10 + uint64_t(c - '0');
  if ((!negative || zero) && digits.size() <= 9 && value < size) {
    out.kind = RankHeader::Kind::rank;
    out.rank = uint32_t(value);
    return out;
  }
  out.kind = RankHeader::Kind::out_of_range;
  // vLLM repeats the number in full; a header is at most 64 KiB, so is the message.
  out.message = "data_parallel_rank " + std::string(negative && !zero ? "-" : "") + digits + " is out of range [0, " +
                std::to_string(size) + ").";
  return out;
}

DpBalancer::DpBalancer(uint32_t engines, uint64_t stats_interval_ns)
    : counts_(engines), interval_ns_(stats_interval_ns) {}

std::vector<uint32_t> DpBalancer::pick(uint64_t now_ns, std::span<const EngineLoad> live, uint32_t count) {
  if (!fresh_ || interval_ns_ == 0 || now_ns - refreshed_ns_ >= interval_ns_) {
    for (size_t i = 0; i < counts_.size() && i < live.size(); ++i) counts_[i] = live[i];
    refreshed_ns_ = now_ns;
    fresh_ = true;
  }
  std::vector<uint32_t> out;
  out.reserve(count);
  for (uint32_t k = 0; k < count; ++k) {
    uint64_t best = std::numeric_limits<uint64_t>::max();
    uint32_t chosen = 0;
    for (uint32_t i = 0; i < counts_.size(); ++i) {
      const uint64_t score = uint64_t(counts_[i].waiting) * 4 + counts_[i].running;
      if (score < best) {
        best = score;
        chosen = i;
      }
    }
    if (!counts_.empty()) ++counts_[chosen].waiting;  // current_counts[eng_index][0] += client_count
    out.push_back(chosen);
  }
  return out;
}

std::string data_parallel_engine_id(std::string_view engine_id, uint32_t rank, uint32_t size) {
  if (size <= 1) return std::string(engine_id);
  return std::string(engine_id) + "_dp" + std::to_string(rank);
}

}  // namespace ringgate::sim
