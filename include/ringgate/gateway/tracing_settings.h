#pragma once
// Tracing's settings (issue 50): the Gateway document's `tracing` map, and where it sets
// nothing, OpenTelemetry's standard environment variables — OTEL_EXPORTER_OTLP_ENDPOINT
// (a base: /v1/traces is appended), OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (used as it is),
// OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG (always_on,
// always_off, traceidratio and their parentbased_ forms; default parentbased_always_on),
// OTEL_EXPORTER_OTLP_HEADERS / OTEL_EXPORTER_OTLP_TRACES_HEADERS (k=v,k2=v2, values
// percent-decoded). No endpoint from either: tracing stays off.
#include <functional>
#include <optional>
#include <string>

#include "ringgate/config/gateway_config.h"
#include "ringgate/control/otlp_exporter.h"
#include "ringgate/proxy/proxy_options.h"

namespace ringgate::gateway {

// An environment variable's value, or null (std::getenv in the binary; a table in tests).
using EnvLookup = std::function<const char*(const char*)>;

// `file`: the document's tracing map (null: none). `file_sets(path)`: whether the file set
// that key. Fills `proxy` and `exporter` (unset when tracing is off); an error message or empty.
std::string resolve_tracing(const config::TracingConfig* file, const std::function<bool(std::string_view)>& file_sets,
                            const EnvLookup& env, proxy::TracingOptions& proxy,
                            std::optional<control::OtlpExporterOptions>& exporter);

}  // namespace ringgate::gateway
