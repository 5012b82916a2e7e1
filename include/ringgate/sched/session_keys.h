#pragma once
// Which key pins a request's conversation to one server (session affinity, scheduler.h
// step 4): OpenAI's body fields for it — prompt_cache_key, then safety_identifier (or the
// older user) — and the session header (scheduler.sessionHeader), in a configured order
// (scheduler.sessionKeys), each of which may be left out. The first key the request
// carries, usable (a string within openai::kMaxRoutingKeyBytes and free of control
// bytes), is its session; a key it carries that is not usable is skipped, as if absent.
#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "ringgate/openai/routing_keys.h"

namespace ringgate::sched {

enum class SessionSource : uint8_t { None, PromptCacheKey, SafetyIdentifier, User, Header };
inline constexpr size_t kSessionSourceCount = 4;  // the sources a key can be (None is none)
// The names of scheduler.sessionKeys (and /debug/pick's "session_key"), by SessionSource.
inline constexpr std::string_view kSessionSourceNames[] = {"none", "prompt_cache_key", "safety_identifier", "user",
                                                           "header"};

std::optional<SessionSource> session_source_named(std::string_view name);

struct SessionKeyOrder {
  std::array<SessionSource, kSessionSourceCount> keys{SessionSource::PromptCacheKey, SessionSource::SafetyIdentifier,
                                                      SessionSource::User, SessionSource::Header};
  uint8_t count = kSessionSourceCount;  // 0: no session affinity
  bool empty() const { return count == 0; }
  bool operator==(const SessionKeyOrder&) const = default;
};

struct SessionChoice {
  std::string_view id;  // empty: no session
  SessionSource source = SessionSource::None;
};

// The request's session: its first usable key in `order`. `header`: the session header's
// value (empty: none). The views point into `keys` and `header`.
SessionChoice choose_session(const SessionKeyOrder& order, const openai::RoutingKeys& keys, std::string_view header);

}  // namespace ringgate::sched
