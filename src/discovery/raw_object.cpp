#include "ringgate/discovery/raw_object.h"

#include "json_fields.h"

namespace ringgate::discovery {
namespace {

Result<RawObject> raw_from(const json::object& obj, std::string_view path_view) {
  const std::string path(path_view);
  RawObject out;
  auto metadata = json::read_object(obj, "metadata", path + ".metadata");
  if (!metadata) return metadata.error();
  if (!metadata.value()) return Error{path + ".metadata: missing"};
  const json::object& meta = *metadata.value();
  if (auto r = json::read_string(meta, "name", path + ".metadata.name", out.name); !r) return r.error();
  if (auto r = json::read_string(meta, "namespace", path + ".metadata.namespace", out.namespace_name); !r) return r.error();
  if (auto r = json::read_string(meta, "resourceVersion", path + ".metadata.resourceVersion", out.resource_version); !r)
    return r.error();
  if (out.name.empty()) return Error{path + ".metadata.name: missing"};
  if (out.name.size() > 253 || out.namespace_name.size() > 63 || out.resource_version.size() > 128)
    return Error{path + ".metadata: name, namespace or resourceVersion too long"};
  out.json = simdjson::minify(obj);
  return out;
}

}  // namespace

Result<RawObjectList> parse_raw_object_list(std::string_view json_text, std::size_t max_items) {
  auto parsed = json::parse_object(json_text, "list");
  if (!parsed) return parsed.error();
  const json::object& obj = parsed.value();
  RawObjectList list;
  auto metadata = json::read_object(obj, "metadata", "list.metadata");
  if (!metadata) return metadata.error();
  if (metadata.value())
    if (auto r = json::read_string(*metadata.value(), "resourceVersion", "list.metadata.resourceVersion",
                                   list.resource_version);
        !r)
      return r.error();
  if (list.resource_version.empty()) return Error{"list.metadata.resourceVersion: missing"};
  auto items = json::read_array(obj, "items", "list.items");
  if (!items) return items.error();
  if (!items.value()) return list;
  if (items.value()->size() > max_items)
    return Error{"list.items: more than " + std::to_string(max_items) + " objects"};
  size_t index = 0;
  for (json::element item : *items.value()) {
    const std::string path = "list.items[" + std::to_string(index++) + "]";
    json::object item_obj;
    if (item.get_object().get(item_obj) != simdjson::SUCCESS) return json::type_error(path, "an object");
    auto raw = raw_from(item_obj, path);
    if (!raw) return raw.error();
    list.items.push_back(std::move(raw.value()));
  }
  return list;
}

Result<RawWatchEvent> parse_raw_watch_event(std::string_view json_text) {
  auto parsed = json::parse_object(json_text, "watch event");
  if (!parsed) return parsed.error();
  const json::object& obj = parsed.value();
  std::string type;
  if (auto r = json::read_string(obj, "type", "watch event.type", type); !r) return r.error();
  auto object = json::read_object(obj, "object", "watch event.object");
  if (!object) return object.error();
  if (!object.value()) return Error{"watch event.object: missing"};
  const json::object& inner = *object.value();
  RawWatchEvent event;
  if (type == "ERROR") {
    // The Status parser wants the text: minify the inner object back (small).
    auto status = parse_kube_status(simdjson::minify(inner));
    if (!status) return Error{"watch event.object: " + status.error().message};
    event.type = WatchEventType::error;
    event.status = std::move(status.value());
    return event;
  }
  if (type == "BOOKMARK") {
    event.type = WatchEventType::bookmark;
    auto metadata = json::read_object(inner, "metadata", "watch event.object.metadata");
    if (!metadata) return metadata.error();
    if (metadata.value())
      if (auto r = json::read_string(*metadata.value(), "resourceVersion", "watch event.object.metadata.resourceVersion",
                                     event.object.resource_version);
          !r)
        return r.error();
    if (event.object.resource_version.empty()) return Error{"BOOKMARK event without metadata.resourceVersion"};
    return event;
  }
  if (type == "ADDED") event.type = WatchEventType::added;
  else if (type == "MODIFIED") event.type = WatchEventType::modified;
  else if (type == "DELETED") event.type = WatchEventType::deleted;
  else return Error{"watch event.type: unknown type \"" + type.substr(0, 64) + "\""};
  auto raw = raw_from(inner, "watch event.object");
  if (!raw) return raw.error();
  event.object = std::move(raw.value());
  return event;
}

}  // namespace ringgate::discovery
