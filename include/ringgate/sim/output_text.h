// What a simulated model says: --mode echo repeats the prompt token by token,
// --mode random picks words. Decides the finish reason too, and applies
// `stop` strings as vLLM does (the text ends before the stop string, the
// finish reason is "stop" and stop_reason names the string).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ringgate/sim/options.h"
#include "ringgate/sim/sim_metrics.h"
#include "ringgate/sim/tokenizer.h"

namespace ringgate::sim {

inline constexpr uint32_t kDefaultMaxTokens = 16;  // vLLM's default for completions
// Random mode picks each word (and whether to stop) from the seed and this many
// trailing bytes of the text so far: the last 8 sim tokens.
inline constexpr size_t kContextBytes = 8 * kBytesPerToken;
// Without a client's max_tokens, random mode ends its output (finish "stop")
// at a step whose context hash is 0 modulo this, after at least one word.
inline constexpr uint64_t kStopOneIn = 16;

struct PlannedOutput {
  // Views into the echo text or static words; after a stop string the last
  // ones are cut short (possibly empty): each is what that token's event shows.
  std::vector<std::string_view> tokens;
  FinishReason finish = FinishReason::length;
  std::string stop_reason;  // the stop string that ended it; empty: null
};

struct OutputSpec {
  OutputMode mode = OutputMode::random;
  std::string_view echo_text;
  // Random mode: the text the output continues (the prompt as the sim renders
  // it) and the seed. Each step hashes the seed with the last kContextBytes of
  // context + output so far, so a continuation (context = prompt + the output
  // a first run gave) yields what the unbroken run would have.
  std::string_view context;
  uint64_t seed = 0;
  uint32_t limit = kDefaultMaxTokens;  // max tokens to generate
  bool limit_given = false;  // the client set max_tokens: random mode then fills it
  bool ignore_eos = false;
  const std::vector<std::string>* stop = nullptr;
  bool include_stop_str_in_output = false;
};

// Echo stops ("stop") when the text runs out before the limit, unless
// ignore_eos, which repeats it up to the limit. Random gives exactly `limit`
// words when the client set it (or ignore_eos), else words until a step's
// context hash says stop ("stop") or the limit is reached ("length").
PlannedOutput plan_output(const OutputSpec& spec);

// Random mode's words: each exactly one sim token (4 bytes) of plain ASCII that
// needs no JSON escaping, so count_tokens(prompt + output) ==
// count_tokens(prompt) + output tokens whatever the prompt's length.
std::span<const std::string_view> random_words();

// The seed of choice k of a request seeded `seed` (k > 0 mixes k in, so n > 1 choices differ).
uint64_t choice_seed(uint64_t seed, uint32_t choice);

}  // namespace ringgate::sim
