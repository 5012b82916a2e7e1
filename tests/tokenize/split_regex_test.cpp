#include "ringgate/tokenize/split_regex.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace ringgate::tokenize;

namespace {

std::vector<std::string> split(std::string_view onig, std::string_view text, SplitMode mode) {
  auto pattern = onig_to_pcre2(onig);
  REQUIRE(pattern.ok());
  auto regex = SplitRegex::compile(pattern.value());
  REQUIRE(regex.ok());
  std::vector<Span> spans;
  REQUIRE(regex.value().split(text, Span{0, static_cast<std::uint32_t>(text.size())}, mode, spans).ok());
  std::vector<std::string> out;
  for (Span s : spans) out.emplace_back(text.substr(s.begin, s.size));
  return out;
}

}  // namespace

TEST_CASE("onig_to_pcre2: (?i:) folds ASCII letters only, \\s is Unicode White_Space") {
  auto p = onig_to_pcre2("(?i:'s|'t)");
  REQUIRE(p.ok());
  CHECK(p.value() == "(?:'[sS]|'[tT])");
  // U+017F (long s) folds to 's' under Unicode case folding, not under the reference's.
  CHECK(split("(?i:'s)", "'S'\xC5\xBF", SplitMode::Matches) == std::vector<std::string>{"'S"});
  // U+0085 is White_Space (PCRE2's own \s leaves it out); U+FEFF is not.
  CHECK(split("\\s+", "a\xC2\x85" "b", SplitMode::Matches) == std::vector<std::string>{"\xC2\x85"});
  CHECK(split("\\s+", "a\xEF\xBB\xBF" "b", SplitMode::Matches).empty());
  CHECK_FALSE(onig_to_pcre2("\\w+").ok());
  CHECK_FALSE(onig_to_pcre2("(abc").ok());
  CHECK_FALSE(onig_to_pcre2("[abc").ok());
}

TEST_CASE("SplitRegex: isolated, removed and matches modes") {
  CHECK(split("\\p{N}{1,3}", "ab12345c", SplitMode::Isolated) ==
        std::vector<std::string>{"ab", "123", "45", "c"});
  CHECK(split(",", "a,b,,c", SplitMode::Removed) == std::vector<std::string>{"a", "b", "c"});
  CHECK(split("\\p{L}+", "ab 12 cd", SplitMode::Matches) == std::vector<std::string>{"ab", "cd"});
}

TEST_CASE("SplitRegex: a piece is its own subject (lookahead sees the piece's end)") {
  auto regex = SplitRegex::compile(onig_to_pcre2("\\s+(?!\\S)|\\s+").value());
  REQUIRE(regex.ok());
  std::string text = "x   y";
  std::vector<Span> spans;
  // Only the three spaces: at the piece's end, (?!\S) holds and all three are taken.
  REQUIRE(regex.value().split(text, Span{1, 3}, SplitMode::Matches, spans).ok());
  REQUIRE(spans.size() == 1);
  CHECK(spans[0].begin == 1);
  CHECK(spans[0].size == 3);
  spans.clear();
  // In the whole text the last space is left for the letter.
  REQUIRE(regex.value().split(text, Span{0, 5}, SplitMode::Matches, spans).ok());
  REQUIRE(spans.size() == 2);
  CHECK(spans[0].size == 2);
}

TEST_CASE("SplitRegex: a literal pattern matches its text, metacharacters included") {
  auto regex = SplitRegex::compile("a.b", true);
  REQUIRE(regex.ok());
  std::string text = "xa.bya+b";
  std::vector<Span> spans;
  REQUIRE(regex.value().split(text, Span{0, 8}, SplitMode::Isolated, spans).ok());
  REQUIRE(spans.size() == 3);
  CHECK(text.substr(spans[1].begin, spans[1].size) == "a.b");
}
