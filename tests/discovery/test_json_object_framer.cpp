// Watch stream framing: objects split anywhere, several per feed.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "ringgate/discovery/json_object_framer.h"

using namespace ringgate::discovery;

namespace {

std::vector<std::string> frame_in_pieces(const std::string& stream, std::size_t piece) {
  JsonObjectFramer framer;
  std::vector<std::string> objects;
  for (std::size_t i = 0; i < stream.size(); i += piece) {
    auto fed = framer.feed(std::string_view(stream).substr(i, piece), [&](std::string_view o) {
      objects.emplace_back(o);
      return true;
    });
    REQUIRE(fed.ok());
  }
  CHECK(framer.idle());
  return objects;
}

}  // namespace

TEST_CASE("newline-delimited objects split at every possible byte") {
  const std::string stream =
      "{\"type\":\"ADDED\",\"object\":{\"a\":[1,{\"b\":\"}{\\\"\"}]}}\n"
      "{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"7\"}}}\n";
  for (std::size_t piece = 1; piece <= stream.size(); ++piece) {
    auto objects = frame_in_pieces(stream, piece);
    REQUIRE(objects.size() == 2);
    CHECK(objects[0] == "{\"type\":\"ADDED\",\"object\":{\"a\":[1,{\"b\":\"}{\\\"\"}]}}");
    CHECK(objects[1].find("BOOKMARK") != std::string::npos);
  }
}

TEST_CASE("objects without newlines between them are framed too") {
  auto objects = frame_in_pieces("{\"a\":1}{\"b\":2} \r\n\t{\"c\":3}", 4);
  CHECK(objects == std::vector<std::string>{"{\"a\":1}", "{\"b\":2}", "{\"c\":3}"});
}

TEST_CASE("junk between objects and oversized objects are errors") {
  JsonObjectFramer framer;
  auto ignore = [](std::string_view) { return true; };
  CHECK_FALSE(framer.feed("[1,2]", ignore).ok());
  framer.reset();
  CHECK_FALSE(framer.feed("{\"a\":1}x", ignore).ok());

  JsonObjectFramer small(16);
  CHECK(small.feed("{\"a\":\"0123", ignore).ok());
  CHECK_FALSE(small.feed("456789abcdef\"}", ignore).ok());
}

TEST_CASE("the sink can stop the framing early") {
  JsonObjectFramer framer;
  int seen = 0;
  auto fed = framer.feed("{}{}{}", [&](std::string_view) { return ++seen < 2; });
  CHECK(fed.ok());
  CHECK(seen == 2);
}
