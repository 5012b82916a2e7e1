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
