#pragma once
// Hedged prefill (issue 35, llm-d-router #646): a streamed request with a TTFT objective
// whose pick is predicted to meet it with little to spare goes to the two best servers
// at once; the first whose answer streams an event (its first token) is kept, the other
// cancelled at once, and nothing of the loser reaches the client. This file is the
// policy, from plain data (when to hedge, what it may cost, when a race is decided);
// the Exchange carries it out with its second Attempt.
#include <algorithm>
#include <cstddef>
#include <string_view>

#include "ringgate/proxy/proxy_options.h"

namespace ringgate::proxy {

// Whether a request whose first pick has `ttft_headroom` (the TTFT objective minus the
// predicted TTFT, over the objective; +inf without an objective or a prediction) is
// worth a second attempt. Budget aside (HedgeBudget).
inline bool wants_hedge(const HedgingOptions& options, bool streaming, double ttft_headroom) {
  return options.enabled && streaming && ttft_headroom < options.headroom;
}

// The extra load hedges may add (hedging.maxExtraLoad): each request a worker dispatches
// earns that fraction of a hedge, each hedge spends a whole one, and at most kSaved are
// kept for a burst. So a worker's hedges never exceed maxExtraLoad × its requests.
class HedgeBudget {
 public:
  static constexpr double kSaved = 4;
  void earn(double max_extra_load) { credit_ = std::min(credit_ + max_extra_load, kSaved); }
  bool can_spend() const { return credit_ >= 1; }
  void spend() { credit_ -= 1; }

 private:
  double credit_ = 0;
};

// A racing attempt's answer, held until the race is decided, decides it once it holds a
// whole event (the blank line that ends an SSE event: a token, or vLLM's role chunk that
// comes with the first one), or more than kMaxHeldBytes without one (an answer that is not
// a stream of events is kept as it is).
inline constexpr size_t kMaxHeldBytes = 64 * 1024;
inline bool race_decided(std::string_view held) {
  return held.size() > kMaxHeldBytes || held.find("\n\n") != std::string_view::npos ||
         held.find("\r\n\r\n") != std::string_view::npos;
}

}  // namespace ringgate::proxy
