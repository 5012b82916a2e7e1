#include "ringgate/tokenize/utf8.h"

#include <doctest/doctest.h>

using namespace ringgate::tokenize;

TEST_CASE("utf8: well-formed sequences and their lengths") {
  CHECK(utf8_sequence_length("a") == 1);
  CHECK(utf8_sequence_length("\xC3\xA9") == 2);
  CHECK(utf8_sequence_length("\xE4\xB8\xAD") == 3);
  CHECK(utf8_sequence_length("\xF0\x9F\x98\x80") == 4);
  CHECK(utf8_sequence_length("\xC0\x80") == 0);          // overlong
  CHECK(utf8_sequence_length("\xED\xA0\x80") == 0);      // surrogate
  CHECK(utf8_sequence_length("\xF4\x90\x80\x80") == 0);  // above U+10FFFF
  CHECK(utf8_sequence_length("\xE4\xB8") == 0);          // truncated
  CHECK(utf8_valid("héllo 😀"));
  CHECK_FALSE(utf8_valid("a\xFF" "b"));
}

TEST_CASE("utf8: repair replaces each maximal ill-formed subpart by U+FFFD, as TextDecoder") {
  std::string out;
  utf8_repair("a\xFF" "b", out);
  CHECK(out == "a\xEF\xBF\xBD" "b");
  // A truncated 3-byte sequence is one subpart; a lone continuation byte is one each.
  utf8_repair("\xE4\xB8" "x\x80\x80", out);
  CHECK(out == "\xEF\xBF\xBD" "x\xEF\xBF\xBD\xEF\xBF\xBD");
  // A surrogate's lead byte does not accept A0: three replacements.
  utf8_repair("\xED\xA0\x80", out);
  CHECK(out == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  utf8_repair("ok \xF0\x9F\x98\x80", out);
  CHECK(out == "ok \xF0\x9F\x98\x80");
}
