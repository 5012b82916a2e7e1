#include "ringgate/discovery/watch_event.h"

#include "ringgate/discovery/raw_object.h"
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

// The raw event (the one wire-format reader, kind-agnostic) with its object read as a slice.
Result<WatchEvent> parse_watch_event(std::string_view json_text) {
  auto raw = parse_raw_watch_event(json_text);
  if (!raw) return raw.error();
  WatchEvent event;
  event.type = raw.value().type;
  if (event.type == WatchEventType::error) {
    event.status = std::move(raw.value().status);
    return event;
  }
  event.resource_version = std::move(raw.value().object.resource_version);
  if (event.type == WatchEventType::bookmark) return event;
  auto slice = parse_endpoint_slice(raw.value().object.json);
  if (!slice) return slice.error();
  event.slice = std::move(slice.value());
  return event;
}

}  // namespace ringgate::discovery
