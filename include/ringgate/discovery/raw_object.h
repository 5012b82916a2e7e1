#pragma once
// Kind-agnostic pieces of the Kubernetes list/watch wire format: a LIST answer
// ({"metadata":{"resourceVersion"},"items":[…]}) and one watch event, with each
// object kept as its own JSON text for a kind-specific parser to read.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "ringgate/discovery/result.h"
#include "ringgate/discovery/watch_event.h"

namespace ringgate::discovery {

struct RawObject {
  std::string name;              // metadata.name (required, ≤ 253 bytes)
  std::string namespace_name;    // metadata.namespace (may be empty)
  std::string resource_version;  // metadata.resourceVersion
  std::string json;              // the whole object, minified

  std::string key() const { return namespace_name + "/" + name; }
};

struct RawObjectList {
  std::string resource_version;
  std::vector<RawObject> items;
};

struct RawWatchEvent {
  WatchEventType type = WatchEventType::error;
  RawObject object;   // added / modified / deleted (bookmark: resource_version only)
  KubeStatus status;  // error
};

// `max_items`: a longer list is an Error (the API is not trusted to be small).
Result<RawObjectList> parse_raw_object_list(std::string_view json, std::size_t max_items);
Result<RawWatchEvent> parse_raw_watch_event(std::string_view json);

}  // namespace ringgate::discovery
