// Every kind of bad config gives a clear error at the exact line (and column), and all
// errors of a file are reported, not just the first.

#include <doctest/doctest.h>

#include <string>

#include "ringgate/config/config_loader.h"

using namespace ringgate::config;

namespace {

// A valid Gateway document (4 lines with the separator): GAIE documents after it start on line 5.
const std::string gateway = R"(apiVersion: ringgate.io/v1
kind: Gateway
pool: {discovery: {static: ["127.0.0.1:8000"]}}
---
)";

std::string listing(const LoadResult& result) {
  std::string out;
  for (const ConfigError& e : result.errors) out += format_error(e) + "\n";
  return out;
}

// Requires exactly `count` errors, one of them at line:column (column 0 = any) whose
// message contains `needle`.
void expect_error(const std::string& text, int line, int column, std::string_view needle, size_t count = 1) {
  LoadResult result = load_config_text(text, "bad.yaml");
  INFO("errors:\n" << listing(result));
  CHECK_FALSE(result.ok());
  CHECK(result.errors.size() == count);
  bool found = false;
  for (const ConfigError& e : result.errors) {
    if (e.position.line == line && (column == 0 || e.position.column == column) &&
        e.message.find(needle) != std::string::npos)
      found = true;
  }
  CHECK_MESSAGE(found, "wanted line " << line << " col " << column << " containing \"" << needle << "\"");
}

std::string rewrite(const std::string& spec_body) {
  return gateway +
         "apiVersion: inference.networking.x-k8s.io/v1alpha2\nkind: InferenceModelRewrite\n"
         "metadata: {name: r}\nspec:\n" +
         spec_body;
}

}  // namespace

TEST_CASE("bad YAML syntax") {
  expect_error("apiVersion: ringgate.io/v1\nkind: Gateway\nlisten: {api: \":8080\"\n", 4, 0, "invalid YAML");
  expect_error("apiVersion: ringgate.io/v1\nkind: Gateway\nlisten:\n  api: \":8080\"\n admin: \":9090\"\n", 5, 0,
               "invalid YAML");
}

TEST_CASE("a document that is not a map, an empty file") {
  expect_error(gateway + "- just\n- a list\n", 5, 1, "expected a map with apiVersion and kind");
  expect_error("", 1, 1, "no documents");
  expect_error("# only a comment\n", 1, 1, "no documents");
}

TEST_CASE("unknown kind, missing kind, missing or wrong apiVersion") {
  expect_error(gateway + "apiVersion: v1\nkind: ConfigMap\n", 6, 7, "unknown kind \"ConfigMap\"");
  expect_error("apiVersion: ringgate.io/v1\npool: {discovery: {static: [\"h:1\"]}}\n", 1, 1,
               "missing required field 'kind'", 2);  // and then: no pool (the document was skipped)
  expect_error("kind: Gateway\npool: {discovery: {static: [\"h:1\"]}}\n", 1, 1, "missing required field 'apiVersion'");
  expect_error("apiVersion: ringgate.io/v2\nkind: Gateway\npool: {discovery: {static: [\"h:1\"]}}\n", 1, 13,
               "Gateway needs apiVersion ringgate.io/v1, got \"ringgate.io/v2\"");
  // The GAIE site's own example uses the non-x group for a v1alpha2 rewrite; say what is expected.
  expect_error(gateway +
                   "apiVersion: inference.networking.k8s.io/v1alpha2\nkind: InferenceModelRewrite\n"
                   "spec: {rules: [{targets: [{modelRewrite: m}]}]}\n",
               5, 13, "needs apiVersion inference.networking.x-k8s.io/v1alpha2");
}

TEST_CASE("unknown fields at any depth") {
  expect_error(gateway + "apiVersion: ringgate.io/v1\nkind: Gateway\nlistn: {}\n", 7, 1, "unknown field", 2);
  expect_error(
      "apiVersion: ringgate.io/v1\nkind: Gateway\nlistn: {api: \":1\"}\n"
      "pool: {discovery: {static: [\"h:1\"]}}\n",
      3, 1, "listn: unknown field (allowed: apiVersion, kind, metadata, listen");
  expect_error(
      "apiVersion: ringgate.io/v1\nkind: Gateway\npool: {discovery: {static: [\"h:1\"]}}\n"
      "timeouts:\n  request: 5s\n  requst: 5s\n",
      6, 3, "Gateway: timeouts.requst: unknown field in timeouts");
  expect_error(rewrite("  rules:\n  - targets:\n    - modelRewrite: m\n      wieght: 3\n"), 12, 7,
               "spec.rules[0].targets[0].wieght: unknown field");
  expect_error(rewrite("  rules:\n  - matches: [{model: {value: a, kind: Exact}}]\n    targets: [{modelRewrite: m}]\n"),
               10, 34, "spec.rules[0].matches[0].model.kind: unknown field");
  expect_error(gateway +
                   "apiVersion: inference.networking.k8s.io/v1\nkind: InferencePool\nmetadata: {name: vllm}\n"
                   "spec:\n  selector: {matchLabels: {app: x}}\n  targetPortNumber: 8000\n",
               10, 3, "spec.targetPortNumber: unknown field", 2);  // a v1alpha2 field in v1; and targetPorts is missing
  expect_error(gateway +
                   "apiVersion: inference.networking.x-k8s.io/v1alpha2\nkind: InferenceObjective\n"
                   "metadata: {name: o, colour: red}\nspec: {criticality: Critical}\n",
               7, 21, "metadata.colour: unknown field", 2);
}

