#include "ringgate/gateway/tracing_settings.h"

#include <charconv>
#include <cstdlib>

namespace ringgate::gateway {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int v = 0;
      const auto [end, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
      if (ec == std::errc() && end == s.data() + i + 3) {
        out += char(v);
        i += 2;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

// OTEL_EXPORTER_OTLP_HEADERS: "k=v,k2=v2".
std::string parse_headers(std::string_view text, std::vector<std::pair<std::string, std::string>>& out) {
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find(',', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view item = trim(text.substr(pos, end - pos));
    if (!item.empty()) {
      const size_t eq = item.find('=');
      if (eq == std::string_view::npos || trim(item.substr(0, eq)).empty())
        return "OTEL_EXPORTER_OTLP_HEADERS: not key=value: " + std::string(item);
      std::string name = percent_decode(trim(item.substr(0, eq)));
      std::string value = percent_decode(trim(item.substr(eq + 1)));
      for (char c : name)
        if (c <= ' ' || c == ':') return "OTEL_EXPORTER_OTLP_HEADERS: bad header name " + name;
      for (char c : value)
        if (c == '\r' || c == '\n' || c == '\0') return "OTEL_EXPORTER_OTLP_HEADERS: bad value for " + name;
      out.emplace_back(std::move(name), std::move(value));
    }
    pos = end + 1;
  }
  return {};
}

}  // namespace

std::string resolve_tracing(const config::TracingConfig* file, const std::function<bool(std::string_view)>& file_sets,
                            const EnvLookup& env, proxy::TracingOptions& proxy,
                            std::optional<control::OtlpExporterOptions>& exporter) {
  const config::TracingConfig defaults;
  const config::TracingConfig& t = file ? *file : defaults;
  auto from_file = [&](std::string_view key) { return file != nullptr && file_sets(std::string("tracing.") += key); };
  auto var = [&](const char* name) -> std::string_view {
    const char* v = env(name);
    return v ? std::string_view(v) : std::string_view();
  };
  exporter.reset();
  proxy.enabled = false;
  control::OtlpExporterOptions o;
  std::string error;
  if (from_file("endpoint") && t.endpoint.empty()) return {};  // off, whatever the environment says
  if (from_file("endpoint")) error = control::parse_otlp_endpoint(t.endpoint, false, o);
  else if (!var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").empty())
    error = control::parse_otlp_endpoint(var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), true, o);
  else if (!var("OTEL_EXPORTER_OTLP_ENDPOINT").empty())
    error = control::parse_otlp_endpoint(var("OTEL_EXPORTER_OTLP_ENDPOINT"), false, o);
  else
    return {};  // off
  if (!error.empty()) return error;

  o.service_name = from_file("serviceName") || var("OTEL_SERVICE_NAME").empty() ? t.service_name
                                                                                  : std::string(var("OTEL_SERVICE_NAME"));
  if (from_file("headers")) {
    o.headers = t.headers;
  } else {
    const std::string_view text =
        !var("OTEL_EXPORTER_OTLP_TRACES_HEADERS").empty() ? var("OTEL_EXPORTER_OTLP_TRACES_HEADERS") : var("OTEL_EXPORTER_OTLP_HEADERS");
    if (std::string e = parse_headers(text, o.headers); !e.empty()) return e;
  }
  o.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(t.timeout);
  o.max_queue_spans = t.max_queue_spans;

  proxy.parent_based = true;
  proxy.sample_ratio = 1.0;
  if (from_file("sampleRatio")) {
    proxy.sample_ratio = t.sample_ratio;
  } else if (const std::string_view sampler = var("OTEL_TRACES_SAMPLER"); !sampler.empty()) {
    double arg = 1.0;
    if (const std::string_view text = trim(var("OTEL_TRACES_SAMPLER_ARG")); !text.empty()) {
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), arg);
      if (ec != std::errc() || end != text.data() + text.size() || !(arg >= 0.0 && arg <= 1.0))
        return "OTEL_TRACES_SAMPLER_ARG must be a number in [0, 1], got " + std::string(text);
    }
    std::string_view kind = sampler;
    proxy.parent_based = kind.starts_with("parentbased_");
    if (proxy.parent_based) kind.remove_prefix(12);
    if (kind == "always_on") proxy.sample_ratio = 1.0;
    else if (kind == "always_off") proxy.sample_ratio = 0.0;
    else if (kind == "traceidratio") proxy.sample_ratio = arg;
    else return "OTEL_TRACES_SAMPLER: unsupported sampler " + std::string(sampler);
  }
  proxy.enabled = true;
  exporter = std::move(o);
  return {};
}

}  // namespace ringgate::gateway
