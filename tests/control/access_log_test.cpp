// The access log's per-worker ring (single producer, single consumer) and its
// writer's JSON lines.
#include <doctest/doctest.h>
#include <simdjson.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ringgate/control/access_log_writer.h"
#include "ringgate/metrics/access_log_ring.h"

using ringgate::control::AccessLogWriter;
using ringgate::metrics::AccessLogRing;
using ringgate::metrics::AccessRecord;
using ringgate::metrics::InlineText;

TEST_CASE("ring: records come out in order; a full ring drops and counts, never blocks") {
  AccessLogRing ring;
  CHECK_FALSE(ring.enabled());
  ring.enable(5);
  CHECK(ring.capacity() == 8);
  for (uint32_t i = 0; i < 10; ++i) {
    AccessRecord* r = ring.claim();
    if (i < 8) {
      REQUIRE(r != nullptr);
      r->prompt_tokens = i;
      ring.commit();
    } else {
      CHECK(r == nullptr);
    }
  }
  CHECK(ring.dropped() == 2);
  std::vector<uint32_t> seen;
  CHECK(ring.drain([&](const AccessRecord& r) { seen.push_back(r.prompt_tokens); }) == 8);
  CHECK(seen == std::vector<uint32_t>{0, 1, 2, 3, 4, 5, 6, 7});
  CHECK(ring.drain([&](const AccessRecord&) { FAIL("drained twice"); }) == 0);
  REQUIRE(ring.claim() != nullptr);  // room again
}

TEST_CASE("ring: a producer and a consumer thread — every record published is read once, in order, intact") {
  AccessLogRing ring;
  ring.enable(64);
  constexpr uint32_t kRecords = 200000;
  std::atomic<bool> done{false};
  uint64_t read = 0, torn = 0;
  uint32_t last = 0;
  bool ordered = true;
  std::thread consumer([&] {
    auto take = [&](const AccessRecord& r) {
      if (read && r.prompt_tokens <= last) ordered = false;
      last = r.prompt_tokens;
      // The producer writes the sequence number into three fields: all must agree.
      if (r.completion_tokens != r.prompt_tokens || r.model.view() != std::to_string(r.prompt_tokens)) ++torn;
      ++read;
    };
    while (!done.load(std::memory_order_acquire)) ring.drain(take);
    ring.drain(take);
  });
  for (uint32_t i = 1; i <= kRecords; ++i) {
    AccessRecord* r = ring.claim();
    if (!r) continue;  // full: dropped
    r->prompt_tokens = i;
    r->completion_tokens = i;
    r->model.set(std::to_string(i));
    ring.commit();
  }
  done.store(true, std::memory_order_release);
  consumer.join();
  CHECK(read + ring.dropped() == kRecords);
  CHECK(read == ring.published());
  CHECK(read > 0);
  CHECK(ordered);
  CHECK(torn == 0);
}

TEST_CASE("inline text: cut at a UTF-8 character boundary, flagged") {
  InlineText<8> t;  // 7 bytes
  t.set("abc");
  CHECK(t.view() == "abc");
  CHECK_FALSE(t.truncated);
  t.set("abcdefghij");
  CHECK(t.view() == "abcdefg");
  CHECK(t.truncated);
  t.set("abcde\xc3\xa9z");  // "abcdeéz": é would straddle byte 7
  CHECK(t.view() == "abcde\xc3\xa9");
  t.set("abcdef\xc3\xa9");  // é starts at byte 6: cut before it
  CHECK(t.view() == "abcdef");
  t.set("ab\xe2\x82\xac\xe2\x82\xac");  // "ab€€": the second € straddles
  CHECK(t.view() == "ab\xe2\x82\xac");
}

