// RequestIdentity: the request id the model servers and the access log see, the client's
// own up to its bound, else the gateway's, numbered by the worker.
#include <doctest/doctest.h>

#include <string>

#include "ringgate/proxy/request_identity.h"

using namespace ringgate::proxy;

TEST_CASE("a client's x-request-id of up to kMaxClientRequestIdBytes is the request's") {
  RequestIdentity identity;
  uint64_t serial = 7;
  const std::string at_bound(kMaxClientRequestIdBytes, 'a');
  identity.assign_request_id(at_bound, 2, 0x1f, serial);
  CHECK(identity.request_id == at_bound);
  CHECK_FALSE(identity.gateway_request_id);
  CHECK(serial == 7);  // the worker's numbering is not spent on it
  identity.assign_request_id("abc", 2, 0x1f, serial);
  CHECK(identity.request_id == "abc");
  CHECK_FALSE(identity.gateway_request_id);
}

TEST_CASE("no x-request-id, or one past the bound, gets the gateway's: rg-<worker>-<ms hex>-<serial hex>") {
  RequestIdentity identity;
  uint64_t serial = 9;
  identity.assign_request_id("", 3, 0x1f, serial);
  CHECK(identity.request_id == "rg-3-1f-a");
  CHECK(identity.gateway_request_id);
  CHECK(serial == 10);
  identity.assign_request_id(std::string(kMaxClientRequestIdBytes + 1, 'a'), 3, 0x20, serial);
  CHECK(identity.request_id == "rg-3-20-b");
  CHECK(identity.gateway_request_id);
  // The next client id replaces the gateway's whole.
  identity.assign_request_id("x", 3, 0x20, serial);
  CHECK(identity.request_id == "x");
  CHECK_FALSE(identity.gateway_request_id);
}
