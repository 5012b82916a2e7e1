// responses: {maxEntries, maxBytes} (issue 72): the Responses API id table's bounds, each
// range-checked at both ends (N accepted, N+1 refused) with the field's path named.

#include <doctest/doctest.h>

#include <string>

#include "ringgate/config/config_loader.h"

using namespace ringgate::config;

namespace {

std::string all_errors(const LoadResult& result) {
  std::string out;
  for (const ConfigError& e : result.errors) out += format_error(e) + "\n";
  return out;
}

LoadResult load(std::string_view body) {
  return load_config_text(
      "apiVersion: ringgate.io/v1\nkind: Gateway\npool: {discovery: {static: [\"127.0.0.1:8000\"]}}\n" +
          std::string(body),
      "t.yaml");
}

}  // namespace

TEST_CASE("responses: absent sets nothing (the table's defaults stand); every field read") {
  LoadResult none = load("workers: 1\n");
  REQUIRE_MESSAGE(none.ok(), all_errors(none));
  CHECK_FALSE(none.config.gateway.file_sets("responses"));
  LoadResult r = load("responses: {maxEntries: 5000, maxBytes: 2Mi}\n");
  REQUIRE_MESSAGE(r.ok(), all_errors(r));
  CHECK(r.config.gateway.responses.max_entries == 5000);
  CHECK(r.config.gateway.responses.max_bytes == 2u << 20);
  CHECK(r.config.gateway.file_sets("responses.maxEntries"));
  CHECK(r.config.gateway.file_sets("responses.maxBytes"));
}

TEST_CASE("responses: each bound accepted at its ends, refused one past them, naming the field") {
  auto accepted = [](std::string_view body) {
    LoadResult r = load(body);
    CHECK_MESSAGE(r.ok(), body, ": ", all_errors(r));
  };
  auto refused = [](std::string_view body, std::string_view path) {
    LoadResult r = load(body);
    CHECK_MESSAGE(!r.ok(), body);
    CHECK_MESSAGE(all_errors(r).find(path) != std::string::npos, all_errors(r));
  };
  accepted("responses: {maxEntries: 1}\n");
  refused("responses: {maxEntries: 0}\n", "responses.maxEntries");
  accepted("responses: {maxEntries: 100000000}\n");
  refused("responses: {maxEntries: 100000001}\n", "responses.maxEntries");
  refused("responses: {maxEntries: -1}\n", "responses.maxEntries");
  refused("responses: {maxEntries: many}\n", "responses.maxEntries");
  accepted("responses: {maxBytes: 1024}\n");
  refused("responses: {maxBytes: 1023}\n", "responses.maxBytes");
  accepted("responses: {maxBytes: 1099511627776}\n");  // 1Ti
  refused("responses: {maxBytes: 1099511627777}\n", "responses.maxBytes");
  refused("responses: {maxBytes: lots}\n", "responses.maxBytes");
  refused("responses: {maxIds: 5}\n", "responses.maxIds");
  refused("responses: 5\n", "responses");
}
