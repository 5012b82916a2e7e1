#include "ringgate/sim/output_text.h"

#include <algorithm>

#include <xxhash.h>

namespace ringgate::sim {
namespace {

// One sim token each (4 bytes), plain ASCII with nothing JSON must escape.
constexpr std::string_view kWords[] = {
    " the", " and", " for", " are", " was", " not", " but", " can", " one", " all", " new", " how",
    " gpu", " pod", " kv ", " hit", " key", " map", " row", " set", " log", " run", " job", " net",
    " api", " seq", " lru", " sse", " cpu", " ram", " top", " end", " use", " way", " get", " put",
    " fit", " few", " has", " its", " now", " own", " see", " two", " why", " yes", " ok.", " so,",
    " of ", " to ", " is ", " in ", " it ", " as ", " on ", " by ", " at ", " or ", " an ", " we ",
    " be ", " if ", " no.", " up ",
};
constexpr size_t kWordCount = sizeof kWords / sizeof kWords[0];

uint64_t mix(uint64_t z) {  // splitmix64's finaliser
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Random mode: every step hashes the seed with the last kContextBytes of the
// text so far; the hash says whether to stop there and which word comes next.
void plan_random(PlannedOutput& out, const OutputSpec& spec, uint32_t limit) {
  const bool may_stop = !spec.limit_given && !spec.ignore_eos;
  std::string context(spec.context.substr(spec.context.size() - std::min(spec.context.size(), kContextBytes)));
  out.tokens.reserve(may_stop ? std::min<uint32_t>(limit, 4 * kStopOneIn) : limit);
  out.finish = FinishReason::length;
  while (out.tokens.size() < limit) {
    const uint64_t h = XXH3_64bits_withSeed(context.data(), context.size(), spec.seed);
    if (may_stop && !out.tokens.empty() && h % kStopOneIn == 0) {
      out.finish = FinishReason::stop;
      break;
    }
    const std::string_view word = kWords[(h >> 8) % kWordCount];
    out.tokens.push_back(word);
    context += word;
    if (context.size() > kContextBytes) context.erase(0, context.size() - kContextBytes);
  }
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

PlannedOutput plan_output(const OutputSpec& spec) {
  PlannedOutput out;
  const uint32_t limit = std::max<uint32_t>(spec.limit, 1);
  if (spec.mode == OutputMode::echo && !spec.echo_text.empty()) {
    out.tokens = split_tokens(spec.echo_text, limit);
    if (spec.ignore_eos) {
      for (size_t i = 0; out.tokens.size() < limit; ++i) out.tokens.push_back(out.tokens[i]);
    }
    out.finish = out.tokens.size() < limit ? FinishReason::stop : FinishReason::length;
  } else {
    plan_random(out, spec, limit);
  }
  apply_stop(out, spec);
  return out;
}

std::span<const std::string_view> random_words() { return kWords; }

uint64_t choice_seed(uint64_t seed, uint32_t choice) {
  return choice == 0 ? seed : mix(seed + 0x9E3779B97F4A7C15ull * choice);
}

}  // namespace ringgate::sim
