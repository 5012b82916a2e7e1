#include "ringgate/sim/output_text.h"

#include <algorithm>

#include "ringgate/sim/tokenizer.h"

namespace ringgate::sim {
namespace {

constexpr std::string_view kWords[] = {
    " the", " a",    " model", " token", " cache", " prefix", " gate", " ring",  " fast", " block",
    " of",  " and",  " to",    " is",    " in",    " that",   " it",   " with",  " as",   " for",
    " on",  " was",  " be",    " by",    " this",  " are",    " from", " at",    " or",   " an",
    " we",  " can",  " will",  " not",   " all",   " more",   " one",  " time",  " new",  " data",
    " KV",  " GPU",  " batch", " route", " pod",   " load",   " hit",  " queue", " seq",  ".",
};
constexpr size_t kWordCount = sizeof kWords / sizeof kWords[0];

uint64_t next_random(uint64_t& state) {  // splitmix64
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Cuts the output at the earliest stop string: tokens after the one that
// completes it are dropped, text from the stop string on (or after it, with
// include_stop_str_in_output) is removed.
void apply_stop(PlannedOutput& out, const OutputSpec& spec) {
  if (!spec.stop || spec.stop->empty()) return;
  std::string text;
  for (std::string_view t : out.tokens) text += t;
  size_t best = std::string::npos;
  const std::string* which = nullptr;
  for (const std::string& s : *spec.stop) {
    size_t at = text.find(s);
    if (at != std::string::npos && (best == std::string::npos || at < best)) {
      best = at;
      which = &s;
    }
  }
  if (!which) return;
  const size_t stop_end = best + which->size();
  const size_t cut = spec.include_stop_str_in_output ? stop_end : best;
  size_t offset = 0;
  size_t kept = 0;
  for (; kept < out.tokens.size(); ++kept) {
    std::string_view& t = out.tokens[kept];
    const size_t begin = offset;
    offset += t.size();
    t = begin >= cut ? t.substr(0, 0) : t.substr(0, std::min(t.size(), cut - begin));
    if (offset >= stop_end) {
      ++kept;
      break;
    }
  }
  out.tokens.resize(kept);
  out.finish = FinishReason::stop;
  out.stop_reason = *which;
}

}  // namespace

PlannedOutput plan_output(const OutputSpec& spec, uint64_t random) {
  PlannedOutput out;
  const uint32_t limit = std::max<uint32_t>(spec.limit, 1);
  if (spec.mode == OutputMode::echo && !spec.echo_text.empty()) {
    out.tokens = split_tokens(spec.echo_text, limit);
    if (spec.ignore_eos) {
      for (size_t i = 0; out.tokens.size() < limit; ++i) out.tokens.push_back(out.tokens[i]);
    }
    out.finish = out.tokens.size() < limit ? FinishReason::stop : FinishReason::length;
  } else {
    uint32_t count = limit;
    if (!spec.limit_given && !spec.ignore_eos)
      count = 1 + uint32_t(next_random(random) % std::min(limit, kDefaultMaxTokens));
    out.tokens.reserve(count);
    for (uint32_t i = 0; i < count; ++i) out.tokens.push_back(kWords[next_random(random) % kWordCount]);
    out.finish = count < limit ? FinishReason::stop : FinishReason::length;
  }
  apply_stop(out, spec);
  return out;
}

}  // namespace ringgate::sim
