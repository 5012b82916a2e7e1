#include "ringgate/sched/session_keys.h"

namespace ringgate::sched {

std::optional<SessionSource> session_source_named(std::string_view name) {
  for (size_t i = 1; i < std::size(kSessionSourceNames); ++i)
    if (name == kSessionSourceNames[i]) return SessionSource(i);
  return std::nullopt;
}

SessionChoice choose_session(const SessionKeyOrder& order, const openai::RoutingKeys& keys, std::string_view header) {
  auto body = [&](openai::RoutingKey key) -> std::string_view {
    const openai::RoutingKeyValue& v = keys[key];
    return v.usable() ? std::string_view(v.value) : std::string_view();
  };
  for (size_t i = 0; i < order.count && i < order.keys.size(); ++i) {
    std::string_view id;
    switch (order.keys[i]) {
      case SessionSource::PromptCacheKey: id = body(openai::RoutingKey::PromptCacheKey); break;
      case SessionSource::SafetyIdentifier: id = body(openai::RoutingKey::SafetyIdentifier); break;
      case SessionSource::User: id = body(openai::RoutingKey::User); break;
      case SessionSource::Header:
        // A header value is a client's too: the same bound as the body's keys.
        if (header.size() <= openai::kMaxRoutingKeyBytes) id = header;
        break;
      case SessionSource::None: break;
    }
    if (!id.empty()) return {id, order.keys[i]};
  }
  return {};
}

}  // namespace ringgate::sched
