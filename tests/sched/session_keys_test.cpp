// Which key pins a conversation (sched/session_keys.h): the first usable one of the
// configured order; unusable or switched-off keys are as if absent; the header is bounded
// like the body's keys.
#include "ringgate/sched/session_keys.h"

#include <doctest/doctest.h>

#include <string>

using namespace ringgate;
using sched::SessionSource;

namespace {

openai::RoutingKeys keys(std::string cache, std::string safety, std::string user) {
  openai::RoutingKeys k;
  auto set = [&](openai::RoutingKey key, const std::string& v) {
    if (!v.empty()) k[key].append(v.data(), v.size());
  };
  set(openai::RoutingKey::PromptCacheKey, cache);
  set(openai::RoutingKey::SafetyIdentifier, safety);
  set(openai::RoutingKey::User, user);
  return k;
}

sched::SessionKeyOrder order(std::initializer_list<SessionSource> sources) {
  sched::SessionKeyOrder o;
  o.count = 0;
  for (SessionSource s : sources) o.keys[o.count++] = s;
  return o;
}

}  // namespace

TEST_CASE("session keys: prompt_cache_key, then safety_identifier, then user, then the header, by default") {
  const sched::SessionKeyOrder def;
  // The choice views the keys: each set lives as long as its checks.
  openai::RoutingKeys k1 = keys("conv-1", "person-1", "user-1"), k2 = keys("", "person-1", "user-1"),
                      k3 = keys("", "", "user-1"), k4 = keys("", "", "");
  auto pick = [&](const openai::RoutingKeys& k, std::string_view header) { return sched::choose_session(def, k, header); };
  sched::SessionChoice c = pick(k1, "hdr");
  CHECK(c.id == "conv-1");
  CHECK(c.source == SessionSource::PromptCacheKey);
  c = pick(k2, "hdr");
  CHECK(c.id == "person-1");
  CHECK(c.source == SessionSource::SafetyIdentifier);
  c = pick(k3, "hdr");
  CHECK(c.id == "user-1");
  CHECK(c.source == SessionSource::User);
  c = pick(k4, "hdr");
  CHECK(c.id == "hdr");
  CHECK(c.source == SessionSource::Header);
  c = pick(k4, "");
  CHECK(c.id.empty());
  CHECK(c.source == SessionSource::None);
}

TEST_CASE("session keys: the order is the config's, and a key left out pins nothing") {
  const openai::RoutingKeys all = keys("conv-1", "person-1", "user-1");
  CHECK(sched::choose_session(order({SessionSource::Header, SessionSource::User}), all, "hdr").source ==
        SessionSource::Header);
  CHECK(sched::choose_session(order({SessionSource::User, SessionSource::Header}), all, "hdr").id == "user-1");
  // prompt_cache_key switched off: the next one in the order.
  CHECK(sched::choose_session(order({SessionSource::SafetyIdentifier}), all, "hdr").id == "person-1");
  CHECK(sched::choose_session(order({SessionSource::PromptCacheKey}), keys("", "p", "u"), "hdr").id.empty());
  // [] = no session affinity at all.
  CHECK(sched::choose_session(order({}), all, "hdr").source == SessionSource::None);
}

TEST_CASE("session keys: a key that is too long or holds control bytes is skipped, as if absent") {
  openai::RoutingKeys k = keys("", "person-1", "");
  const std::string long_key(openai::kMaxRoutingKeyBytes + 1, 'k');
  k[openai::RoutingKey::PromptCacheKey].append(long_key.data(), long_key.size());
  CHECK(sched::choose_session(sched::SessionKeyOrder{}, k, "").id == "person-1");
  openai::RoutingKeys ctl = keys("", "", "user-1");
  ctl[openai::RoutingKey::PromptCacheKey].append("a\x01", 2);
  CHECK(sched::choose_session(sched::SessionKeyOrder{}, ctl, "").id == "user-1");
  // The header: within the same bound.
  const std::string at_bound(openai::kMaxRoutingKeyBytes, 'h'), past(openai::kMaxRoutingKeyBytes + 1, 'h');
  CHECK(sched::choose_session(sched::SessionKeyOrder{}, keys("", "", ""), at_bound).id == at_bound);
  CHECK(sched::choose_session(sched::SessionKeyOrder{}, keys("", "", ""), past).source == SessionSource::None);
  // An empty string is no key: the next one.
  openai::RoutingKeys empty = keys("", "", "user-1");
  empty[openai::RoutingKey::PromptCacheKey].present = true;
  CHECK(sched::choose_session(sched::SessionKeyOrder{}, empty, "").id == "user-1");
}

TEST_CASE("session keys: names as scheduler.sessionKeys spells them") {
  CHECK(sched::session_source_named("prompt_cache_key") == SessionSource::PromptCacheKey);
  CHECK(sched::session_source_named("safety_identifier") == SessionSource::SafetyIdentifier);
  CHECK(sched::session_source_named("user") == SessionSource::User);
  CHECK(sched::session_source_named("header") == SessionSource::Header);
  CHECK_FALSE(sched::session_source_named("none"));
  CHECK_FALSE(sched::session_source_named("promptCacheKey"));
  CHECK_FALSE(sched::session_source_named(""));
}
