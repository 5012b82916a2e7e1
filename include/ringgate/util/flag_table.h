#pragma once
// One command-line flag table for every binary: the table is the help text and the
// list of accepted flags; each binary only says what a flag's value does.
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ringgate::util {

struct FlagSpec {
  std::string_view name;        // "--listen"
  std::string_view value_hint;  // "ADDR:PORT"; empty: a switch that takes no value
  std::string_view help;
  bool many_values = false;     // vLLM's nargs="+": takes values up to the next "--flag"
  // Go's bool flags (value_hint empty): "--flag" alone, or "--flag=true|false"; also
  // "--flag true|false" (the inferencepool chart's v1.1 template writes that). The
  // handler gets "" for the bare switch, else the value.
  bool boolean = false;
};

enum class FlagErrorKind { NotAFlag, UnknownFlag, MissingValue, UnexpectedValue, BadValue };

struct FlagError {
  FlagErrorKind kind = FlagErrorKind::BadValue;
  std::string flag;    // as written, without "=value"
  std::string value;
  std::string detail;  // BadValue: what the handler said was wrong
};

struct FlagParseRules {
  // The gateway passes flags through (`--sim-arg --mode=echo`), the sim follows argparse,
  // which refuses a value that looks like a flag.
  bool value_may_start_with_dashes = true;
  // Go's flag packages: "-name" means "--name" ("-v 2", "-pool-name=x").
  bool single_dash = false;
  // When set, an unknown flag and a stray argument do not stop the walk: each is appended
  // here (NotAFlag / UnknownFlag; an unknown flag's value is the next argument when that
  // is not a flag: "--foo bar" skips both). Other errors still stop it.
  std::vector<FlagError>* skipped = nullptr;
};

// Returns "" when the value was taken, else what is wrong with it.
using FlagHandler = std::function<std::string(const FlagSpec& flag, std::string_view value)>;

// Walks `args` (argv without argv[0]): "--flag value" and "--flag=value". A switch is
// handed an empty value. Stops at the first error.
std::optional<FlagError> parse_flags(std::span<const std::string> args, std::span<const FlagSpec> table,
                                     const FlagHandler& on_flag, FlagParseRules rules = {});

// "  --name VALUE   help" lines, help starting at `column`.
std::string flag_help(std::span<const FlagSpec> table, size_t column = 38);

}  // namespace ringgate::util
