#include "ringgate/control/response_table_metrics.h"

namespace ringgate::control {

void append_response_table_families(std::string& out, const proxy::ResponseTable& table) {
  const proxy::ResponseTableLimits limits = table.limits();
  out +=
      "# HELP ringgate_responses_table_entries Responses API ids remembered (which server holds each response), "
      "at most responses.maxEntries.\n"
      "# TYPE ringgate_responses_table_entries gauge\n"
      "ringgate_responses_table_entries " +
      std::to_string(table.size()) +
      "\n# HELP ringgate_responses_table_bytes Resident memory the remembered Responses API ids take, as counted "
      "(a measured cost per entry), at most responses.maxBytes.\n"
      "# TYPE ringgate_responses_table_bytes gauge\n"
      "ringgate_responses_table_bytes " +
      std::to_string(table.bytes()) +
      "\n# HELP ringgate_responses_table_max_entries responses.maxEntries, the bound in force.\n"
      "# TYPE ringgate_responses_table_max_entries gauge\n"
      "ringgate_responses_table_max_entries " +
      std::to_string(limits.max_entries) +
      "\n# HELP ringgate_responses_table_max_bytes responses.maxBytes, the bound in force.\n"
      "# TYPE ringgate_responses_table_max_bytes gauge\n"
      "ringgate_responses_table_max_bytes " +
      std::to_string(limits.max_bytes) +
      "\n# HELP ringgate_responses_table_evictions_total Responses API ids forgotten to stay within "
      "responses.maxEntries / maxBytes, least recently used first (a request naming one is routed as an unknown "
      "one).\n"
      "# TYPE ringgate_responses_table_evictions_total counter\n"
      "ringgate_responses_table_evictions_total " +
      std::to_string(table.evictions()) + "\n";
}

}  // namespace ringgate::control