TEST_CASE("wrong types") {
  const std::string head = "apiVersion: ringgate.io/v1\nkind: Gateway\npool: {discovery: {static: [\"h:1\"]}}\n";
  expect_error(head + "listen: 8080\n", 4, 9, "listen: expected a map, got a scalar");
  expect_error(head + "workers: \"4\"\n", 4, 10, "workers: expected an integer, got the string \"4\"");
  expect_error(head + "workers: four\n", 4, 10, "expected an integer, got \"four\"");
  expect_error(head + "scheduler: {scorers: {queue: [1]}}\n", 4, 30,
               "scheduler.scorers.queue: expected a number, got a list");
  // A key that is no scorer names the scorers there are.
  expect_error(head + "scheduler: {scorers: {colour: 1}}\n", 4, 23,
               "scheduler.scorers.colour: unknown field in scheduler.scorers (allowed: " +
                   ringgate::sched::known_scorer_names() + ")");
  expect_error(head + "accessLog: {enabled: yes}\n", 4, 22, "accessLog.enabled: expected true or false, got \"yes\"");
  expect_error("apiVersion: ringgate.io/v1\nkind: Gateway\npool: {discovery: {static: \"h:1\"}}\n", 3, 28,
               "pool.discovery.static: expected a list, got a scalar");
  expect_error(rewrite("  rules: {matches: []}\n"), 9, 10, "spec.rules: expected a list, got a map");
}

TEST_CASE("static data-parallel entries: each port once, up to 8, one form at a time") {
  const std::string head = "apiVersion: ringgate.io/v1\nkind: Gateway\npool:\n  discovery:\n    static:\n";
  expect_error(head + "    - {address: \"h:1\", targetPorts: [1, 2, 1]}\n", 6, 44,
               "pool.discovery.static[0].targetPorts[2]: duplicate port 1 (also pool.discovery.static[0].targetPorts[0])");
  expect_error(head + "    - {address: \"h:1\", targetPorts: [1, 2, 3, 4, 5, 6, 7, 8, 9]}\n", 6, 37,
               "targetPorts: must list 1 to 8 ports (one per data-parallel rank), not 9");
  expect_error(head + "    - {address: \"h:1\", targetPorts: [2, 1]}\n", 6, 38,
               "targetPorts[0]: must be the address's port (rank 0), 1");
  expect_error(head + "    - {address: \"h:1\", targetPorts: [1, 2], dataParallelSize: 2}\n", 6, 63,
               "dataParallelSize: give either targetPorts (a port per rank) or dataParallelSize");
  expect_error(head + "    - {address: \"h:1\", dataParallelSize: 65}\n", 6, 42, "dataParallelSize");
  expect_error(head + "    - {address: \"h:1\", dataParallelSize: 0}\n", 6, 42, "dataParallelSize");
  // A rank's port is an endpoint as any other: twice in the pool is an error.
  expect_error(head + "    - {address: \"h:1\", targetPorts: [1, 2]}\n    - \"h:2\"\n", 7, 7, "duplicate endpoint h:2");
}

