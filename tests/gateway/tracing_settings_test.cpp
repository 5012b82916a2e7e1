// Tracing's settings (gateway/tracing_settings.h): the Gateway document's tracing map, and
// OpenTelemetry's environment variables where the file sets nothing, read through a table
// (never the process's environment).
#include "ringgate/gateway/tracing_settings.h"

#include <doctest/doctest.h>

#include <map>
#include <set>
#include <string>

using namespace ringgate;

namespace {

struct Resolved {
  std::string error;
  proxy::TracingOptions proxy;
  std::optional<control::OtlpExporterOptions> exporter;
};

// `file`: the tracing map with the keys it set (null: no map).
Resolved resolve(const std::map<std::string, std::string>& env, const config::TracingConfig* file = nullptr,
                 std::set<std::string> set = {}) {
  Resolved r;
  r.proxy.enabled = true;  // resolve_tracing decides
  auto sets = [&](std::string_view path) { return set.count(std::string(path)) > 0; };
  auto lookup = [&](const char* name) -> const char* {
    const auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  r.error = gateway::resolve_tracing(file, sets, lookup, r.proxy, r.exporter);
  return r;
}

}  // namespace

TEST_CASE("no endpoint from the file or the environment: off") {
  const Resolved r = resolve({{"OTEL_SERVICE_NAME", "svc"}, {"OTEL_TRACES_SAMPLER", "always_on"}});
  CHECK(r.error.empty());
  CHECK_FALSE(r.proxy.enabled);
  CHECK_FALSE(r.exporter.has_value());
}

TEST_CASE("OTEL_EXPORTER_OTLP_ENDPOINT is a base (/v1/traces appended); the TRACES one is used as it is and wins") {
  Resolved r = resolve({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"}});
  REQUIRE(r.error.empty());
  CHECK(r.proxy.enabled);
  REQUIRE(r.exporter.has_value());
  CHECK(r.exporter->host == "collector");
  CHECK(r.exporter->port == 4318);
  CHECK(r.exporter->path == "/v1/traces");
  CHECK(r.exporter->service_name == "ringgate");
  CHECK(r.proxy.parent_based);  // the default sampler: parentbased_always_on
  CHECK(r.proxy.sample_ratio == 1.0);

  r = resolve({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/base"},
               {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://[::1]:9999/custom/path"}});
  REQUIRE(r.error.empty());
  CHECK(r.exporter->host == "::1");
  CHECK(r.exporter->port == 9999);
  CHECK(r.exporter->path == "/custom/path");

  r = resolve({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector/base"}});
  CHECK(r.exporter->port == 80);
  CHECK(r.exporter->path == "/base/v1/traces");
}

TEST_CASE("bad endpoints are errors, not silence") {
  CHECK(resolve({{"OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4318"}}).error.find("https") != std::string::npos);
  CHECK_FALSE(resolve({{"OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"}}).error.empty());
  CHECK_FALSE(resolve({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:0"}}).error.empty());
  CHECK_FALSE(resolve({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:99999"}}).error.empty());
  CHECK_FALSE(resolve({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://:4318"}}).error.empty());
  CHECK_FALSE(resolve({{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://[::1"}}).error.empty());
}

TEST_CASE("OTEL_TRACES_SAMPLER and its argument") {
  const std::map<std::string, std::string> base = {{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"}};
  auto with = [&](std::string sampler, std::string arg = "") {
    auto env = base;
    env["OTEL_TRACES_SAMPLER"] = sampler;
    if (!arg.empty()) env["OTEL_TRACES_SAMPLER_ARG"] = arg;
    return resolve(env);
  };
  Resolved r = with("always_off");
  CHECK(r.error.empty());
  CHECK(r.proxy.enabled);  // on, sampling nothing it starts
  CHECK(r.proxy.sample_ratio == 0.0);
  CHECK_FALSE(r.proxy.parent_based);
  r = with("traceidratio", "0.25");
  CHECK(r.proxy.sample_ratio == 0.25);
  CHECK_FALSE(r.proxy.parent_based);
  r = with("parentbased_traceidratio", " 0.01 ");
  CHECK(r.proxy.sample_ratio == 0.01);
  CHECK(r.proxy.parent_based);
  r = with("parentbased_always_off");
  CHECK(r.proxy.parent_based);
  CHECK(r.proxy.sample_ratio == 0.0);
  r = with("traceidratio");  // no argument: 1.0, as the spec says
  CHECK(r.proxy.sample_ratio == 1.0);
  CHECK(with("traceidratio", "1.5").error.find("OTEL_TRACES_SAMPLER_ARG") != std::string::npos);
  CHECK(with("traceidratio", "half").error.find("OTEL_TRACES_SAMPLER_ARG") != std::string::npos);
  CHECK(with("traceidratio", "-0.1").error.find("OTEL_TRACES_SAMPLER_ARG") != std::string::npos);
  CHECK(with("jaeger_remote").error.find("unsupported sampler") != std::string::npos);
}

TEST_CASE("OTEL_EXPORTER_OTLP_HEADERS: k=v pairs, trimmed, percent-decoded; the TRACES one wins; bad ones refused") {
  std::map<std::string, std::string> env = {{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"},
                                            {"OTEL_EXPORTER_OTLP_HEADERS", " api-key = secret%20one ,x-tenant=a%3Db,,"},
                                            {"OTEL_SERVICE_NAME", "edge"}};
  Resolved r = resolve(env);
  REQUIRE(r.error.empty());
  REQUIRE(r.exporter->headers.size() == 2);
  CHECK(r.exporter->headers[0] == std::pair<std::string, std::string>{"api-key", "secret one"});
  CHECK(r.exporter->headers[1] == std::pair<std::string, std::string>{"x-tenant", "a=b"});
  CHECK(r.exporter->service_name == "edge");

  env["OTEL_EXPORTER_OTLP_TRACES_HEADERS"] = "only=this";
  r = resolve(env);
  REQUIRE(r.exporter->headers.size() == 1);
  CHECK(r.exporter->headers[0].first == "only");

  env.erase("OTEL_EXPORTER_OTLP_TRACES_HEADERS");
  env["OTEL_EXPORTER_OTLP_HEADERS"] = "novalue";
  CHECK(resolve(env).error.find("not key=value") != std::string::npos);
  env["OTEL_EXPORTER_OTLP_HEADERS"] = "bad name=v";
  CHECK(resolve(env).error.find("bad header name") != std::string::npos);
  env["OTEL_EXPORTER_OTLP_HEADERS"] = "k=a%0d%0aInjected: 1";  // no header splitting
  CHECK(resolve(env).error.find("bad value") != std::string::npos);
}

TEST_CASE("the file wins over the environment, key by key; an empty endpoint in the file is off") {
  config::TracingConfig file;
  file.endpoint = "http://from-file:4318";
  file.sample_ratio = 0.5;
  file.service_name = "file-svc";
  file.headers = {{"a", "b"}};
  const std::map<std::string, std::string> env = {{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://from-env:1/x"},
                                                  {"OTEL_SERVICE_NAME", "env-svc"},
                                                  {"OTEL_TRACES_SAMPLER", "always_off"},
                                                  {"OTEL_EXPORTER_OTLP_HEADERS", "c=d"}};
  Resolved r = resolve(env, &file, {"tracing.endpoint", "tracing.sampleRatio", "tracing.serviceName", "tracing.headers"});
  REQUIRE(r.error.empty());
  CHECK(r.exporter->host == "from-file");
  CHECK(r.exporter->path == "/v1/traces");
  CHECK(r.proxy.sample_ratio == 0.5);
  CHECK(r.proxy.parent_based);
  CHECK(r.exporter->service_name == "file-svc");
  REQUIRE(r.exporter->headers.size() == 1);
  CHECK(r.exporter->headers[0].first == "a");

  // Only the endpoint in the file: the rest from the environment.
  r = resolve(env, &file, {"tracing.endpoint"});
  REQUIRE(r.error.empty());
  CHECK(r.exporter->host == "from-file");
  CHECK(r.exporter->service_name == "env-svc");
  CHECK(r.proxy.sample_ratio == 0.0);
  CHECK(r.exporter->headers[0].first == "c");

  file.endpoint.clear();
  r = resolve(env, &file, {"tracing.endpoint"});
  CHECK(r.error.empty());
  CHECK_FALSE(r.proxy.enabled);
  CHECK_FALSE(r.exporter.has_value());
}
