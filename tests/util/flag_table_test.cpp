#include "ringgate/util/flag_table.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace ringgate::util;

namespace {
constexpr FlagSpec kTable[] = {
    {"--port", "PORT", "port"},
    {"--name", "NAME...", "names", true},
    {"--verbose", "", "a switch"},
    {"--tracing", "", "a Go bool flag", false, true},
};

struct Seen {
  std::vector<std::string> calls;
  std::optional<FlagError> error;
};

Seen run(std::vector<std::string> args, FlagParseRules rules = {}) {
  Seen seen;
  seen.error = parse_flags(
      args, kTable,
      [&](const FlagSpec& f, std::string_view v) -> std::string {
        if (f.name == "--port" && v == "bad") return "not a port";
        seen.calls.push_back(std::string(f.name) + "=" + std::string(v));
        return {};
      },
      rules);
  return seen;
}
}  // namespace

TEST_CASE("values come separated, after '=', or several for a many-valued flag") {
  Seen s = run({"--port", "1", "--port=2", "--name", "a", "b", "--verbose"});
  CHECK_FALSE(s.error);
  CHECK(s.calls == std::vector<std::string>{"--port=1", "--port=2", "--name=a", "--name=b", "--verbose="});
}

TEST_CASE("every error names its kind and flag") {
  CHECK(run({"positional"}).error->kind == FlagErrorKind::NotAFlag);
  CHECK(run({"--nope"}).error->kind == FlagErrorKind::UnknownFlag);
  CHECK(run({"--nope"}).error->flag == "--nope");
  CHECK(run({"--port"}).error->kind == FlagErrorKind::MissingValue);
  CHECK(run({"--verbose=1"}).error->kind == FlagErrorKind::UnexpectedValue);
  Seen bad = run({"--port", "bad"});
  CHECK(bad.error->kind == FlagErrorKind::BadValue);
  CHECK(bad.error->detail == "not a port");
  CHECK(bad.error->value == "bad");
}

TEST_CASE("a value that looks like a flag is taken or refused as the rules say") {
  CHECK_FALSE(run({"--port", "--x"}).error);
  CHECK(run({"--port", "--x"}, FlagParseRules{.value_may_start_with_dashes = false}).error->kind ==
        FlagErrorKind::MissingValue);
}

TEST_CASE("help lists every flag with its value hint") {
  std::string help = flag_help(kTable);
  CHECK(help.find("--port PORT") != std::string::npos);
  CHECK(help.find("--name NAME...") != std::string::npos);
  CHECK(help.find("a switch") != std::string::npos);
}

TEST_CASE("a Go bool flag: bare, after '=', or followed by true/false") {
  Seen s = run({"--tracing", "--tracing=false", "--tracing", "true", "--tracing=yes"});
  CHECK_FALSE(s.error);
  CHECK(s.calls == std::vector<std::string>{"--tracing=", "--tracing=false", "--tracing=true", "--tracing=yes"});
  // Only true/false are taken from the next argument: anything else is not its value.
  CHECK(run({"--tracing", "1"}).error->kind == FlagErrorKind::NotAFlag);
  CHECK(flag_help(kTable).find("--tracing[=true|false]") != std::string::npos);
}

TEST_CASE("single-dash long forms when the rules say so") {
  FlagParseRules go{.single_dash = true};
  Seen s = run({"-port", "1", "-port=2", "-verbose", "-tracing=false"}, go);
  CHECK_FALSE(s.error);
  CHECK(s.calls == std::vector<std::string>{"--port=1", "--port=2", "--verbose=", "--tracing=false"});
  CHECK(run({"-port", "1"}).error->kind == FlagErrorKind::NotAFlag);
  // Errors name the flag as it was written.
  Seen bad = run({"-port=bad"}, go);
  CHECK(bad.error->kind == FlagErrorKind::BadValue);
  CHECK(bad.error->flag == "-port");
  CHECK(run({"-nope"}, go).error->flag == "-nope");
}

TEST_CASE("unknown flags and stray arguments are collected when asked, with the value that follows") {
  std::vector<FlagError> skipped;
  FlagParseRules go{.single_dash = true, .skipped = &skipped};
  Seen s = run({"--nope", "x", "--port", "1", "-also=2", "--bare", "--verbose", "stray", "--last"}, go);
  CHECK_FALSE(s.error);
  CHECK(s.calls == std::vector<std::string>{"--port=1", "--verbose="});
  REQUIRE(skipped.size() == 5);
  CHECK((skipped[0].kind == FlagErrorKind::UnknownFlag && skipped[0].flag == "--nope" && skipped[0].value == "x"));
  CHECK((skipped[1].flag == "-also" && skipped[1].value == "2"));
  CHECK((skipped[2].flag == "--bare" && skipped[2].value.empty()));  // the next one is a flag
  CHECK((skipped[3].kind == FlagErrorKind::NotAFlag && skipped[3].flag == "stray"));
  CHECK((skipped[4].flag == "--last" && skipped[4].value.empty()));
  // Other errors still stop the walk.
  std::vector<FlagError> none;
  CHECK(run({"--port"}, FlagParseRules{.skipped = &none}).error->kind == FlagErrorKind::MissingValue);
  CHECK(none.empty());
}