TEST_CASE("out-of-range numbers") {
  const std::string head = "apiVersion: ringgate.io/v1\nkind: Gateway\npool: {discovery: {static: [\"h:1\"]}}\n";
  expect_error(head + "workers: -1\n", 4, 10, "workers: value -1 is out of range (0 to 1024)");
  expect_error(head + "workers: 5000\n", 4, 10, "out of range (0 to 1024)");
  expect_error(head + "scheduler: {scorers: {prefix: -3}}\n", 4, 31,
               "scheduler.scorers.prefix: value -3 is out of range");
  expect_error(head + "scheduler: {scorers: {queue: 0, kv-cache: 0, prefix: 0}}\n", 4, 22,
               "at least one scorer weight must be above 0");
  expect_error(head + "scheduler: {prefixBlockBytes: 0}\n", 4, 31,
               "scheduler.prefixBlockBytes: value 0 is out of range");
  expect_error(head + "scheduler: {prefixIndexMemoryBytes: 4Ki}\n", 4, 37,
               "scheduler.prefixIndexMemoryBytes: size 4Ki is out of range");
  expect_error(head + "retries: {budget: 11}\n", 4, 19, "retries.budget: value 11 is out of range (0 to 10)");
  expect_error(head + "limits: {maxBodyBytes: 10GB}\n", 4, 24, "limits.maxBodyBytes: expected a byte size");
  expect_error(head + "limits: {maxHeaderBytes: 100}\n", 4, 26, "limits.maxHeaderBytes: size 100 is out of range");
  expect_error(head + "metrics: {pollInterval: 1ms}\n", 4, 25,
               "metrics.pollInterval: duration 1ms is out of range (5ms to 1h)");
  expect_error(head + "health: {ejectBase: 10s, ejectMax: 5s}\n", 4, 36,
               "health.ejectMax: must not be below health.ejectBase (10s)");
  expect_error(head + "scheduler: {loadGuard: {ratio: 1}}\n", 4, 32, "scheduler.loadGuard.ratio: must be above 1");
  expect_error(head + "scheduler: {headroomSelectionStrategy: tightest}\n", 4, 40,
               "scheduler.headroomSelectionStrategy: must be least or most");
  expect_error(head + "scheduler: {headroomSelectionStrategy: [most]}\n", 4, 40,
               "scheduler.headroomSelectionStrategy: expected a string");
  expect_error(head + "scheduler: {sessionKeys: [prompt_cache_key, cookie]}\n", 4, 0,
               "scheduler.sessionKeys[1]: \"cookie\" is not a session key");
  expect_error(head + "scheduler: {sessionKeys: [user, header, user]}\n", 4, 0,
               "scheduler.sessionKeys[2]: \"user\" is listed twice");
  expect_error(head + "scheduler: {sessionKeys: [user, header, user, safety_identifier, prompt_cache_key]}\n", 4, 0,
               "scheduler.sessionKeys: lists at most 4 keys");
  expect_error(head + "scheduler: {sessionKeys: user}\n", 4, 0, "scheduler.sessionKeys");
  expect_error(head + "scheduler: {loadSignal: {mode: both}}\n", 4, 32, "scheduler.loadSignal.mode: must be local or shared");
  expect_error(head + "scheduler: {loadSignal: {step: 0.5}}\n", 4, 32,
               "scheduler.loadSignal.step: value 0.5 is out of range (1 to 1000000)");
  expect_error(head + "scheduler: {loadSignal: {kvStep: 2}}\n", 4, 34,
               "scheduler.loadSignal.kvStep: value 2 is out of range (0.01 to 1)");
  expect_error(head + "scheduler: {loadSignal: {noiseBand: sqrt}}\n", 4, 37,
               "scheduler.loadSignal.noiseBand: expected true or false, got \"sqrt\"");
}

TEST_CASE("bad durations") {
  const std::string head = "apiVersion: ringgate.io/v1\nkind: Gateway\npool: {discovery: {static: [\"h:1\"]}}\n";
  expect_error(head + "timeouts:\n  request: 5 seconds\n", 5, 12,
               "timeouts.request: unknown unit in duration \"5 seconds\"");
  expect_error(head + "metrics:\n  pollInterval: 50\n", 5, 17, "metrics.pollInterval: missing unit in duration \"50\"");
  expect_error(head + "timeouts: {drain: -5s}\n", 4, 19, "timeouts.drain: negative duration");
  expect_error(head + "timeouts: {upstreamConnect: {}}\n", 4, 29, "expected a duration string");
}

TEST_CASE("bad addresses") {
  expect_error(
      "apiVersion: ringgate.io/v1\nkind: Gateway\npool:\n  discovery:\n    static:\n"
      "    - 10.0.0.1:8000\n    - 10.0.0.2\n",
      7, 7, "pool.discovery.static[1]: invalid address \"10.0.0.2\": missing :port");
  expect_error(
      "apiVersion: ringgate.io/v1\nkind: Gateway\npool: {discovery: {static: [\"h:1\"]}}\nlisten: {api: \":99999\"}\n",
      4, 15, "listen.api: invalid address \":99999\": port must be 1-65535");
  expect_error("apiVersion: ringgate.io/v1\nkind: Gateway\npool: {discovery: {static: [\"http://h:1\"]}}\n", 3, 29,
               "not a URL");
  expect_error("apiVersion: ringgate.io/v1\nkind: Gateway\npool: {discovery: {static: [\"h:1\", \"h:1\"]}}\n", 3, 36,
               "pool.discovery.static[1]: duplicate endpoint h:1");
  expect_error(
      "apiVersion: ringgate.io/v1\nkind: Gateway\npool: {discovery: {static: [\"h:1\"]}}\n"
      "listen: {api: \":8080\", admin: \":8080\"}\n",
      4, 31, "listen.admin: must differ from listen.api");
  expect_error(
      "apiVersion: ringgate.io/v1\nkind: Gateway\npool: {discovery: {static: [\"h:1\"]}}\n"
      "listen: {api: \":9090\"}\n",
      4, 15, "listen.api: must differ from listen.admin");  // the default admin address
}

TEST_CASE("a static entry's host name: at most 253 bytes (a DNS name's limit), said with the field") {
  const std::string head = "apiVersion: ringgate.io/v1\nkind: Gateway\npool:\n  discovery:\n    static:\n";
  // 253 bytes: three labels of 63 and one of 61, dots between.
  const std::string label(63, 'a');
  const std::string name253 = label + "." + label + "." + label + "." + std::string(61, 'a');
  REQUIRE(name253.size() == 253);
  LoadResult ok = load_config_text(head + "    - " + name253 + ":8000\n", "ok.yaml");
  INFO("errors:\n" << listing(ok));
  CHECK(ok.ok());
  expect_error(head + "    - " + name253 + "b:8000\n", 6, 7, "pool.discovery.static[0]: invalid address \"aaaa");
  expect_error(head + "    - " + name253 + "b:8000\n", 6, 7, "host name longer than 253 bytes");
  expect_error(head + "    - {address: \"h:1\", kind: gateway, admin: \"" + name253 + "b:9\"}\n", 6, 0,
               "pool.discovery.static[0].admin: invalid address");
}

