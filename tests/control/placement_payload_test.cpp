// The placements' wire form (placement_payload.h): what one replica writes the others
// read back whole, and anything else in the stream stops the reading where it breaks.
#include "ringgate/control/placement_payload.h"

#include <doctest/doctest.h>

#include <vector>

#include "ringgate/sched/placement_record.h"

using namespace ringgate::control;

namespace {
std::vector<std::pair<std::string, std::vector<uint64_t>>> read_all(std::string_view payload, PayloadStep& last) {
  std::vector<std::pair<std::string, std::vector<uint64_t>>> out;
  size_t at = 0;
  PlacementView v;
  while ((last = next_placement(payload, at, v)) == PayloadStep::Record) {
    std::vector<uint64_t> entries;
    for (size_t i = 0; i < v.count(); ++i) entries.push_back(v.entry(i));
    out.emplace_back(std::string(v.address), entries);
  }
  return out;
}
}  // namespace

TEST_CASE("placement payload: records written are read back whole, in order") {
  std::string p;
  const std::vector<uint64_t> a{1, 0xfedcba9876543210ull, 3}, b{42};
  REQUIRE(append_placement(p, "10.0.0.1:8000", a));
  REQUIRE(append_placement(p, "[fe80::1]:8000", b));
  CHECK(p.size() == placement_record_bytes(13, 3) + placement_record_bytes(14, 1));
  PayloadStep last;
  const auto records = read_all(p, last);
  CHECK(last == PayloadStep::End);
  REQUIRE(records.size() == 2);
  CHECK(records[0].first == "10.0.0.1:8000");
  CHECK(records[0].second == a);
  CHECK(records[1].first == "[fe80::1]:8000");
  CHECK(records[1].second == b);
}

TEST_CASE("placement payload: what cannot be written is refused, nothing appended") {
  std::string p;
  const std::vector<uint64_t> one{1}, none;
  const std::vector<uint64_t> too_many(ringgate::sched::kMaxPlacementEntries + 1, 7);
  CHECK_FALSE(append_placement(p, "", one));
  CHECK_FALSE(append_placement(p, std::string(kMaxPlacementAddressBytes + 1, 'h'), one));
  CHECK_FALSE(append_placement(p, "h:1", none));
  CHECK_FALSE(append_placement(p, "h:1", too_many));
  CHECK(p.empty());
  CHECK(append_placement(p, std::string(kMaxPlacementAddressBytes, 'h'), std::span(too_many).first(128)));
}

TEST_CASE("placement payload: a torn, empty or oversized record stops the reading there") {
  std::string good;
  REQUIRE(append_placement(good, "h:1", std::vector<uint64_t>{5, 6}));
  const std::string cases[] = {
      good.substr(0, good.size() - 1),  // an entry cut short
      std::string("\x00", 1),           // no address
      std::string("\xc8"
                  "12",
                  3),                                                 // an address running past the end
      std::string("\x03h:1\x00\x00", 6),                              // no entries
      std::string("\x03h:1\x81\x00", 6) + std::string(8 * 129, 'x'),  // more entries than a record may carry
  };
  for (const std::string& bad : cases) {
    CAPTURE(bad.size());
    PayloadStep last;
    const auto records = read_all(good + bad, last);
    CHECK(last == PayloadStep::Malformed);
    REQUIRE(records.size() == 1);  // the good one before it
    CHECK(records[0].second == std::vector<uint64_t>{5, 6});
  }
}
