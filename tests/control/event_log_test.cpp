// The status page's event ring (GET /debug/events): bounded in count and in each event's
// texts whatever the pool does, numbered so a page asks only for what it has not seen.
#include <doctest/doctest.h>

#include <string>

#include "ringgate/control/event_log.h"

using namespace ringgate::control;

TEST_CASE("events come back oldest first, after the seq asked from") {
  EventLog log(8);
  log.record(EventKind::Joined, "10.0.0.1:8000", "joined the pool", 1000);
  log.record(EventKind::Unroutable, "10.0.0.1:8000", "2 failed polls: Connection refused", 2000);
  log.record(EventKind::Reloaded, "", "/etc/ringgate.yaml", 3000);
  uint64_t last = 0;
  auto all = log.after(0, &last);
  CHECK(last == 3);
  REQUIRE(all.size() == 3);
  CHECK(all[0].seq == 1);
  CHECK(all[0].kind == EventKind::Joined);
  CHECK(all[1].detail == "2 failed polls: Connection refused");
  CHECK(all[2].unix_ms == 3000);
  auto later = log.after(2);
  REQUIRE(later.size() == 1);
  CHECK(later[0].seq == 3);
  CHECK(log.after(3).empty());
  CHECK(log.after(UINT64_MAX).empty());  // no wrap to "everything"
}

TEST_CASE("the ring keeps the newest `capacity` events") {
  EventLog log(4);
  for (int i = 0; i < 11; ++i) log.record(EventKind::Ejected, "e:" + std::to_string(i), "", i);
  uint64_t last = 0;
  auto kept = log.after(0, &last);
  CHECK(last == 11);
  REQUIRE(kept.size() == 4);
  for (size_t i = 0; i < kept.size(); ++i) {
    CHECK(kept[i].seq == 8 + i);
    CHECK(kept[i].endpoint == "e:" + std::to_string(7 + i));
  }
  // Asked from before the oldest kept: what is kept.
  CHECK(log.after(2).size() == 4);
  CHECK(log.after(9).size() == 2);
}

TEST_CASE("texts from outside are cut at kMaxTextBytes, never inside a UTF-8 character") {
  EventLog log(2);
  // "é" is two bytes; one ASCII byte first puts a character across the cut.
  std::string name = "x";
  while (name.size() < 3 * EventLog::kMaxTextBytes) name += "\xC3\xA9";
  log.record(EventKind::Joined, name, name, 1);
  const Event e = log.after(0)[0];
  CHECK(e.endpoint.size() == EventLog::kMaxTextBytes - 1);
  CHECK(e.detail == e.endpoint);
  CHECK(static_cast<unsigned char>(e.endpoint.back()) == 0xA9);
  const std::string ascii(5 * EventLog::kMaxTextBytes, 'a');
  log.record(EventKind::Left, ascii, "", 2);
  CHECK(log.after(1)[0].endpoint.size() == EventLog::kMaxTextBytes);
}

TEST_CASE("/debug/events: JSON with escaped texts; since= is a decimal number or a 400") {
  EventLog log;
  log.record(EventKind::ReloadRejected, "", "line 3: \"model\" <script>\n", 1234);
  log.record(EventKind::Readmitted, "[::1]:8000", "back", 1235);
  AdminResponse r = log.render("");
  CHECK(r.status == 200);
  CHECK(r.content_type == "application/json");
  CHECK(r.body == "{\"last_seq\":2,\"capacity\":256,\"events\":["
                  "{\"seq\":1,\"unix_ms\":1234,\"kind\":\"reload_rejected\",\"endpoint\":\"\","
                  "\"detail\":\"line 3: \\\"model\\\" <script>\\n\"},"
                  "{\"seq\":2,\"unix_ms\":1235,\"kind\":\"readmitted\",\"endpoint\":\"[::1]:8000\",\"detail\":\"back\"}]}\n");
  r = log.render("since=1&x=y");
  CHECK(r.status == 200);
  CHECK(r.body.find("\"seq\":1,") == std::string::npos);
  CHECK(r.body.find("\"seq\":2,") != std::string::npos);
  CHECK(log.render("since=2").body == "{\"last_seq\":2,\"capacity\":256,\"events\":[]}\n");
  for (const char* bad : {"since=", "since=-1", "since=1x", "since=0x10", "since=99999999999999999999999"}) {
    CAPTURE(bad);
    r = log.render(bad);
    CHECK(r.status == 400);
    CHECK(r.body.find("\"code\":\"bad_request\"") != std::string::npos);
  }
}

TEST_CASE("every kind has its name") {
  for (EventKind k : {EventKind::Joined, EventKind::Left, EventKind::Unroutable, EventKind::Routable, EventKind::Ejected,
                      EventKind::Readmitted, EventKind::Reloaded, EventKind::ReloadRejected, EventKind::Draining})
    CHECK(to_string(k) != "unknown");
}