TEST_CASE("pool.discovery.resolveInterval: 1s..1h") {
  const std::string head = "apiVersion: ringgate.io/v1\nkind: Gateway\n";
  for (const char* good : {"1s", "1h"}) {
    LoadResult r =
        load_config_text(head + "pool: {discovery: {static: [\"h:1\"], resolveInterval: " + good + "}}\n", "ok.yaml");
    INFO(good << " errors:\n" << listing(r));
    CHECK(r.ok());
  }
  expect_error(head + "pool: {discovery: {static: [\"h:1\"], resolveInterval: 999ms}}\n", 3, 0,
               "pool.discovery.resolveInterval");
  expect_error(head + "pool: {discovery: {static: [\"h:1\"], resolveInterval: 3601s}}\n", 3, 0,
               "pool.discovery.resolveInterval");
}

TEST_CASE("listen.tls: certFile and keyFile both, a bounded handshake timeout, known fields only") {
  const std::string head = "apiVersion: ringgate.io/v1\nkind: Gateway\npool: {discovery: {static: [\"h:1\"]}}\n";
  expect_error(head + "listen: {tls: {certFile: /c.pem}}\n", 4, 15, "listen.tls.keyFile: required: listen.tls needs certFile and keyFile");
  expect_error(head + "listen: {tls: {keyFile: /k.pem}}\n", 4, 15, "listen.tls.certFile: required");
  expect_error(head + "listen: {tls: {certFile: /c.pem, keyFile: /k.pem, handshakeTimeout: 5m}}\n", 4, 69,
               "listen.tls.handshakeTimeout: duration 5m is out of range (10ms to 1m)");
  expect_error(head + "listen: {tls: {certFile: /c.pem, keyFile: /k.pem, ciphers: x}}\n", 4, 51,
               "listen.tls.ciphers: unknown field in listen.tls");
  expect_error(head + "listen: {tls: {certFile: \"\", keyFile: /k.pem}}\n", 4, 26, "listen.tls.certFile: must not be empty");
}

TEST_CASE("InferencePool discovery: one of service / inferencePool, no port, a valid name") {
  const std::string head = "apiVersion: ringgate.io/v1\nkind: Gateway\npool:\n  discovery:\n    kubernetes: ";
  expect_error(head + "{service: s, port: http, inferencePool: p}\n", 5, 0,
               "give either 'service' (with 'port') or 'inferencePool', not both");
  expect_error(head + "{inferencePool: p, port: 8000}\n", 5, 0, "not used with 'inferencePool'");
  expect_error(head + "{inferencePool: Bad_Pool}\n", 5, 0, "is not a valid InferencePool name");
  expect_error(head + "{inferencePool: p, watchRules: maybe}\n", 5, 0, "watchRules");
  expect_error(head + "{namespace: llm}\n", 5, 0, "missing required field 'service' (or 'inferencePool')", 2);
  expect_error(head + "{inferencePool: p, inferencePoolGroup: example.com}\n", 5, 0,
               "must be inference.networking.k8s.io or inference.networking.x-k8s.io");
  expect_error(head + "{service: s, port: http, inferencePoolGroup: inference.networking.k8s.io}\n", 5, 0,
               "inferencePoolGroup: only with 'inferencePool'");
}

TEST_CASE("missing or contradictory pool") {
  expect_error("apiVersion: ringgate.io/v1\nkind: Gateway\nworkers: 2\n", 1, 1, "Gateway: missing pool");
  expect_error("apiVersion: ringgate.io/v1\nkind: Gateway\npool: {name: p}\n", 3, 7,
               "pool: missing required field 'discovery'");
  expect_error("apiVersion: ringgate.io/v1\nkind: Gateway\npool: {discovery: {}}\n", 3, 19,
               "pool.discovery: needs 'static: [host:port, ...]' or 'kubernetes: {...}'");
  expect_error(
      "apiVersion: ringgate.io/v1\nkind: Gateway\npool: {discovery: {static: [\"h:1\"], kubernetes: {service: s, port: "
      "80}}}\n",
      3, 49, "give either 'static' or 'kubernetes', not both");
  expect_error("apiVersion: ringgate.io/v1\nkind: Gateway\npool: {discovery: {static: []}}\n", 3, 28,
               "needs at least one host:port endpoint");
  expect_error("apiVersion: ringgate.io/v1\nkind: Gateway\npool:\n  discovery:\n    kubernetes: {port: http}\n", 5, 17,
               "pool.discovery.kubernetes: missing required field 'service'");
  expect_error(
      "apiVersion: ringgate.io/v1\nkind: Gateway\npool:\n  discovery:\n    kubernetes: {service: s, port: HTTP_port}\n",
      5, 36, "pool.discovery.kubernetes.port: \"HTTP_port\" is neither a port number (1-65535) nor a valid port name");
  expect_error(
      "apiVersion: ringgate.io/v1\nkind: Gateway\npool:\n  discovery:\n    kubernetes: {service: s, port: 70000}\n", 5,
      36, "value 70000 is out of range (1 to 65535)");
  expect_error(
      "apiVersion: ringgate.io/v1\nkind: Gateway\npool:\n  discovery:\n"
      "    kubernetes: {service: s, port: 80, apiServer: \"127.0.0.1:8001\"}\n",
      5, 51, "pool.discovery.kubernetes.apiServer: expected a URL");
  // Rewrites alone, no Gateway and no flags: nowhere to send anything.
  expect_error(
      "apiVersion: inference.networking.x-k8s.io/v1alpha2\nkind: InferenceModelRewrite\n"
      "spec: {rules: [{targets: [{modelRewrite: m}]}]}\n",
      1, 1, "missing pool");
}

