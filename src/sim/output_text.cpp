#include "ringgate/sim/output_text.h"

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

}  // namespace

PlannedOutput plan_output(OutputMode mode, std::string_view echo_text, const uint32_t* max_tokens, bool ignore_eos,
                          uint64_t random) {
  PlannedOutput out;
  const uint32_t limit = max_tokens ? *max_tokens : kDefaultMaxTokens;
  if (mode == OutputMode::echo && !echo_text.empty()) {
    out.tokens = split_tokens(echo_text, limit);
    if (ignore_eos) {
      for (size_t i = 0; out.tokens.size() < limit; ++i) out.tokens.push_back(out.tokens[i]);
    }
    out.finish = out.tokens.size() < limit ? FinishReason::stop : FinishReason::length;
    return out;
  }
  uint32_t count = limit;
  if (!max_tokens && !ignore_eos) count = 1 + uint32_t(next_random(random) % limit);
  out.tokens.reserve(count);
  for (uint32_t i = 0; i < count; ++i) out.tokens.push_back(kWords[next_random(random) % kWordCount]);
  out.finish = count < limit ? FinishReason::stop : FinishReason::length;
  return out;
}

}  // namespace ringgate::sim
