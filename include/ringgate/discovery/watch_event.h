#pragma once
// One watch event: {"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR","object":{…}}.
#include <string>
#include <string_view>

#include "ringgate/discovery/endpoint_slice.h"
#include "ringgate/discovery/result.h"

namespace ringgate::discovery {

enum class WatchEventType { added, modified, deleted, bookmark, error };

// A metav1.Status object (the "object" of an ERROR event, or a non-2xx body).
struct KubeStatus {
  int code = 0;         // 410 for an expired resourceVersion
  std::string reason;   // "Expired", "Gone", "Unauthorized" …
  std::string message;
};

struct WatchEvent {
  WatchEventType type = WatchEventType::error;
  EndpointSlice slice;           // added / modified / deleted
  std::string resource_version;  // of the object (slice or bookmark); empty for error
  KubeStatus status;             // error
};

// Parses one event; any malformed or unknown input is an Error, never a crash.
Result<WatchEvent> parse_watch_event(std::string_view json);
// Parses a Status object; Error if it is not one.
Result<KubeStatus> parse_kube_status(std::string_view json);

}  // namespace ringgate::discovery
