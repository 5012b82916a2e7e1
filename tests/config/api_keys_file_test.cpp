// The API keys file (auth.apiKeysFile): what loads, and every bound and mistake refused
// with the line it is on.
#include "ringgate/config/api_keys_file.h"

#include <doctest/doctest.h>

#include <string>

using namespace ringgate::config;

namespace {

// sha256("sk-test-a"), sha256("sk-test-b")
constexpr const char* kHashA = "11acf871821b63e857cde48174bb225b6988f2fbee8a346f3a15ed63ac0cb4c9";
constexpr const char* kHashB = "a8a5909aae3e64b613cfcc03bde0189013d4c2268f170d58c3c0c4cfb600e1a3";

std::string file(const std::string& keys) { return "apiVersion: ringgate.io/v1\nkind: ApiKeys\nkeys:\n" + keys; }

std::string all_errors(const ApiKeysResult& r) {
  std::string out;
  for (const ConfigError& e : r.errors) out += format_error(e) + "\n";
  return out;
}

}  // namespace

TEST_CASE("a key with every field loads; models, budgets and admin are optional") {
  ApiKeysResult r = load_api_keys_text(file(std::string("- sha256: ") + kHashA +
                                            "\n  tenant: team-a\n  models: [\"llama-*\", qwen2]\n"
                                            "  tokensPerMinute: 1000\n  requestsPerMinute: 10\n  admin: true\n"
                                            "- {sha256: " + kHashB + ", tenant: team-b}\n"));
  REQUIRE_MESSAGE(r.ok(), all_errors(r));
  REQUIRE(r.keys.size() == 2);
  CHECK(r.keys[0].tenant == "team-a");
  CHECK(r.keys[0].models == std::vector<std::string>{"llama-*", "qwen2"});
  CHECK(r.keys[0].tokens_per_minute == 1000);
  CHECK(r.keys[0].requests_per_minute == 10);
  CHECK(r.keys[0].admin);
  CHECK(r.keys[0].sha256[0] == 0x11);
  CHECK(r.keys[0].sha256[31] == 0xc9);
  CHECK(r.keys[1].models.empty());
  CHECK_FALSE(r.keys[1].admin);
  CHECK(r.keys[1].tokens_per_minute == 0);
}

TEST_CASE("an empty list of keys loads (nobody gets in)") {
  ApiKeysResult r = load_api_keys_text(file("[]\n"));
  CHECK_MESSAGE(r.ok(), all_errors(r));
  CHECK(r.keys.empty());
}

TEST_CASE("mistakes are errors with their line, and no key of a wrong file is kept") {
  struct Case {
    std::string text, expected;
  } cases[] = {
      {"", "the file is empty"},
      {"kind: ApiKeys\nkeys: []\n", "apiVersion: required"},
      {"apiVersion: ringgate.io/v1\nkind: Gateway\nkeys: []\n", "must be ApiKeys"},
      {"apiVersion: ringgate.io/v1\nkind: ApiKeys\n", "keys: required"},
      {file("- tenant: a\n"), "keys[0].sha256: required"},
      {file("- {sha256: abc, tenant: a}\n"), "64 hex digits"},
      {file(std::string("- {sha256: ") + std::string(63, 'a') + "g, tenant: a}\n"), "64 hex digits"},
      {file(std::string("- {sha256: ") + kHashA + "}\n"), "keys[0].tenant: required"},
      {file(std::string("- {sha256: ") + kHashA + ", tenant: \"\"}\n"), "keys[0].tenant"},
      {file(std::string("- {sha256: ") + kHashA + ", tenant: " + std::string(129, 't') + "}\n"), "at most 128 bytes"},
      {file(std::string("- {sha256: ") + kHashA + ", tenant: \"a\\x01\"}\n"), "no control bytes"},
      {file(std::string("- {sha256: ") + kHashA + ", tenant: a, models: []}\n"), "at least one model glob"},
      {file(std::string("- {sha256: ") + kHashA + ", tenant: a, models: [" + std::string(257, 'm') + "]}\n"),
       "at most 256 bytes"},
      {file(std::string("- {sha256: ") + kHashA + ", tenant: a, requestsPerMinute: -1}\n"), "requestsPerMinute"},
      {file(std::string("- {sha256: ") + kHashA + ", tenant: a, key: sk-plain}\n"), "key"},
      {file(std::string("- {sha256: ") + kHashA + ", tenant: a}\n- {sha256: " + kHashA + ", tenant: b}\n"),
       "the same key as keys[0]"},
      {"{{{", "invalid YAML"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    ApiKeysResult r = load_api_keys_text(c.text, "keys.yaml");
    CHECK_FALSE(r.ok());
    CHECK(r.keys.empty());
    CHECK_MESSAGE(all_errors(r).find(c.expected) != std::string::npos, all_errors(r));
  }
}

TEST_CASE("bounds: file size, key count, globs per key") {
  ApiKeysLimits limits;
  limits.max_keys = 2;
  limits.max_models_per_key = 2;
  limits.max_file_bytes = 4096;
  std::string three;
  for (const char* h : {kHashA, kHashB, kHashA}) three += std::string("- {sha256: ") + h + ", tenant: a}\n";
  CHECK(all_errors(load_api_keys_text(file(three), "k", limits)).find("at most 2 keys") != std::string::npos);
  CHECK(all_errors(load_api_keys_text(file(std::string("- {sha256: ") + kHashA + ", tenant: a, models: [a, b, c]}\n"),
                                      "k", limits))
            .find("at most 2 globs") != std::string::npos);
  CHECK(all_errors(load_api_keys_text(file("# " + std::string(5000, 'x') + "\n[]\n"), "k", limits))
            .find("larger than 4096 bytes") != std::string::npos);
}

TEST_CASE("a file that cannot be read says why") {
  ApiKeysResult r = load_api_keys_file("/nonexistent/keys.yaml");
  REQUIRE_FALSE(r.ok());
  CHECK(all_errors(r).find("cannot open") != std::string::npos);
}

TEST_CASE("the example keys file loads") {
  ApiKeysResult r = load_api_keys_file(RINGGATE_SOURCE_DIR "/deploy/examples/api-keys/keys.yaml");
  REQUIRE_MESSAGE(r.ok(), all_errors(r));
  CHECK(r.keys.size() == 2);
}