TEST_CASE("writer: one valid JSON line per record with every field; appended to the file") {
  AccessRecord r;
  r.end_ns = 1'000'000'000;
  r.duration_ns = 456'789'123;
  r.ttft_ns = 12'345'678;
  r.wait_ns = 2'500'000;
  r.prompt_tokens = 31;
  r.completion_tokens = 22;
  r.status = 200;
  r.attempts = 1;
  r.stream = true;
  r.request_id.set("req-\"1\"\n");
  r.model.set("my-chat");
  r.target_model.set("facebook/opt-125m");
  r.endpoint.set("127.0.0.1:8000");
  std::string line;
  // 2026-11-22T03:10:00Z = 1795317000 s since the epoch; end_ns is 1 s after the clock's zero.
  AccessLogWriter::format(line, r, int64_t(1795316999) * 1000000000 + 123'000'000);
  REQUIRE(line.back() == '\n');
  CHECK(line.find('\n') == line.size() - 1);
  simdjson::ondemand::parser parser;
  simdjson::padded_string json(line);
  simdjson::ondemand::document doc = parser.iterate(json);
  CHECK(std::string_view(doc["time"].get_string().value()) == "2026-11-22T03:10:00.123Z");
  CHECK(std::string_view(doc["request_id"].get_string().value()) == "req-\"1\"\n");
  CHECK(std::string_view(doc["model"].get_string().value()) == "my-chat");
  CHECK(std::string_view(doc["target_model"].get_string().value()) == "facebook/opt-125m");
  CHECK(std::string_view(doc["endpoint"].get_string().value()) == "127.0.0.1:8000");
  CHECK(int64_t(doc["status"].get_int64().value()) == 200);
  CHECK(bool(doc["stream"].get_bool().value()));
  CHECK(int64_t(doc["attempts"].get_int64().value()) == 1);
  CHECK(double(doc["wait_ms"].get_double().value()) == doctest::Approx(2.5));
  CHECK(double(doc["ttft_ms"].get_double().value()) == doctest::Approx(12.345));
  CHECK(double(doc["duration_ms"].get_double().value()) == doctest::Approx(456.789));
  CHECK(int64_t(doc["prompt_tokens"].get_int64().value()) == 31);
  CHECK(int64_t(doc["completion_tokens"].get_int64().value()) == 22);

  CHECK(line.find("migrat") == std::string::npos);  // a request that never moved says nothing of it

  r.attempts = 2;  // a stream continued elsewhere: where it broke first, and why
  r.migrations = 1;
  r.first_endpoint.set("127.0.0.1:7000");
  r.migration.set("reset");
  line.clear();
  AccessLogWriter::format(line, r, 0);
  simdjson::padded_string moved_json(line);
  simdjson::ondemand::document moved = parser.iterate(moved_json);
  CHECK(int64_t(moved["migrations"].get_int64().value()) == 1);
  CHECK(std::string_view(moved["migrated_from"].get_string().value()) == "127.0.0.1:7000");
  CHECK(std::string_view(moved["migration_reason"].get_string().value()) == "reset");

  AccessRecord none;  // answered by the gateway: no endpoint, no first byte
  none.status = 404;
  line.clear();
  AccessLogWriter::format(line, none, 0);
  CHECK(line.find("\"ttft_ms\":null") != std::string::npos);
  CHECK(line.find("\"wait_ms\":null") != std::string::npos);  // never sent to a server
  CHECK(line.find("\"endpoint\":\"\"") != std::string::npos);

  char path[] = "/tmp/ringgate-access-XXXXXX";
  const int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  // What an earlier run left: kept, and the new lines come after it.
  const std::string earlier = "{\"earlier\":\"run\"}\n";
  REQUIRE(write(fd, earlier.data(), earlier.size()) == ssize_t(earlier.size()));
  close(fd);
  {
    auto opened = AccessLogWriter::open(path);
    REQUIRE(opened.writer);
    ringgate::metrics::WorkerStats a, b, off;
    a.access_log.enable(4);
    b.access_log.enable(4);
    for (auto* w : {&a, &a, &b}) {
      AccessRecord* slot = w->access_log.claim();
      REQUIRE(slot);
      slot->status = w == &a ? 200 : 503;
      w->access_log.commit();
    }
    const ringgate::metrics::WorkerStats* workers[] = {&a, nullptr, &off, &b};
    CHECK(opened.writer->flush(workers) == 3);
    CHECK(opened.writer->flush(workers) == 0);
    CHECK(opened.writer->records_written() == 3);
  }
  std::ifstream in(path);
  std::stringstream all;
  all << in.rdbuf();
  const std::string text = all.str();
  unlink(path);
  CHECK(std::count(text.begin(), text.end(), '\n') == 4);
  CHECK(text.starts_with(earlier));
  CHECK(text.find("\"status\":503") > earlier.size());
  CHECK(text.find("\"status\":200") > earlier.size());

  auto bad = AccessLogWriter::open("/nonexistent-dir/access.log");
  CHECK_FALSE(bad.writer);
  CHECK(bad.error.find("cannot open /nonexistent-dir/access.log") != std::string::npos);
}

TEST_CASE("inline text: an empty view (null data) is stored as empty") {
  InlineText<8> t;
  t.set("abc");
  t.set(std::string_view());  // data() == nullptr: no memcpy from it (UBSan under the sanitized build)
  CHECK(t.view().empty());
  CHECK_FALSE(t.truncated);
}
