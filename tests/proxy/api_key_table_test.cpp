// API keys as the data path uses them: the key a request presents, its lookup by
// SHA-256, and the model globs.
#include "ringgate/proxy/api_key_table.h"

#include <doctest/doctest.h>

#include <string>

#include "ringgate/config/api_keys_file.h"

using namespace ringgate;
using proxy::glob_match;

namespace {

http::Request request_with(std::initializer_list<std::pair<std::string, std::string>> headers) {
  http::Request r;
  for (const auto& [name, value] : headers) r.headers.push_back({name, value});
  return r;
}

proxy::ApiKeyTable table() {
  // sha256("sk-test-a") and sha256("sk-test-b")
  auto loaded = config::load_api_keys_text(
      "apiVersion: ringgate.io/v1\nkind: ApiKeys\nkeys:\n"
      "- {sha256: 11acf871821b63e857cde48174bb225b6988f2fbee8a346f3a15ed63ac0cb4c9, tenant: team-a,"
      "   models: [\"llama-*\"], requestsPerMinute: 5}\n"
      "- {sha256: A8A5909AAE3E64B613CFCC03BDE0189013D4C2268F170D58C3C0C4CFB600E1A3, tenant: team-b, admin: true}\n");
  REQUIRE(loaded.ok());
  return proxy::ApiKeyTable(loaded.keys);
}

}  // namespace

TEST_CASE("glob: * any run, ? one byte, the rest itself, the whole name") {
  CHECK(glob_match("*", ""));
  CHECK(glob_match("*", "anything"));
  CHECK(glob_match("llama-*", "llama-3.1-8b"));
  CHECK_FALSE(glob_match("llama-*", "my-llama-3"));
  CHECK(glob_match("*-8b", "llama-3.1-8b"));
  CHECK(glob_match("qwen2.5-?b", "qwen2.5-7b"));
  CHECK_FALSE(glob_match("qwen2.5-?b", "qwen2.5-72b"));
  CHECK(glob_match("a*b*c", "axxbyyc"));
  CHECK_FALSE(glob_match("a*b*c", "axxbyy"));
  CHECK(glob_match("exact", "exact"));
  CHECK_FALSE(glob_match("exact", "exact2"));
  CHECK_FALSE(glob_match("", "x"));
  // The worst case stays linear-ish: a long run of stars against a long non-match.
  CHECK_FALSE(glob_match(std::string(128, '*') + "b", std::string(4096, 'a')));
}

TEST_CASE("the key a request presents: Bearer (any case), else api-key") {
  CHECK(proxy::presented_api_key(request_with({{"authorization", "Bearer sk-1"}})) == "sk-1");
  CHECK(proxy::presented_api_key(request_with({{"authorization", "bearer   sk-2 "}})) == "sk-2");
  CHECK(proxy::presented_api_key(request_with({{"api-key", "sk-3"}})) == "sk-3");
  CHECK(proxy::presented_api_key(request_with({{"authorization", "Bearer sk-4"}, {"api-key", "sk-5"}})) == "sk-4");
  // Another scheme is presented as it is, so it is refused as a bad key, not a missing one.
  CHECK(proxy::presented_api_key(request_with({{"authorization", "Basic dXNlcjpwYXNz"}})) == "Basic dXNlcjpwYXNz");
  CHECK(proxy::presented_api_key(request_with({{"authorization", "Bearer"}})) == "Bearer");
  CHECK(proxy::presented_api_key(request_with({})).empty());
}

TEST_CASE("keys are found by their SHA-256 (either case of hex in the file), nothing else is") {
  proxy::ApiKeyTable keys = table();
  CHECK(keys.size() == 2);
  CHECK(keys.any_admin());
  const proxy::ApiKey* a = keys.find("sk-test-a");
  REQUIRE(a != nullptr);
  CHECK(a->tenant == "team-a");
  CHECK(a->limits.requests_per_minute == 5);
  CHECK_FALSE(a->admin);
  const proxy::ApiKey* b = keys.find("sk-test-b");
  REQUIRE(b != nullptr);
  CHECK(b->admin);
  CHECK(keys.find("sk-test-c") == nullptr);
  CHECK(keys.find("sk-test-a ") == nullptr);
  CHECK(keys.find("") == nullptr);
  CHECK(keys.find(std::string(proxy::kMaxApiKeyBytes + 1, 'k')) == nullptr);
}

TEST_CASE("a key's models: globs over the name the client asks for; none listed is every model") {
  proxy::ApiKeyTable keys = table();
  const proxy::ApiKey* a = keys.find("sk-test-a");
  CHECK(a->allows_model("llama-3.1-8b"));
  CHECK_FALSE(a->allows_model("qwen2"));
  CHECK_FALSE(a->allows_model(""));
  const proxy::ApiKey* b = keys.find("sk-test-b");
  CHECK(b->all_models());
  CHECK(b->allows_model("anything"));
  CHECK(b->allows_model(""));
}
