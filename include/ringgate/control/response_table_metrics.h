#pragma once
// The Responses API id table's families on :9090/metrics (proxy/response_table.h): its
// entries and counted bytes against responses.maxEntries / maxBytes, and its evictions.
// A free function, so that the metrics reference (tests/docs) renders them as
// the /metrics page does (metrics_page.cpp).
#include <string>

#include "ringgate/proxy/response_table.h"

namespace ringgate::control {

void append_response_table_families(std::string& out, const proxy::ResponseTable& table);

}  // namespace ringgate::control
