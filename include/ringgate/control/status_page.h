#pragma once
// GET :9090/ — the live status page: one HTML file (src/control/status_page.html, inline
// script and style, no outside resource) built into the binary. It reads /debug/endpoints,
// /debug/flow, /debug/events and /metrics once a second and keeps its history in the
// browser; the gateway does nothing for it while no page is open.
#include "ringgate/control/admin_server.h"

namespace ringgate::control {

// The page, with a Content-Security-Policy that runs only its own script.
AdminResponse status_page();

}  // namespace ringgate::control
