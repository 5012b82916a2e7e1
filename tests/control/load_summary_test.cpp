// A leaf gateway's load summary (control/load_summary.h): what the hub accepts, and each
// bound at N (accepted) and N + 1 (refused): size, models, name length, age, counts.
#include "ringgate/control/load_summary.h"

#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

using namespace ringgate;
using control::LoadSummaryLimits;
using control::parse_load_summary;

namespace {

std::string models_json(size_t n, size_t name_bytes = 1) {
  std::string out = "[";
  for (size_t i = 0; i < n; ++i) {
    if (i) out += ',';
    std::string name = std::to_string(i);
    name.resize(std::max(name.size(), name_bytes), 'x');
    out += "{\"name\":\"" + name + "\",\"ready\":1}";
  }
  return out + "]";
}

std::string summary(const std::string& models, const std::string& extra = "") {
  return "{\"version\":1,\"draining\":false,\"ageMs\":10,\"waiting\":3,\"running\":4,\"kvUsage\":0.25,"
         "\"saturation\":0.5,\"held\":2" +
         extra + ",\"models\":" + models + "}";
}

}  // namespace

TEST_CASE("a well-formed summary is read whole") {
  auto r = parse_load_summary(
      "{\"version\":1,\"draining\":true,\"ageMs\":12,\"waiting\":3,\"running\":4,\"kvUsage\":0.25,"
      "\"saturation\":0.5,\"held\":2,\"models\":[{\"name\":\"m\",\"ready\":2},{\"name\":\"z\",\"ready\":0}],"
      "\"newer\":{\"x\":1}}");
  REQUIRE(r.ok());
  const control::LoadSummary& s = r.value();
  CHECK(s.draining);
  CHECK(s.age_ms == 12);
  CHECK(s.waiting == 3);
  CHECK(s.running == 4);
  CHECK(s.kv_usage == 0.25);
  CHECK(s.held == 2);
  REQUIRE(s.models.size() == 2);
  CHECK(s.models[0].name == "m");
  CHECK(s.models[0].ready == 2);
  CHECK(s.models[1].ready == 0);
}

TEST_CASE("malformed summaries are refused") {
  for (const char* body :
       {"", "not json", "[]", "{\"version\":2,\"ageMs\":0,\"models\":[]}", "{\"ageMs\":0,\"models\":[]}",
        "{\"version\":1,\"models\":[]}", "{\"version\":1,\"ageMs\":0}", "{\"version\":1,\"ageMs\":0,\"models\":{}}",
        "{\"version\":1,\"ageMs\":0,\"models\":[{\"ready\":1}]}",
        "{\"version\":1,\"ageMs\":0,\"models\":[{\"name\":\"\",\"ready\":1}]}",
        "{\"version\":1,\"ageMs\":0,\"models\":[{\"name\":\"m\"}]}",
        "{\"version\":1,\"ageMs\":0,\"models\":[{\"name\":\"m\",\"ready\":-1}]}",
        "{\"version\":1,\"ageMs\":0,\"kvUsage\":1.5,\"models\":[]}",
        "{\"version\":1,\"ageMs\":0,\"waiting\":\"3\",\"models\":[]}",
        "{\"version\":1,\"ageMs\":0,\"draining\":1,\"models\":[]}", "{\"version\":1,\"ageMs\":0,\"models\":[]"}) {
    CAPTURE(body);
    CHECK_FALSE(parse_load_summary(body).ok());
  }
}

TEST_CASE("the size bound: N bytes read, N + 1 refused") {
  const std::string body = summary(models_json(3));
  LoadSummaryLimits limits;
  limits.max_bytes = body.size();
  CHECK(parse_load_summary(body, limits).ok());
  limits.max_bytes = body.size() - 1;
  auto r = parse_load_summary(body, limits);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("larger than") != std::string::npos);
}

TEST_CASE("the models bound: N read, N + 1 refused") {
  LoadSummaryLimits limits;
  CHECK(parse_load_summary(summary(models_json(limits.max_models)), limits).ok());
  auto r = parse_load_summary(summary(models_json(limits.max_models + 1)), limits);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("more than 256 models") != std::string::npos);
}

