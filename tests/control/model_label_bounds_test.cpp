// Per-model statistics are keyed and labelled by model names that clients choose
// (issue 12): keys no byte can split, and label values only for models the pool
// serves, the rest folded into one "other" bucket.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <unordered_set>

#include "ringgate/control/gateway_metrics.h"
#include "ringgate/metrics/gateway_stats.h"
#include "ringgate/proxy/model_catalog.h"

using namespace ringgate;

namespace {
size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}
}  // namespace

TEST_CASE("an objective key built from any bytes splits back into the same four labels") {
  std::string scratch;
  const std::string spoof = std::string("spoofed-target\x1f") + "victim";
  for (auto [model, target] : {std::pair<std::string, std::string>{spoof, "real"},
                               {"a", std::string("b\x1f" "c")},
                               {std::string(1, '\0'), ""},
                               {"", std::string(300, '\x1f')}}) {
    std::string key(metrics::objective_key(model, target, -7, target + "\x1f", scratch));
    const metrics::ObjectiveLabels l = metrics::split_objective_key(key);
    CHECK(l.model == model);
    CHECK(l.target == target);
    CHECK(l.priority == "-7");
    CHECK(l.fairness == target + "\x1f");
  }
}

TEST_CASE("a rewrite decision key keeps its three parts apart") {
  std::string scratch;
  std::string key(metrics::rewrite_decision_key("rule\x1fx", "alias\x1f", "\x1ftarget", scratch));
  std::array<std::string_view, 3> parts;
  REQUIRE(metrics::split_key(key, parts));
  CHECK(parts[0] == "rule\x1fx");
  CHECK(parts[1] == "alias\x1f");
  CHECK(parts[2] == "\x1ftarget");
  std::array<std::string_view, 2> two;
  CHECK_FALSE(metrics::split_key(key, two));
}

TEST_CASE("model names the pool does not serve share one label value: other") {
  auto stats = std::make_unique<metrics::WorkerStats>();
  std::string scratch;
  stats->objectives.find_or_add(metrics::objective_key("served-model", "served-model", 0, metrics::kDefaultFairnessId, scratch)).requests.add();
  for (int i = 0; i < 150; ++i) {
    const std::string junk = "junk-" + std::to_string(i) + std::string(200, 'x');
    stats->objectives.find_or_add(metrics::objective_key(junk, junk, 0, metrics::kDefaultFairnessId, scratch)).requests.add();
  }
  stats->rewrite_decisions.find_or_add(metrics::rewrite_decision_key("r", "my-alias", "served-model", scratch)).add();
  stats->rewrite_decisions.find_or_add(metrics::rewrite_decision_key("r", "my-alias", "gone-model", scratch)).add();

  control::PoolView view;
  view.pool_name = "pool";
  const std::unordered_set<std::string> served = {"served-model", "my-alias"};
  view.serves_model = [&](std::string_view m) { return served.count(std::string(m)) > 0; };
  const metrics::WorkerStats* workers[] = {stats.get()};
  const std::string text =
      control::render_gateway_metrics(view, workers, {}, sched::PrefixIndexStats{}, control::ControlCounters{}, {});
  CHECK(text.find("junk-") == std::string::npos);
  CHECK(count(text, "inference_objective_request_total{") == 2);
  CHECK(text.find("inference_objective_request_total{model_name=\"served-model\",priority=\"0\",target_model_name=\"served-model\"} 1") !=
        std::string::npos);
  CHECK(text.find("inference_objective_request_total{model_name=\"other\",priority=\"0\",target_model_name=\"other\"} 150") !=
        std::string::npos);
  CHECK(text.find("model_name=\"my-alias\",model_rewrite_name=\"r\",target_model=\"served-model\"} 1") !=
        std::string::npos);
  CHECK(text.find("model_name=\"my-alias\",model_rewrite_name=\"r\",target_model=\"other\"} 1") != std::string::npos);
  // The page is as large with 150 unserved names as with one: they are one label set.
  auto one_junk = std::make_unique<metrics::WorkerStats>();
  one_junk->objectives.find_or_add(metrics::objective_key("served-model", "served-model", 0, metrics::kDefaultFairnessId, scratch))
      .requests.add();
  one_junk->objectives.find_or_add(metrics::objective_key("junk", "junk", 0, metrics::kDefaultFairnessId, scratch))
      .requests.add();
  one_junk->rewrite_decisions.find_or_add(metrics::rewrite_decision_key("r", "my-alias", "served-model", scratch)).add();
  one_junk->rewrite_decisions.find_or_add(metrics::rewrite_decision_key("r", "my-alias", "gone-model", scratch)).add();
  const metrics::WorkerStats* one_worker[] = {one_junk.get()};
  const std::string one_text =
      control::render_gateway_metrics(view, one_worker, {}, sched::PrefixIndexStats{}, control::ControlCounters{}, {});
  CHECK(text.size() < one_text.size() + 64);
}

TEST_CASE("the catalog says which names may be labels: listed, or known from an endpoint that is down") {
  proxy::ModelCatalog catalog({"alias", "served", "alias"}, {"down-model"});
  CHECK(catalog.models().size() == 2);
  CHECK(catalog.serves("served"));
  CHECK_FALSE(catalog.serves("down-model"));
  CHECK(catalog.labels("down-model"));
  CHECK(catalog.labels("alias"));
  CHECK_FALSE(catalog.labels("junk"));
  CHECK(catalog.render_json().find("down-model") == std::string::npos);
}
