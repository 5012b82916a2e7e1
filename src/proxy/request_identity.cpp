#include "ringgate/proxy/request_identity.h"

#include "ringgate/util/json_text.h"

namespace ringgate::proxy {

void RequestIdentity::assign_request_id(std::string_view client_id, int worker, uint64_t now_ms, uint64_t& serial) {
  gateway_request_id = client_id.empty() || client_id.size() > kMaxClientRequestIdBytes;
  if (!gateway_request_id) {
    request_id.assign(client_id);
    return;
  }
  request_id.assign("rg-");
  util::append_uint(request_id, uint64_t(worker));
  request_id += '-';
  util::append_hex(request_id, now_ms);
  request_id += '-';
  util::append_hex(request_id, ++serial);
}

}  // namespace ringgate::proxy