TEST_CASE("the name bound: N bytes read, N + 1 refused") {
  LoadSummaryLimits limits;
  CHECK(parse_load_summary(summary(models_json(2, limits.max_name_bytes)), limits).ok());
  auto r = parse_load_summary(summary(models_json(2, limits.max_name_bytes + 1)), limits);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("longer than 256 bytes") != std::string::npos);
}

TEST_CASE("staleness: ageMs N read, N + 1 refused") {
  LoadSummaryLimits limits;
  auto at = [&](uint64_t age) { return "{\"version\":1,\"ageMs\":" + std::to_string(age) + ",\"models\":[]}"; };
  CHECK(parse_load_summary(at(limits.max_age_ms), limits).ok());
  auto r = parse_load_summary(at(limits.max_age_ms + 1), limits);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("stale") != std::string::npos);
}

TEST_CASE("the count bound: N read, N + 1 refused") {
  LoadSummaryLimits limits;
  limits.max_count = 1000;
  auto with = [&](const char* key, int v) {
    return "{\"version\":1,\"ageMs\":0,\"" + std::string(key) + "\":" + std::to_string(v) + ",\"models\":[]}";
  };
  for (const char* key : {"waiting", "running", "held"}) {
    CAPTURE(key);
    CHECK(parse_load_summary(with(key, 1000), limits).ok());
    CHECK_FALSE(parse_load_summary(with(key, 1001), limits).ok());
  }
  const std::string ready = "{\"version\":1,\"ageMs\":0,\"models\":[{\"name\":\"m\",\"ready\":";
  CHECK(parse_load_summary(ready + "1000}]}", limits).ok());
  CHECK_FALSE(parse_load_summary(ready + "1001}]}", limits).ok());
}

TEST_CASE("what a leaf renders, a hub reads") {
  std::vector<sched::EndpointState> states(2);
  for (size_t i = 0; i < states.size(); ++i) {
    states[i].id = sched::EndpointId(i);
    states[i].address.host = "127.0.0.1";
    states[i].address.port = uint16_t(8000 + i);
    states[i].models = {i == 0 ? "a" : "b"};
    states[i].routable = i == 0;
    states[i].has_metrics = true;
    states[i].metrics.all.waiting = 2;
    states[i].metrics.all.running = 3;
    states[i].metrics.all.kv_cache_usage = 0.5;
  }
  const auto now = sched::Clock::now();
  for (auto& s : states) s.scraped_at = now - std::chrono::milliseconds(30);
  sched::EndpointSnapshot snapshot(std::move(states));
  control::LoadSummaryInputs in;
  in.snapshot = &snapshot;
  in.now = now;
  in.held = 4;
  auto r = parse_load_summary(control::render_load_summary(in));
  REQUIRE(r.ok());
  const control::LoadSummary& s = r.value();
  CHECK_FALSE(s.draining);
  CHECK(s.age_ms == 30);
  CHECK(s.waiting == 2);  // the routable server's only
  CHECK(s.running == 3);
  CHECK(s.kv_usage == 0.5);
  CHECK(s.held == 4);
  REQUIRE(s.models.size() == 2);
  CHECK(s.models[0].name == "a");
  CHECK(s.models[0].ready == 1);
  CHECK(s.models[1].name == "b");
  CHECK(s.models[1].ready == 0);  // its one server is not routable
}

TEST_CASE("adminKeyFile: its first line, up to 512 bytes (N read, N + 1 refused), header-safe") {
  const std::string path = "/tmp/rg-load-summary-key-" + std::to_string(::getpid());
  auto with = [&](const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
    return control::read_admin_key_file(path);
  };
  auto r = with("sk-admin \nsecond line\n");
  REQUIRE(r.ok());
  CHECK(r.value() == "sk-admin");
  CHECK(with(std::string(512, 'k')).ok());
  CHECK_FALSE(with(std::string(513, 'k')).ok());
  CHECK_FALSE(with("\n").ok());
  CHECK_FALSE(with("sk admin").ok());  // a space inside: not one header token
  std::remove(path.c_str());
  CHECK_FALSE(control::read_admin_key_file(path).ok());
}
