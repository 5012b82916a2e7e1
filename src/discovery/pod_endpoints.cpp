#include "ringgate/discovery/pod_endpoints.h"

#include <arpa/inet.h>

#include <algorithm>
#include <tuple>

#include "json_fields.h"
#include "ringgate/discovery/shown_value.h"

namespace ringgate::discovery {
namespace {

bool valid_ip(const std::string& address) {
  unsigned char buffer[sizeof(in6_addr)];
  return ::inet_pton(AF_INET, address.c_str(), buffer) == 1 || ::inet_pton(AF_INET6, address.c_str(), buffer) == 1;
}

bool alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// A label name or value: ≤ 63 of [A-Za-z0-9-_.], alphanumeric at both ends (a value may be empty).
bool label_token(std::string_view s, bool empty_ok) {
  if (s.empty()) return empty_ok;
  if (s.size() > 63 || !alnum(s.front()) || !alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return alnum(c) || c == '-' || c == '_' || c == '.'; });
}

bool dns_subdomain(std::string_view s) {
  if (s.empty() || s.size() > 253 || !alnum(s.front()) || !alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'; });
}

bool label_key(std::string_view key) {
  size_t slash = key.find('/');
  if (slash == std::string_view::npos) return label_token(key, false);
  return dns_subdomain(key.substr(0, slash)) && label_token(key.substr(slash + 1), false);
}

// Only the two keys are looked up: the rest of the annotations are not ours to bound.
// Whatever is wrong with them costs this pod its annotation, never its place in the pool.
KvEventsAnnotation kv_events_annotation(const json::object& metadata) {
  auto annotations = json::field(metadata, "annotations");
  if (!annotations) return {};
  json::object obj;
  if (annotations->get_object().get(obj) != simdjson::SUCCESS)
    return {0, 0, "Pod.metadata.annotations: not an object, kv-events annotations ignored"};
  auto text = [&](std::string_view key) -> std::optional<std::string_view> {
    auto value = json::field(obj, key);
    if (!value) return std::nullopt;
    std::string_view s;
    if (value->get_string().get(s) != simdjson::SUCCESS) return std::string_view("(not a string)");
    return s;
  };
  return read_kv_events_annotation(text(kKvEventsPortAnnotation), text(kKvEventsReplayPortAnnotation));
}

// Only the one key is looked up: the rest of the labels are not ours to bound. A bad
// value costs the pod its role (it is `both`), never its place in the pool.
void read_role_label(const json::object& metadata, PodState& pod) {
  auto labels = json::field(metadata, "labels");
  if (!labels) return;
  json::object obj;
  if (labels->get_object().get(obj) != simdjson::SUCCESS) {
    pod.problem = "Pod.metadata.labels: not an object, role label ignored (both)";
    return;
  }
  auto value = json::field(obj, sched::kRoleLabel);
  if (!value) return;
  std::string_view text;
  if (value->get_string().get(text) != simdjson::SUCCESS) {
    pod.problem = std::string(sched::kRoleLabel) + ": not a string, ignored (both)";
    return;
  }
  if (auto role = sched::parse_endpoint_role(text)) {
    pod.role = *role;
    return;
  }
  pod.problem =
      std::string(sched::kRoleLabel) + ": \"" + shown_value(text) + "\" is not prefill, decode or both, ignored (both)";
}

// The one label key; a value that is not "min-max" leaves the pod without a range it is
// trusted with (Malformed), never without its place in the pool.
void read_context_range_label(const json::object& metadata, PodState& pod) {
  auto labels = json::field(metadata, "labels");
  if (!labels) return;
  json::object obj;
  if (labels->get_object().get(obj) != simdjson::SUCCESS) return;  // said by the role reader
  auto value = json::field(obj, sched::kContextLengthLabel);
  if (!value) return;
  std::string_view text;
  const bool is_string = value->get_string().get(text) == simdjson::SUCCESS;
  if (is_string)
    if (auto range = sched::parse_context_length_range(text)) {
      pod.context_range = *range;
      return;
    }
  pod.context_range.state = sched::ContextRangeState::Malformed;
  if (!pod.problem.empty()) pod.problem += "; ";
  pod.problem += std::string(sched::kContextLengthLabel) + ": " +
                 (is_string ? "\"" + shown_value(text) + "\" is not min-max" : std::string("not a string")) +
                 ", no range trusted";
}

// The one annotation key; a bad value costs the pod the annotation (its ranks are then
// learnt from its /metrics), never its place in the pool.
void read_data_parallel_annotation(const json::object& metadata, PodState& pod) {
  auto annotations = json::field(metadata, "annotations");
  if (!annotations) return;
  json::object obj;
  if (annotations->get_object().get(obj) != simdjson::SUCCESS) return;  // said by the kv-events reader
  auto value = json::field(obj, kDataParallelSizeAnnotation);
  if (!value) return;
  std::string_view text;
  uint32_t size = 0;
  bool ok = value->get_string().get(text) == simdjson::SUCCESS && !text.empty() && text.size() <= 2;
  for (char c : text) {
    ok = ok && c >= '0' && c <= '9';
    size = size * 10 + uint32_t(c - '0');
  }
  if (ok && size >= 1 && size <= kMaxAnnotatedDataParallelSize) {
    pod.data_parallel_size = size;
    return;
  }
  if (!pod.problem.empty()) pod.problem += "; ";
  pod.problem += std::string(kDataParallelSizeAnnotation) + ": \"" + shown_value(text) +
                 "\" is not a rank count (1-64), ignored (ranks learnt from /metrics)";
}

}  // namespace

Result<PodState> parse_pod(std::string_view json_text) {
  auto parsed = json::parse_object(json_text, "Pod");
  if (!parsed) return parsed.error();
  const json::object& obj = parsed.value();
  PodState pod;
  auto metadata = json::read_object(obj, "metadata", "Pod.metadata");
  if (!metadata) return metadata.error();
  if (!metadata.value()) return Error{"Pod.metadata: missing"};
  if (auto r = json::read_string(*metadata.value(), "name", "Pod.metadata.name", pod.name); !r) return r.error();
  if (pod.name.empty() || pod.name.size() > 253) return Error{"Pod.metadata.name: missing or too long"};
  pod.terminating = json::field(*metadata.value(), "deletionTimestamp").has_value();
  pod.kv_events = kv_events_annotation(*metadata.value());
  read_data_parallel_annotation(*metadata.value(), pod);
  read_role_label(*metadata.value(), pod);
  read_context_range_label(*metadata.value(), pod);
  auto status = json::read_object(obj, "status", "Pod.status");
  if (!status) return status.error();
  if (!status.value()) return pod;  // just created: not scheduled, not ready
  const json::object& st = *status.value();
  if (auto r = json::read_string(st, "podIP", "Pod.status.podIP", pod.ip); !r) return r.error();
  if (!pod.ip.empty() && (pod.ip.size() > 45 || !valid_ip(pod.ip)))
    return Error{"Pod.status.podIP: \"" + pod.ip.substr(0, 64) + "\" is not an IP address"};
  auto conditions = json::read_array(st, "conditions", "Pod.status.conditions");
  if (!conditions) return conditions.error();
  if (conditions.value()) {
    if (conditions.value()->size() > max_pod_conditions)
      return Error{"Pod.status.conditions: more than " + std::to_string(max_pod_conditions)};
    for (json::element item : *conditions.value()) {
      json::object condition;
      if (item.get_object().get(condition) != simdjson::SUCCESS)
        return json::type_error("Pod.status.conditions[]", "an object");
      std::string type, value;
      if (auto r = json::read_string(condition, "type", "Pod.status.conditions[].type", type); !r) return r.error();
      if (auto r = json::read_string(condition, "status", "Pod.status.conditions[].status", value); !r) return r.error();
      if (type == "Ready") pod.ready = value == "True";
    }
  }
  return pod;
}

std::vector<DiscoveredEndpoint> pod_endpoints(const std::map<std::string, PodState>& pods,
                                              const std::vector<std::uint16_t>& ports) {
  std::vector<DiscoveredEndpoint> out;
  for (const auto& [name, pod] : pods) {
    if (pod.ip.empty()) continue;
    for (std::size_t i = 0; i < ports.size(); ++i) {
      const std::uint16_t port = ports[i];
      DiscoveredEndpoint e;
      if (ports.size() > 1) e.rank = std::int32_t(i);
      e.data_parallel_size = pod.data_parallel_size;
      e.address = pod.ip;
      e.port = port;
      e.ready = pod.ready;
      e.serving = pod.ready;
      e.terminating = pod.terminating;
      e.pod_name = pod.name;
      e.kv_events = pod.kv_events;
      e.role = pod.role;
      e.context_range = pod.context_range;
      out.push_back(std::move(e));
    }
  }
  std::sort(out.begin(), out.end(),
            [](const DiscoveredEndpoint& a, const DiscoveredEndpoint& b) {
              return std::tie(a.address, a.port, a.pod_name) < std::tie(b.address, b.port, b.pod_name);
            });
  return out;
}

Result<std::string> label_selector_text(const std::vector<std::pair<std::string, std::string>>& match_labels) {
  if (match_labels.empty()) return Error{"empty label selector (it would select every pod)"};
  std::string text;
  for (const auto& [key, value] : match_labels) {
    if (!label_key(key)) return Error{"label key \"" + key.substr(0, 64) + "\" is not a valid label name"};
    if (!label_token(value, true)) return Error{"label value \"" + value.substr(0, 64) + "\" is not a valid label value"};
    if (!text.empty()) text += ',';
    text += key + "=" + value;
  }
  return text;
}

}  // namespace ringgate::discovery
