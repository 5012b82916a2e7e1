#include "ringgate/discovery/watch_event.h"

#include "slice_from_json.h"

namespace ringgate::discovery {
namespace {

Result<KubeStatus> status_from_json(const json::object& obj, std::string_view path_view) {
  const std::string path(path_view);
  std::string kind;
  if (auto read = json::read_string(obj, "kind", path + ".kind", kind); !read) return read.error();
  if (kind != "Status") return Error{path + ".kind: expected \"Status\", got \"" + kind + "\""};
  KubeStatus status;
  std::optional<long long> code;
  if (auto read = json::read_int(obj, "code", path + ".code", code); !read) return read.error();
  if (code) {
    if (*code < 0 || *code > 999) return Error{path + ".code: " + std::to_string(*code) + " is out of range"};
    status.code = static_cast<int>(*code);
  }
  if (auto read = json::read_string(obj, "reason", path + ".reason", status.reason); !read) return read.error();
  if (auto read = json::read_string(obj, "message", path + ".message", status.message); !read) return read.error();
  return status;
}

}  // namespace

Result<KubeStatus> parse_kube_status(std::string_view json_text) {
  auto obj = json::parse_object(json_text, "Status");
  if (!obj) return obj.error();
  return status_from_json(obj.value(), "Status");
}

Result<WatchEvent> parse_watch_event(std::string_view json_text) {
  auto parsed = json::parse_object(json_text, "watch event");
  if (!parsed) return parsed.error();
  const json::object& obj = parsed.value();
  std::string type;
  if (auto read = json::read_string(obj, "type", "watch event.type", type); !read) return read.error();
  auto object = json::read_object(obj, "object", "watch event.object");
  if (!object) return object.error();
  if (!object.value()) return Error{"watch event.object: missing"};
  const json::object& inner = *object.value();

  WatchEvent event;
  if (type == "ERROR") {
    auto status = status_from_json(inner, "watch event.object");
    if (!status) return status.error();
    event.type = WatchEventType::error;
    event.status = std::move(status.value());
    return event;
  }
  if (type == "BOOKMARK") {
    // Only metadata.resourceVersion is meaningful in a bookmark.
    event.type = WatchEventType::bookmark;
    auto metadata = json::read_object(inner, "metadata", "watch event.object.metadata");
    if (!metadata) return metadata.error();
    if (metadata.value()) {
      auto read = json::read_string(*metadata.value(), "resourceVersion",
                                    "watch event.object.metadata.resourceVersion", event.resource_version);
      if (!read) return read.error();
    }
    if (event.resource_version.empty()) return Error{"BOOKMARK event without metadata.resourceVersion"};
    return event;
  }
  if (type == "ADDED") event.type = WatchEventType::added;
  else if (type == "MODIFIED") event.type = WatchEventType::modified;
  else if (type == "DELETED") event.type = WatchEventType::deleted;
  else return Error{"watch event.type: unknown type \"" + type + "\""};

  std::string kind;
  if (auto read = json::read_string(inner, "kind", "watch event.object.kind", kind); !read) return read.error();
  if (!kind.empty() && kind != "EndpointSlice")
    return Error{"watch event.object.kind: expected \"EndpointSlice\", got \"" + kind + "\""};
  auto slice = slice_from_json(inner, "watch event.object");
  if (!slice) return slice.error();
  event.slice = std::move(slice.value());
  event.resource_version = event.slice.resource_version;
  return event;
}

}  // namespace ringgate::discovery