TEST_CASE("rewrite weights: range, type, mixing") {
  expect_error(rewrite("  rules:\n  - targets:\n    - {modelRewrite: a, weight: 0}\n"), 11, 33,
               "spec.rules[0].targets[0].weight: value 0 is out of range (1 to 1000000)");
  expect_error(rewrite("  rules:\n  - targets:\n    - {modelRewrite: a, weight: 1000001}\n"), 11, 33,
               "value 1000001 is out of range (1 to 1000000)");
  expect_error(rewrite("  rules:\n  - targets:\n    - {modelRewrite: a, weight: 1.5}\n"), 11, 33,
               "expected an integer, got \"1.5\"");
  expect_error(rewrite("  rules:\n  - targets:\n    - {modelRewrite: a, weight: 90}\n    - {modelRewrite: b}\n"), 11, 5,
               "spec.rules[0].targets: weights must be set on every target or on none (targets[0] has a weight, "
               "targets[1] has none)");
}

TEST_CASE("rewrite rules: required parts and matches") {
  expect_error(rewrite("  rules:\n  - matches: [{model: {value: a}}]\n"), 10, 5,
               "spec.rules[0].targets: missing required field 'targets'");
  expect_error(rewrite("  rules:\n  - targets: []\n"), 10, 14, "spec.rules[0].targets: needs at least one target");
  expect_error(rewrite("  rules:\n  - targets: [{weight: 5}]\n"), 10, 15,
               "spec.rules[0].targets[0]: missing required field 'modelRewrite'");
  expect_error(rewrite("  rules:\n  - targets: [{modelRewrite: \"\"}]\n"), 10, 30,
               "spec.rules[0].targets[0].modelRewrite: must not be empty");
  expect_error(rewrite("  poolRef: {name: vllm}\n"), 9, 3, "spec: missing required field 'rules'");
  expect_error(rewrite("  rules: []\n"), 9, 10, "spec.rules: needs at least one rule");
  expect_error(gateway + "apiVersion: inference.networking.x-k8s.io/v1alpha2\nkind: InferenceModelRewrite\n", 5, 1,
               "spec: missing required field 'spec'");
  expect_error(
      rewrite("  rules:\n  - matches: [{model: {type: Prefix, value: a}}]\n    targets: [{modelRewrite: m}]\n"), 10, 30,
      "unsupported match type \"Prefix\" (supported: Exact)");
  expect_error(rewrite("  rules:\n  - matches: [{model: {type: Exact}}]\n    targets: [{modelRewrite: m}]\n"), 10, 23,
               "spec.rules[0].matches[0].model: missing required field 'value'");
  expect_error(rewrite("  rules:\n  - matches: [{}]\n    targets: [{modelRewrite: m}]\n"), 10, 15,
               "spec.rules[0].matches[0]: missing required field 'model'");
}

TEST_CASE("duplicate rules") {
  // The same model in two rules of one document.
  expect_error(rewrite("  rules:\n  - matches: [{model: {value: a}}]\n    targets: [{modelRewrite: x}]\n"
                       "  - matches: [{model: {value: a}}]\n    targets: [{modelRewrite: y}]\n"),
               12, 5, "model \"a\" is already matched by the rule at line 10");
  // ... in two documents.
  const std::string second =
      "---\napiVersion: inference.networking.x-k8s.io/v1alpha2\nkind: InferenceModelRewrite\n"
      "metadata: {name: s}\nspec:\n  rules:\n  - matches: [{model: {value: a}}]\n"
      "    targets: [{modelRewrite: y}]\n";
  expect_error(rewrite("  rules:\n  - matches: [{model: {value: a}}]\n    targets: [{modelRewrite: x}]\n") + second, 18,
               5, "InferenceModelRewrite s: model \"a\" is already matched by the rule at line 10");
  // ... twice in one rule.
  expect_error(rewrite("  rules:\n  - matches: [{model: {value: a}}, {model: {value: a}}]\n"
                       "    targets: [{modelRewrite: x}]\n"),
               10, 52, "model \"a\" is matched twice in this rule");
  // Two catch-alls: the second could never apply.
  expect_error(
      rewrite("  rules:\n  - targets: [{modelRewrite: x}]\n  - matches: []\n    targets: [{modelRewrite: y}]\n"), 11, 5,
      "a second catch-all rule (no matches) would never be used; the first is at line 10");
}

