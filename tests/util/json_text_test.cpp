#include <doctest/doctest.h>

#include <limits>
#include <string>

#include "ringgate/util/json_text.h"
#include "ringgate/util/single_writer_table.h"

using namespace ringgate::util;

TEST_CASE("JSON strings escape quotes, backslashes and every control byte") {
  std::string out;
  append_json_string(out, std::string_view("a\"b\\c\nd\te\x01\x1f\x7f\xc3\xa9", 14));
  CHECK(out == "\"a\\\"b\\\\c\\nd\\te\\u0001\\u001f\x7f\xc3\xa9\"");
  out.clear();
  append_json_escaped(out, "");
  CHECK(out.empty());
  append_uint(out, 18446744073709551615ull);
  CHECK(out == "18446744073709551615");
}

TEST_CASE("JSON doubles: shortest form at the asked precision, null for what JSON cannot say") {
  auto text = [](double v, int digits = 6) {
    std::string out;
    append_json_double(out, v, digits);
    return out;
  };
  CHECK(text(0.25) == "0.25");
  CHECK(text(3) == "3");
  CHECK(text(-2.5) == "-2.5");
  CHECK(text(0.1234567) == "0.123457");
  CHECK(text(1e6) == "1e+06");
  CHECK(text(123456) == "123456");
  CHECK(text(1.0 / 3, 17) == "0.33333333333333331");
  CHECK(std::stod(text(0.1 + 0.2, 17)) == 0.1 + 0.2);  // 17 digits round-trip
  CHECK(text(1e-7) == "1e-07");
  CHECK(text(std::numeric_limits<double>::quiet_NaN()) == "null");
  CHECK(text(std::numeric_limits<double>::infinity()) == "null");
  CHECK(text(-std::numeric_limits<double>::infinity()) == "null");
  CHECK(text(0.5, 0) == "0.5");  // precision clamped to 1..17
  CHECK(text(0.123, 99) == "0.123");
}

TEST_CASE("single-writer table: keys found again, overflow past capacity") {
  SingleWriterTable<int, 8> table;
  table.find_or_add("a") = 1;
  table.find_or_add("b") = 2;
  CHECK(table.find_or_add("a") == 1);
  CHECK(table.find_or_add("b") == 2);
  for (int i = 0; i < 20; ++i) table.find_or_add("k" + std::to_string(i)) += 1;
  int entries = 0, overflow = 0;
  table.for_each([&](std::string_view key, const int& v) {
    ++entries;
    if (key == "other") overflow = v;
  });
  CHECK(entries == 6 + 1);     // 3/4 of 8 slots, then the overflow entry
  CHECK(overflow == 16);       // 20 new keys, 4 got slots (a, b took two of six)
}
