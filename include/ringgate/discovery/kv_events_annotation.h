#pragma once
// A pod's own KV-event publisher ports, from its annotations. Only ports: the host is
// always the pod's IP, so an annotation can never point the gateway at another machine.
// llm-d's precise scorer knows one configured port for every pod; these let a pod that
// publishes elsewhere (two engines on one pod IP, a non-default port) say so.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ringgate::discovery {

inline constexpr std::string_view kKvEventsPortAnnotation = "kv-events.ringgate.io/port";
inline constexpr std::string_view kKvEventsReplayPortAnnotation = "kv-events.ringgate.io/replay-port";
inline constexpr size_t kMaxKvEventsProblemBytes = 200;

struct KvEventsAnnotation {
  uint16_t port = 0;         // 0 = not annotated (or refused): the configured kvEvents.port
  uint16_t replay_port = 0;  // 0 = not annotated (or refused): the configured replayPort
  std::string problem;            // why an annotation was ignored, "" if none was
  bool operator==(const KvEventsAnnotation&) const = default;
};

// A port annotation's value: decimal digits only, 1-65535; nullopt otherwise.
std::optional<uint16_t> parse_annotation_port(std::string_view text);

// The two annotations' values (nullopt = absent). A bad value is ignored (its port stays
// 0) and named in `problem`; the other one still counts.
KvEventsAnnotation read_kv_events_annotation(std::optional<std::string_view> port,
                                             std::optional<std::string_view> replay_port);

}  // namespace ringgate::discovery