TEST_CASE("pool references") {
  expect_error(rewrite("  poolRef: {name: other}\n  rules: [{targets: [{modelRewrite: m}]}]\n"), 9, 12,
               "spec.poolRef.name: unknown pool \"other\" (this gateway's pool is \"vllm\")");
  expect_error(rewrite("  poolRef: {kind: Service, name: vllm}\n  rules: [{targets: [{modelRewrite: m}]}]\n"), 9, 19,
               "spec.poolRef.kind: must be InferencePool, got \"Service\"");
  expect_error(rewrite("  poolRef: {group: \"\"}\n  rules: [{targets: [{modelRewrite: m}]}]\n"), 9, 12,
               "spec.poolRef: missing required field 'name'", 2);  // and the empty group
  expect_error(gateway +
                   "apiVersion: inference.networking.x-k8s.io/v1alpha2\nkind: InferenceObjective\n"
                   "metadata: {name: o}\nspec: {poolRef: {name: elsewhere}}\n",
               8, 17, "InferenceObjective o: spec.poolRef.name: unknown pool \"elsewhere\"");
}

TEST_CASE("InferencePool and InferenceObjective shape") {
  const std::string pool_head = gateway + "apiVersion: inference.networking.k8s.io/v1\nkind: InferencePool\n";
  expect_error(pool_head + "metadata: {name: vllm}\nspec:\n  targetPorts: [{number: 8000}]\n", 9, 3,
               "spec: missing required field 'selector'");
  expect_error(
      pool_head + "metadata: {name: vllm}\nspec:\n  selector: {matchLabels: {}}\n  targetPorts: [{number: 8000}]\n", 9,
      27, "spec.selector.matchLabels: needs at least one label");
  // GAIE v1: up to 8 ports, one data-parallel rank each; a ninth, or a port twice, is an error where it is.
  expect_error(pool_head +
                   "metadata: {name: vllm}\nspec:\n  selector: {matchLabels: {a: b}}\n"
                   "  targetPorts: [{number: 8000}, {number: 8000}]\n",
               10, 42, "spec.targetPorts[1].number: duplicate port 8000 (also spec.targetPorts[0])");
  expect_error(pool_head +
                   "metadata: {name: vllm}\nspec:\n  selector: {matchLabels: {a: b}}\n"
                   "  targetPorts: [{number: 1}, {number: 2}, {number: 3}, {number: 4}, {number: 5}, {number: 6},"
                   " {number: 7}, {number: 8}, {number: 9}]\n",
               10, 16, "spec.targetPorts: must list 1 to 8 ports (one per data-parallel rank), e.g. [{number: 8000}], not 9");
  expect_error(pool_head + "metadata: {name: vllm}\nspec:\n  selector: {matchLabels: {a: b}}\n  targetPorts: []\n", 10,
               16, "spec.targetPorts: must list 1 to 8 ports");
  expect_error(pool_head + "spec:\n  selector: {matchLabels: {a: b}}\n  targetPorts: [{number: 8000}]\n", 5, 1,
               "metadata: missing required field 'metadata.name'");
  expect_error(
      pool_head + "metadata: {name: other}\nspec:\n  selector: {matchLabels: {a: b}}\n  targetPorts: [{number: 1}]\n",
      5, 1, "InferencePool other: name must match the gateway's pool \"vllm\"");
  expect_error(pool_head +
                   "metadata: {name: vllm}\nspec:\n  selector: {matchLabels: {a: b}}\n  targetPorts: [{number: 1}]\n"
                   "  endpointPickerRef: {name: epp, failureMode: Sometimes}\n",
               11, 47, "must be FailOpen or FailClose");
  const std::string objective_head =
      gateway + "apiVersion: inference.networking.x-k8s.io/v1alpha2\nkind: InferenceObjective\n";
  expect_error(objective_head + "metadata: {name: o}\nspec: {priority: high}\n", 8, 18,
               "spec.priority: expected an integer, got \"high\"");
  expect_error(objective_head + "spec: {priority: 1}\n", 5, 1, "missing required field 'metadata.name'");
  expect_error(objective_head + "metadata: {name: o}\n---\n" +
                   "apiVersion: inference.networking.x-k8s.io/v1alpha2\n"
                   "kind: InferenceObjective\nmetadata: {name: o}\n",
               9, 1, "InferenceObjective o: duplicate name (first at line 5)");
}

TEST_CASE("duplicate keys and a second Gateway") {
  expect_error(
      "apiVersion: ringgate.io/v1\nkind: Gateway\npool: {discovery: {static: [\"h:1\"]}}\nworkers: 2\nworkers: 3\n", 5,
      1, "workers: duplicate key (first at line 4)");
  expect_error(gateway + "apiVersion: ringgate.io/v1\nkind: Gateway\n", 6, 7,
               "a second Gateway document; the first is at line 1");
}

