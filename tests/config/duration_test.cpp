#include <doctest/doctest.h>

#include "ringgate/config/duration.h"

using namespace ringgate::config;
using namespace std::chrono_literals;

namespace {
std::chrono::nanoseconds parsed(std::string_view text) {
  auto result = parse_duration(text);
  REQUIRE_MESSAGE(result.value.has_value(), (std::string(text) + ": " + result.error));
  return *result.value;
}
std::string error_of(std::string_view text) {
  auto result = parse_duration(text);
  CHECK_FALSE(result.value.has_value());
  return result.error;
}
}  // namespace

TEST_CASE("Go-style durations parse") {
  CHECK(parsed("0") == 0ns);
  CHECK(parsed("0s") == 0ns);
  CHECK(parsed("500ms") == 500ms);
  CHECK(parsed("5s") == 5s);
  CHECK(parsed("1m") == 1min);
  CHECK(parsed("1h") == 1h);
  CHECK(parsed("1m30s") == 90s);
  CHECK(parsed("1.5s") == 1500ms);
  CHECK(parsed(".5s") == 500ms);
  CHECK(parsed("2h45m3s") == 2h + 45min + 3s);
  CHECK(parsed("100us") == 100us);
  CHECK(parsed("100\xC2\xB5s") == 100us);
  CHECK(parsed("7ns") == 7ns);
  CHECK(parsed("+3s") == 3s);
}

TEST_CASE("bad durations say why") {
  CHECK(error_of("").find("empty") != std::string::npos);
  CHECK(error_of("5").find("missing unit") != std::string::npos);
  CHECK(error_of("50").find("missing unit") != std::string::npos);
  CHECK(error_of("5x").find("unknown unit") != std::string::npos);
  CHECK(error_of("-5s").find("negative") != std::string::npos);
  CHECK(error_of("s").find("invalid") != std::string::npos);
  CHECK(error_of("5 s").find("unknown unit") != std::string::npos);
  CHECK(error_of("1.s5").find("missing unit") != std::string::npos);  // "1.s" then a bare "5"
  CHECK(error_of("99999999999999999999h").find("too large") != std::string::npos);
  CHECK(error_of("3000000h").find("too large") != std::string::npos);
}

TEST_CASE("durations format the short Go way") {
  CHECK(format_duration(0ns) == "0s");
  CHECK(format_duration(50ms) == "50ms");
  CHECK(format_duration(1500ms) == "1.5s");
  CHECK(format_duration(90s) == "1m30s");
  CHECK(format_duration(1h) == "1h");
  CHECK(format_duration(2min) == "2m");
  CHECK(format_duration(1h + 5s) == "1h0m5s");
  CHECK(format_duration(250us) == "250us");
  for (std::chrono::nanoseconds d :
       {std::chrono::nanoseconds(1ns), std::chrono::nanoseconds(999ns), std::chrono::nanoseconds(1ms),
        std::chrono::nanoseconds(4s), std::chrono::nanoseconds(61s), std::chrono::nanoseconds(3h + 1min)})
    CHECK(parsed(format_duration(d)) == d);
}
