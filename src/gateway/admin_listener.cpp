#include "ringgate/gateway/admin_listener.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <thread>

#include "ringgate/http/error_response.h"
#include "ringgate/http/request_parser.h"

namespace ringgate::gateway {

namespace {

void answer(int fd) {
  http::RequestParser parser(http::RequestLimits{8192, 0});
  char buffer[4096];
  std::string out;
  for (int waited = 0; waited < 20;) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) {
      ++waited;
      continue;
    }
    const ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) return;
    const http::ParseResult result = parser.feed(buffer, size_t(n));
    if (result.state == http::ParseState::NeedMore) continue;
    if (result.state == http::ParseState::Error) {
      http::append_error(out, result.status, "bad_request", result.reason, true);
    } else if (parser.request().target == "/healthz" && parser.request().method == HTTP_GET) {
      http::append_response(out, 200, "text/plain", "ok\n", true);
    } else {
      http::append_error(out, 404, "not_found", "unknown admin path", true);
    }
    break;
  }
  if (!out.empty()) send(fd, out.data(), out.size(), MSG_NOSIGNAL);
}

}  // namespace

void start_admin_listener(AdminContext context) {
  std::thread([context] {
    for (;;) {
      const int fd = accept4(context.listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED || errno == EAGAIN) continue;
        usleep(10000);
        continue;
      }
      answer(fd);
      close(fd);
    }
  }).detach();
}

}  // namespace ringgate::gateway
