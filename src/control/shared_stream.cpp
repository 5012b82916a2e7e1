#include "ringgate/control/shared_stream.h"

#include <prometheus/text_serializer.h>

#include <vector>

#include "metric_family_build.h"

namespace ringgate::control {

void append_stream_families(std::string& out, const StreamNames& names, const StreamCounts& counts) {
  using metric_build::add_value;
  using metric_build::family;
  std::vector<prometheus::MetricFamily> families;
  families.push_back(family(std::string(names.syncs), std::string(names.syncs_help), prometheus::MetricType::Counter));
  add_value(families.back(), {}, double(counts.syncs));
  families.push_back(
      family(std::string(names.records), std::string(names.records_help), prometheus::MetricType::Counter));
  add_value(families.back(), {{"direction", "sent"}}, double(counts.sent));
  add_value(families.back(), {{"direction", "received"}}, double(counts.received));
  add_value(families.back(), {{"direction", "dropped"}}, double(counts.dropped));
  if (names.malformed_direction) add_value(families.back(), {{"direction", "malformed"}}, double(counts.malformed));
  out += prometheus::TextSerializer().Serialize(families);
}

void append_stream_debug_counts(std::string& out, const StreamCounts& counts) {
  out += "\"sent\":" + std::to_string(counts.sent) + ",\"received\":" + std::to_string(counts.received) +
         ",\"dropped\":" + std::to_string(counts.dropped);
}

}  // namespace ringgate::control
