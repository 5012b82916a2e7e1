// What a simulated model says: --mode echo repeats the prompt token by token,
// --mode random picks words. Decides the finish reason too, and applies
// `stop` strings as vLLM does (the text ends before the stop string, the
// finish reason is "stop" and stop_reason names the string).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ringgate/sim/options.h"
#include "ringgate/sim/sim_metrics.h"

namespace ringgate::sim {

inline constexpr uint32_t kDefaultMaxTokens = 16;  // vLLM's default for completions

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
  uint32_t limit = kDefaultMaxTokens;  // max tokens to generate
  bool limit_given = false;  // the client set max_tokens: random mode then fills it
  bool ignore_eos = false;
  const std::vector<std::string>* stop = nullptr;
  bool include_stop_str_in_output = false;
};

// Echo stops ("stop") when the text runs out before the limit, unless
// ignore_eos, which repeats it up to the limit. Random gives exactly `limit`
// words when the client set it, else a random count up to
// min(limit, kDefaultMaxTokens), ending with "stop" when short of the limit.
PlannedOutput plan_output(const OutputSpec& spec, uint64_t random);

}  // namespace ringgate::sim
