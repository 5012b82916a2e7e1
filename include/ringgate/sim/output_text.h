// What a simulated model says: --mode echo repeats the prompt token by token,
// --mode random picks words. Decides the finish reason too.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "ringgate/sim/options.h"
#include "ringgate/sim/sim_metrics.h"

namespace ringgate::sim {

inline constexpr uint32_t kDefaultMaxTokens = 16;  // vLLM's default for completions

struct PlannedOutput {
  std::vector<std::string_view> tokens;  // views into the echo text or static words
  FinishReason finish = FinishReason::length;
};

// `max_tokens` absent: up to kDefaultMaxTokens. Echo stops ("stop") when the
// text runs out first, unless ignore_eos, which repeats it up to the limit.
// Random gives exactly max_tokens words when the client set it, else a random
// count up to the default, ending with "stop" when short of it.
PlannedOutput plan_output(OutputMode mode, std::string_view echo_text, const uint32_t* max_tokens, bool ignore_eos,
                          uint64_t random);

}  // namespace ringgate::sim
