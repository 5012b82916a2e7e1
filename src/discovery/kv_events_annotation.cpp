#include "ringgate/discovery/kv_events_annotation.h"

#include "ringgate/discovery/shown_value.h"

namespace ringgate::discovery {
namespace {

void read_one(std::optional<std::string_view> text, std::string_view key, uint16_t& out, std::string& problem) {
  if (!text) return;
  if (auto port = parse_annotation_port(*text)) {
    out = *port;
    return;
  }
  if (!problem.empty()) problem += "; ";
  problem += std::string(key) + ": \"" + shown_value(*text) + "\" is not a port (1-65535), ignored";
}

}  // namespace

std::optional<uint16_t> parse_annotation_port(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  uint32_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + uint32_t(c - '0');
  }
  if (value == 0 || value > 65535) return std::nullopt;
  return uint16_t(value);
}

KvEventsAnnotation read_kv_events_annotation(std::optional<std::string_view> port,
                                             std::optional<std::string_view> replay_port) {
  KvEventsAnnotation out;
  read_one(port, kKvEventsPortAnnotation, out.port, out.problem);
  read_one(replay_port, kKvEventsReplayPortAnnotation, out.replay_port, out.problem);
  return out;
}

}  // namespace ringgate::discovery