TEST_CASE("all errors of a file are reported, in line order") {
  const std::string text = R"(apiVersion: ringgate.io/v1
kind: Gateway
workers: -2
pool: {discovery: {static: ["10.0.0.1"]}}
timeouts: {request: soon}
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceModelRewrite
spec:
  rules:
  - matches: [{model: {value: a}}]
    targets: [{modelRewrite: x, weight: 0}]
---
kind: Mystery
apiVersion: v1
)";
  LoadResult result = load_config_text(text, "many.yaml");
  INFO(listing(result));
  REQUIRE(result.errors.size() == 5);
  CHECK(result.errors[0].position.line == 3);
  CHECK(result.errors[1].position.line == 4);
  CHECK(result.errors[2].position.line == 5);
  CHECK(result.errors[3].position.line == 12);
  CHECK(result.errors[4].position.line == 14);
  CHECK(format_error(result.errors[0]) == "many.yaml:3:10: Gateway: workers: value -2 is out of range (0 to 1024)");
  CHECK(format_error(result.errors[4]).starts_with("many.yaml:14:7: kind: unknown kind \"Mystery\""));
}

TEST_CASE("a stray comma, on which yaml-cpp 0.7's LoadAll would loop forever, is an error") {
  expect_error(",\n", 1, 1, "invalid YAML: unexpected ','");
  expect_error(",a: b\n", 1, 1, "invalid YAML: unexpected ','");
  expect_error(gateway + ", kind: Gateway\n", 5, 1, "invalid YAML: unexpected ','");
  expect_error(std::string(130, ',') + "apiiscovery:timeouest: \x13\x00" + "5x}\n", 1, 1, "invalid YAML");
}

TEST_CASE("hostile input does not crash or hang") {
  // Deep nesting, aliases, odd scalars, binary junk: each gives errors, nothing throws.
  std::string deep = "apiVersion: ringgate.io/v1\nkind: Gateway\nlisten: " + std::string(5000, '[') + "\n";
  CHECK_FALSE(load_config_text(deep).ok());
  CHECK_FALSE(load_config_text("a: &x [*x]\n").ok());
  CHECK_FALSE(load_config_text(std::string("\0\1\2\3", 4)).ok());
  CHECK_FALSE(load_config_text("apiVersion: ringgate.io/v1\nkind: Gateway\n? [complex]\n: key\n").ok());
  CHECK_FALSE(load_config_text("apiVersion: ringgate.io/v1\nkind: [Gateway]\n").ok());
  CHECK_FALSE(load_config_text("- - - -\n").ok());
  LoadResult missing = load_config_file("/nonexistent/ringgate.yaml");
  REQUIRE(missing.errors.size() == 1);
  CHECK(format_error(missing.errors[0]) == "/nonexistent/ringgate.yaml: cannot open: No such file or directory");
  LoadResult directory = load_config_file("/tmp");
  REQUIRE(directory.errors.size() == 1);
  CHECK(directory.errors[0].message.find("is a directory") != std::string::npos);
}

TEST_CASE("io.backend: auto, io_uring or epoll; anything else is an error at its line") {
  const std::string head =
      "apiVersion: ringgate.io/v1\nkind: Gateway\npool: {discovery: {static: [\"127.0.0.1:8000\"]}}\n";
  for (const char* good : {"auto", "io_uring", "epoll"}) {
    LoadResult result = load_config_text(head + "io: {backend: " + good + "}\n", "io.yaml");
    INFO(listing(result));
    REQUIRE(result.ok());
  }
  expect_error(head + "io:\n  backend: uring\n", 5, 12, "must be one of auto, io_uring, epoll");
  expect_error(head + "io: {backends: epoll}\n", 4, 0, "backends");
}

TEST_CASE("pool.discovery.static {address, role}: a known role, a required address, known keys") {
  const std::string head = "apiVersion: ringgate.io/v1\nkind: Gateway\npool:\n  discovery:\n    static:\n";
  expect_error(head + "    - {address: \"h:1\", role: prefil}\n", 6, 30,
               "pool.discovery.static[0].role: must be prefill, decode or both (got \"prefil\")");
  expect_error(head + "    - {address: \"h:1\", role: Prefill}\n", 6, 30, "must be prefill, decode or both");
  expect_error(head + "    - {address: \"h:1\", role: \"\"}\n", 6, 30,
               "pool.discovery.static[0].role: must not be empty");
  expect_error(head + "    - {address: \"h:1\", role: [prefill]}\n", 6, 30, "pool.discovery.static[0].role: expected");
  expect_error(head + "    - h:1\n    - {role: decode}\n", 7, 7,
               "pool.discovery.static[1]: missing required field 'address'");
  expect_error(head + "    - {address: \"h:1\", weight: 2}\n", 6, 24, "pool.discovery.static[0].weight: unknown field");
  expect_error(head + "    - {address: \"h\", role: decode}\n", 6, 17,
               "pool.discovery.static[0].address: invalid address \"h\": missing :port");
  expect_error(head + "    - h:1\n    - {address: \"h:1\", role: decode}\n", 7, 7,
               "pool.discovery.static[1]: duplicate endpoint h:1");
}

