// The endpoint pool against pod churn and hostile /v1/models pages (issue 12).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "ringgate/control/endpoint_pool.h"
#include "ringgate/sched/endpoint_registry.h"

using namespace ringgate;

namespace {
std::string address(size_t n) {
  return "10." + std::to_string((n >> 16) & 255) + "." + std::to_string((n >> 8) & 255) + "." + std::to_string(n & 255);
}
}  // namespace

TEST_CASE("200,000 pod addresses churning through the pool all get ids; ids are reused") {
  control::EpollLoop loop;
  sched::EndpointRegistry registry(1u << 16, std::chrono::seconds(0));
  control::EndpointPool pool(loop, registry, control::PoolOptions{});
  constexpr size_t kLive = 100, kTotal = 200000;
  std::vector<control::DesiredEndpoint> desired;
  for (size_t first = 0; first + kLive <= kTotal; first += kLive / 2) {  // half the pool replaced each time
    desired.clear();
    for (size_t i = first; i < first + kLive; ++i) desired.push_back({address(i), 8000, true, ""});
    pool.set_members(desired);
    REQUIRE_MESSAGE(pool.size() == kLive, "pods skipped after ", first, " addresses");
    pool.take_removed();
  }
  CHECK(registry.size() == kLive);
  CHECK(registry.allocated() <= 2 * kLive);  // ids stay dense: the high-water mark is the pool's size
  // Every live member still has a distinct id and its own name.
  std::vector<bool> seen(registry.allocated(), false);
  for (size_t i = kTotal - kLive; i < kTotal; ++i) {
    sched::EndpointId id = registry.find(address(i), 8000);
    REQUIRE(id != sched::kNoEndpoint);
    CHECK_FALSE(seen[id]);
    seen[id] = true;
    CHECK(pool.name(id) == address(i) + ":8000");
  }
}

TEST_CASE("/v1/models past its bounds is refused with a reason") {
  std::vector<std::string> models, adapters;
  std::string why;
  std::string many = R"({"object":"list","data":[)";
  for (int i = 0; i < 50000; ++i) many += std::string(i ? "," : "") + R"({"id":"m)" + std::to_string(i) + R"("})";
  many += "]}";
  CHECK_FALSE(control::parse_model_list(many, models, adapters, &why));
  CHECK(why.find("1024") != std::string::npos);
  CHECK(models.empty());

  const std::string long_id = R"({"data":[{"id":")" + std::string(300, 'x') + R"("}]})";
  CHECK_FALSE(control::parse_model_list(long_id, models, adapters, &why));
  CHECK(why.find("256") != std::string::npos);

  CHECK(control::parse_model_list(R"({"data":[{"id":"base"},{"id":"lora","parent":"base"}]})", models, adapters, &why));
  CHECK(models == std::vector<std::string>{"base"});
  CHECK(adapters == std::vector<std::string>{"lora"});
}

// Found by fuzz_model_list (issue 37): an empty first id read as "no id yet", so the
// second was taken too and both names were kept, the empty one included.
TEST_CASE("/v1/models: an empty id, or a second id in one entry, is refused whatever the first held") {
  std::vector<std::string> models, adapters;
  std::string why;
  CHECK_FALSE(control::parse_model_list(R"({"object":"list","data":[{"id":"","id":"a"}]})", models, adapters, &why));
  CHECK(why.starts_with("/v1/models: "));
  CHECK(models.empty());
  CHECK_FALSE(control::parse_model_list(R"({"data":[{"id":""}]})", models, adapters, &why));
  CHECK(why == "/v1/models: an entry has an empty id");
  CHECK_FALSE(control::parse_model_list(R"({"data":[{"id":"a","id":"b"}]})", models, adapters, &why));
  CHECK(why == "/v1/models: an entry has two ids");
  CHECK_FALSE(control::parse_model_list(R"({"data":[{"id":"a","id":""}]})", models, adapters, &why));
  CHECK(why == "/v1/models: an entry has two ids");
  CHECK(models.empty());
  CHECK_FALSE(control::parse_model_list(R"({"data":[{"object":"model"}]})", models, adapters, &why));
  CHECK(why == "/v1/models: an entry has no id");
}
