// One Recv completion → what the connection that armed the multishot hears.
#include <doctest/doctest.h>

#include <cerrno>
#include <string>

#include "ringgate/net/recv_owner.h"

using namespace ringgate::net;

namespace {

struct Owner final : RecvOwner {
  std::string log;
  void on_recv_data(const char* data, size_t len) override { log += "data:" + std::string(data, len) + ";"; }
  void on_recv_end(int32_t res) override { log += "end:" + std::to_string(res) + ";"; }
  void on_recv_stopped(bool ran_dry) override { log += ran_dry ? "stopped:dry;" : "stopped;"; }
};

std::string dispatch(int32_t res, bool more, const char* data = nullptr) {
  Owner owner;
  dispatch_recv(Completion{IoOp::Recv, res, more, data}, owner);
  return owner.log;
}

}  // namespace

TEST_CASE("bytes go to the owner; a final completion with bytes also says the multishot stopped") {
  CHECK(dispatch(3, true, "abc") == "data:abc;");
  CHECK(dispatch(3, false, "abc") == "data:abc;stopped;");
}

TEST_CASE("EOF and socket errors end the stream, with no stop (no re-arm) after them") {
  CHECK(dispatch(0, false) == "end:0;");
  CHECK(dispatch(-ECONNRESET, false) == "end:-" + std::to_string(ECONNRESET) + ";");
}

TEST_CASE("the owner's cancel and io_uring running out of buffers only stop the multishot") {
  CHECK(dispatch(-ECANCELED, false) == "stopped;");
  CHECK(dispatch(-ENOBUFS, false) == "stopped:dry;");
}