TEST_CASE("hedging: types and bounds") {
  const std::string head = "apiVersion: ringgate.io/v1\nkind: Gateway\npool: {discovery: {static: [\"h:1\"]}}\n";
  expect_error(head + "hedging: {enabled: yes please}\n", 4, 20, "hedging.enabled: expected true or false");
  expect_error(head + "hedging: {maxExtraLoad: 1.5}\n", 4, 25, "hedging.maxExtraLoad: value 1.5 is out of range");
  expect_error(head + "hedging: {maxExtraLoad: -0.1}\n", 4, 25, "hedging.maxExtraLoad: value -0.1 is out of range");
  expect_error(head + "hedging: {headroom: 2}\n", 4, 21, "hedging.headroom: value 2 is out of range");
  expect_error(head + "hedging: {budget: 0.05}\n", 4, 11, "hedging.budget: unknown field");
  expect_error(head + "hedging: true\n", 4, 10, "hedging: expected a map");
}

TEST_CASE("disaggregation: types and bounds") {
  const std::string head = "apiVersion: ringgate.io/v1\nkind: Gateway\npool: {discovery: {static: [\"h:1\"]}}\n";
  expect_error(head + "disaggregation: {enabled: auto}\n", 4, 27,
               "disaggregation.enabled: expected true or false, got \"auto\"");
  expect_error(head + "disaggregation: {nonCachedTokens: -1}\n", 4, 35,
               "disaggregation.nonCachedTokens: value -1 is out of range (0 to 1000000)");
  expect_error(head + "disaggregation: {nonCachedTokens: 1000001}\n", 4, 35,
               "disaggregation.nonCachedTokens: value 1000001 is out of range (0 to 1000000)");
  expect_error(head + "disaggregation: {prefillTimeout: 500us}\n", 4, 34,
               "disaggregation.prefillTimeout: duration 500us is out of range (1ms to 1h)");
  expect_error(head + "disaggregation: {prefillTimeout: 61m}\n", 4, 34,
               "disaggregation.prefillTimeout: duration 61m is out of range (1ms to 1h)");
  expect_error(head + "disaggregation: {prefillTimeout: 30}\n", 4, 34,
               "disaggregation.prefillTimeout: missing unit in duration \"30\"");
  expect_error(head + "disaggregation: {timeout: 30s}\n", 4, 18, "disaggregation.timeout: unknown field");
  expect_error(head + "disaggregation: true\n", 4, 17, "disaggregation: expected a map");
}

TEST_CASE("scaleFromZero: wakeUrl is an http URL with a host, wakeInterval 100ms..1h") {
  const std::string head = "apiVersion: ringgate.io/v1\nkind: Gateway\npool: {discovery: {static: [\"h:1\"]}}\n";
  for (const char* url :
       {"https://scaler/wake", "scaler:8080/wake", "http://", "http:///wake", "http://h:/w", "http://h/a b"})
    expect_error(head + "scaleFromZero: {wakeUrl: \"" + url + "\"}\n", 4, 26,
                 "scaleFromZero.wakeUrl: must be an http://host[:port][/path] URL");
  CHECK(load_config_text(head + "scaleFromZero: {wakeUrl: \"http://scaler:8080/wake\"}\n", "ok.yaml").ok());
  CHECK(load_config_text(head + "scaleFromZero: {wakeUrl: \"\"}\n", "ok.yaml").ok());
  expect_error(head + "scaleFromZero: {wakeInterval: 99ms}\n", 4, 31, "scaleFromZero.wakeInterval");
  CHECK(load_config_text(head + "scaleFromZero: {wakeInterval: 100ms}\n", "ok.yaml").ok());
  CHECK(load_config_text(head + "scaleFromZero: {wakeInterval: 1h}\n", "ok.yaml").ok());
  expect_error(head + "scaleFromZero: {wakeInterval: 1h1s}\n", 4, 31, "scaleFromZero.wakeInterval");
}

TEST_CASE("pool.discovery.static kind gateway and hub.maxHops: known kinds, an admin address, bounds") {
  const std::string head = "apiVersion: ringgate.io/v1\nkind: Gateway\npool:\n  discovery:\n    static:\n";
  expect_error(head + "    - {address: \"h:1\", kind: leaf}\n", 6, 30,
               "pool.discovery.static[0].kind: must be server or gateway (got \"leaf\")");
  expect_error(head + "    - {address: \"h:1\", kind: gateway}\n", 6, 7,
               "pool.discovery.static[0]: kind gateway needs 'admin'");
  expect_error(head + "    - {address: \"h:1\", admin: \"h:2\"}\n", 6, 7,
               "pool.discovery.static[0]: 'admin' and 'adminKeyFile' are for kind gateway");
  expect_error(head + "    - {address: \"h:1\", kind: gateway, admin: \"h\"}\n", 6, 0, "admin: invalid address");
  expect_error(head + "    - {address: \"h:1\", kind: gateway, admin: \"h:2\", priority: 256}\n", 6, 0,
               "pool.discovery.static[0].priority: value 256 is out of range");
  expect_error(head + "    - {address: \"h:1\", kind: gateway, admin: \"h:2\", priority: -1}\n", 6, 0,
               "pool.discovery.static[0].priority: value -1 is out of range");
  const std::string pool = "apiVersion: ringgate.io/v1\nkind: Gateway\npool: {discovery: {static: [\"h:1\"]}}\n";
  expect_error(pool + "hub: {maxHops: 17}\n", 4, 0, "hub.maxHops: value 17 is out of range");
  expect_error(pool + "hub: {hops: 1}\n", 4, 0, "hub.hops: unknown field");
}
