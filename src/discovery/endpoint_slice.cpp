#include "ringgate/discovery/endpoint_slice.h"

#include <string>

#include "slice_from_json.h"

namespace ringgate::discovery {
namespace {

#define RG_TRY(expr)                        \
  do {                                      \
    if (auto rg_result = (expr); !rg_result) \
      return rg_result.error();             \
  } while (0)

AddressType address_type_from(std::string_view text) {
  if (text == "IPv4") return AddressType::ipv4;
  if (text == "IPv6") return AddressType::ipv6;
  if (text == "FQDN") return AddressType::fqdn;
  return AddressType::unknown;
}

Result<EndpointSlicePort> port_from_json(const json::element& value, const std::string& path) {
  json::object obj;
  if (value.get_object().get(obj) != simdjson::SUCCESS) return json::type_error(path, "an object");
  EndpointSlicePort port;
  std::string name;
  if (json::field(obj, "name")) {
    RG_TRY(json::read_string(obj, "name", path + ".name", name));
    port.name = name;
  }
  std::optional<long long> number;
  RG_TRY(json::read_int(obj, "port", path + ".port", number));
  if (number) {
    if (*number < 1 || *number > 65535) return Error{path + ".port: " + std::to_string(*number) + " is out of range"};
    port.port = static_cast<int>(*number);
  }
  RG_TRY(json::read_string(obj, "protocol", path + ".protocol", port.protocol));
  return port;
}

Result<EndpointSliceEndpoint> endpoint_from_json(const json::element& value, const std::string& path) {
  json::object obj;
  if (value.get_object().get(obj) != simdjson::SUCCESS) return json::type_error(path, "an object");
  EndpointSliceEndpoint endpoint;
  auto addresses = json::read_array(obj, "addresses", path + ".addresses");
  if (!addresses) return addresses.error();
  if (addresses.value()) {
    std::size_t i = 0;
    for (json::element item : *addresses.value()) {
      std::string_view text;
      if (item.get_string().get(text) != simdjson::SUCCESS)
        return json::type_error(path + ".addresses[" + std::to_string(i) + "]", "a string");
      endpoint.addresses.emplace_back(text);
      ++i;
    }
  }
  auto conditions = json::read_object(obj, "conditions", path + ".conditions");
  if (!conditions) return conditions.error();
  if (const auto& c = conditions.value()) {
    RG_TRY(json::read_bool(*c, "ready", path + ".conditions.ready", endpoint.ready));
    RG_TRY(json::read_bool(*c, "serving", path + ".conditions.serving", endpoint.serving));
    RG_TRY(json::read_bool(*c, "terminating", path + ".conditions.terminating", endpoint.terminating));
  }
  auto target = json::read_object(obj, "targetRef", path + ".targetRef");
  if (!target) return target.error();
  if (const auto& t = target.value()) {
    std::string kind;
    RG_TRY(json::read_string(*t, "kind", path + ".targetRef.kind", kind));
    std::string name;
    RG_TRY(json::read_string(*t, "name", path + ".targetRef.name", name));
    if (kind.empty() || kind == "Pod") endpoint.pod_name = name;
  }
  RG_TRY(json::read_string(obj, "nodeName", path + ".nodeName", endpoint.node_name));
  RG_TRY(json::read_string(obj, "zone", path + ".zone", endpoint.zone));
  return endpoint;
}

}  // namespace

Result<EndpointSlice> slice_from_json(const json::object& obj, std::string_view path_view) {
  const std::string path(path_view);
  EndpointSlice slice;
  auto metadata = json::read_object(obj, "metadata", path + ".metadata");
  if (!metadata) return metadata.error();
  if (!metadata.value()) return Error{path + ".metadata: missing"};
  const json::object& meta = *metadata.value();
  RG_TRY(json::read_string(meta, "name", path + ".metadata.name", slice.name));
  if (slice.name.empty()) return Error{path + ".metadata.name: missing"};
  RG_TRY(json::read_string(meta, "namespace", path + ".metadata.namespace", slice.namespace_name));
  RG_TRY(json::read_string(meta, "resourceVersion", path + ".metadata.resourceVersion", slice.resource_version));
  auto labels = json::read_object(meta, "labels", path + ".metadata.labels");
  if (!labels) return labels.error();
  if (labels.value())
    RG_TRY(json::read_string(*labels.value(), "kubernetes.io/service-name",
                             path + ".metadata.labels[kubernetes.io/service-name]", slice.service_name));

  std::string address_type;
  RG_TRY(json::read_string(obj, "addressType", path + ".addressType", address_type));
  slice.address_type = address_type_from(address_type);

  auto ports = json::read_array(obj, "ports", path + ".ports");
  if (!ports) return ports.error();
  if (ports.value()) {
    std::size_t i = 0;
    for (json::element item : *ports.value()) {
      auto port = port_from_json(item, path + ".ports[" + std::to_string(i++) + "]");
      if (!port) return port.error();
      slice.ports.push_back(std::move(port.value()));
    }
  }
  auto endpoints = json::read_array(obj, "endpoints", path + ".endpoints");
  if (!endpoints) return endpoints.error();
  if (endpoints.value()) {
    std::size_t i = 0;
    for (json::element item : *endpoints.value()) {
      auto endpoint = endpoint_from_json(item, path + ".endpoints[" + std::to_string(i++) + "]");
      if (!endpoint) return endpoint.error();
      slice.endpoints.push_back(std::move(endpoint.value()));
    }
  }
  return slice;
}

Result<EndpointSlice> parse_endpoint_slice(std::string_view json_text) {
  auto obj = json::parse_object(json_text, "EndpointSlice");
  if (!obj) return obj.error();
  std::string kind;  // absent in a LIST's items
  RG_TRY(json::read_string(obj.value(), "kind", "EndpointSlice.kind", kind));
  if (!kind.empty() && kind != "EndpointSlice")
    return Error{"EndpointSlice.kind: expected \"EndpointSlice\", got \"" + kind.substr(0, 64) + "\""};
  return slice_from_json(obj.value(), "EndpointSlice");
}

Result<EndpointSliceList> parse_endpoint_slice_list(std::string_view json_text) {
  auto parsed = json::parse_object(json_text, "EndpointSliceList");
  if (!parsed) return parsed.error();
  const json::object& obj = parsed.value();
  std::string kind;
  RG_TRY(json::read_string(obj, "kind", "EndpointSliceList.kind", kind));
  if (kind != "EndpointSliceList")
    return Error{"EndpointSliceList.kind: expected \"EndpointSliceList\", got \"" + kind + "\""};
  EndpointSliceList list;
  auto metadata = json::read_object(obj, "metadata", "EndpointSliceList.metadata");
  if (!metadata) return metadata.error();
  if (metadata.value())
    RG_TRY(json::read_string(*metadata.value(), "resourceVersion", "EndpointSliceList.metadata.resourceVersion",
                             list.resource_version));
  if (list.resource_version.empty()) return Error{"EndpointSliceList.metadata.resourceVersion: missing"};
  auto items = json::read_array(obj, "items", "EndpointSliceList.items");
  if (!items) return items.error();
  if (items.value()) {
    std::size_t i = 0;
    for (json::element item : *items.value()) {
      json::object item_object;
      std::string path = "EndpointSliceList.items[" + std::to_string(i++) + "]";
      if (item.get_object().get(item_object) != simdjson::SUCCESS) return json::type_error(path, "an object");
      auto slice = slice_from_json(item_object, path);
      if (!slice) return slice.error();
      list.items.push_back(std::move(slice.value()));
    }
  }
  return list;
}

}  // namespace ringgate::discovery

#undef RG_TRY  // the unity build's next file is not ours
