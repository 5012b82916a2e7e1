#include "ringgate/control/status_page.h"

#include "status_page_html.h"  // generated at build time (src/control/meson.build)

namespace ringgate::control {

AdminResponse status_page() {
  AdminResponse r{200, "text/html; charset=utf-8", std::string(generated::kStatusPageHtml)};
  r.headers = "Content-Security-Policy: " + std::string(generated::kStatusPageCsp) +
              "\r\nX-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\nReferrer-Policy: no-referrer\r\n";
  return r;
}

}  // namespace ringgate::control
