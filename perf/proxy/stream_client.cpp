// Closed-loop load client for streamed answers (perf/proxy/stream_relay.sh): N keep-alive
// connections each POST the same body again as soon as the previous answer ended, and
// every answer's time to its first response byte (TTFB) and to its end is recorded.
// wrk times only the whole answer, which for a paced stream is the pacing, not the proxy.
// At the deadline no new request starts and those in flight run to their end, so a
// proxy's CPU time over the run divides by whole streams. Prints one line of key=value.
// Not a test.
//
//   stream_client PORT CONNECTIONS SECONDS BODY_FILE [PATH [READ_BYTES]]
//   (PATH default /v1/completions; READ_BYTES: each recv's size, default 65536; wrk's is 8192)
#include <arpa/inet.h>
#include <fcntl.h>
#include <llhttp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

namespace {

uint64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000u + uint64_t(ts.tv_nsec);
}

struct Conn {
  int fd = -1;
  llhttp_t parser{};
  std::string request;
  size_t sent = 0;
  uint64_t started_ns = 0;
  uint64_t first_byte_ns = 0;
  bool complete = false;
  bool in_flight = false;
  char tail = 0;  // the previous body byte: an event ends with "\n\n"
};

struct Totals {
  std::vector<uint32_t> ttfb_us, latency_us;
  uint64_t events = 0, body_bytes = 0, errors = 0;
};

Totals totals;

int on_body(llhttp_t* p, const char* at, size_t len) {
  Conn& c = *static_cast<Conn*>(p->data);
  totals.body_bytes += len;
  for (size_t i = 0; i < len; ++i) {
    const char* nl = static_cast<const char*>(std::memchr(at + i, '\n', len - i));
    if (nl == nullptr) break;
    i = size_t(nl - at);
    if ((i > 0 ? at[i - 1] : c.tail) == '\n') ++totals.events;
  }
  c.tail = at[len - 1];
  return 0;
}

int on_message_complete(llhttp_t* p) {
  Conn& c = *static_cast<Conn*>(p->data);
  if (p->status_code < 200 || p->status_code >= 300) ++totals.errors;
  c.complete = true;
  return HPE_PAUSED;
}

llhttp_settings_t settings;

int connect_to(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && errno != EINPROGRESS) {
    std::perror("connect");
    std::exit(1);
  }
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: stream_client PORT CONNECTIONS SECONDS BODY_FILE [PATH [READ_BYTES]]\n");
    return 2;
  }
  const uint16_t port = uint16_t(std::atoi(argv[1]));
  const int connections = std::atoi(argv[2]);
  const double seconds = std::atof(argv[3]);
  const char* path = argc > 5 ? argv[5] : "/v1/completions";
  const size_t read_bytes = argc > 6 ? size_t(std::max(1, std::atoi(argv[6]))) : size_t(1) << 16;
  std::string body;
  if (FILE* f = std::fopen(argv[4], "rb")) {
    char buf[4096];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) body.append(buf, n);
    std::fclose(f);
  } else {
    std::perror(argv[4]);
    return 2;
  }
  std::string request = std::string("POST ") + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                        "\r\n\r\n" + body;

  llhttp_settings_init(&settings);
  settings.on_body = on_body;
  settings.on_message_complete = on_message_complete;
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  std::vector<Conn> conns(static_cast<size_t>(connections));
  auto start = [&](Conn& c) {
    if (c.fd < 0) {
      c.fd = connect_to(port);
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;  // edge: a sent request does not wake the loop again
      ev.data.ptr = &c;
      epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
      llhttp_init(&c.parser, HTTP_RESPONSE, &settings);
      c.parser.data = &c;
    }
    c.request = request;
    c.sent = 0;
    c.started_ns = now_ns();
    c.first_byte_ns = 0;
    c.complete = false;
    c.in_flight = true;
    c.tail = 0;
    const ssize_t n = send(c.fd, c.request.data(), c.request.size(), MSG_NOSIGNAL);
    if (n > 0) c.sent = size_t(n);
  };
  auto drop = [&](Conn& c) {
    epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
    close(c.fd);
    c.fd = -1;
  };
  const uint64_t t0 = now_ns();
  const uint64_t deadline = t0 + uint64_t(seconds * 1e9);
  const uint64_t give_up = deadline + 30ull * 1000000000u;  // in-flight answers get 30 s to end
  for (Conn& c : conns) start(c);
  int in_flight = connections;
  std::vector<char> buf(read_bytes);
  std::vector<epoll_event> events(256);
  while (in_flight > 0 && now_ns() < give_up) {
    const int n = epoll_wait(ep, events.data(), int(events.size()), 100);
    for (int i = 0; i < n; ++i) {
      Conn& c = *static_cast<Conn*>(events[size_t(i)].data.ptr);
      if (!c.in_flight) continue;
      if (c.sent < c.request.size() && (events[size_t(i)].events & EPOLLOUT)) {
        const ssize_t s = send(c.fd, c.request.data() + c.sent, c.request.size() - c.sent, MSG_NOSIGNAL);
        if (s > 0) c.sent += size_t(s);
      }
      if (!(events[size_t(i)].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) continue;
      for (;;) {
        const ssize_t r = recv(c.fd, buf.data(), buf.size(), 0);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        const uint64_t t = now_ns();
        if (r <= 0) {  // closed or reset mid-answer: an error; reconnect unless past the deadline
          ++totals.errors;
          drop(c);
          c.in_flight = false;
          --in_flight;
          if (t < deadline) {
            start(c);
            ++in_flight;
          }
          break;
        }
        if (c.first_byte_ns == 0) c.first_byte_ns = t;
        const llhttp_errno_t e = llhttp_execute(&c.parser, buf.data(), size_t(r));
        if (e != HPE_OK && e != HPE_PAUSED) {
          ++totals.errors;
          drop(c);
          c.in_flight = false;
          --in_flight;
          if (t < deadline) {
            start(c);
            ++in_flight;
          }
          break;
        }
        if (c.complete) {
          llhttp_resume(&c.parser);
          totals.ttfb_us.push_back(uint32_t((c.first_byte_ns - c.started_ns) / 1000));
          totals.latency_us.push_back(uint32_t((t - c.started_ns) / 1000));
          c.in_flight = false;
          --in_flight;
          if (t < deadline) {
            start(c);
            ++in_flight;
          }
          break;
        }
      }
    }
  }
  const double wall = double(now_ns() - t0) / 1e9;
  auto pct = [](std::vector<uint32_t>& v, double q) -> uint32_t {
    if (v.empty()) return 0;
    const size_t k = std::min(v.size() - 1, size_t(q * double(v.size())));
    std::nth_element(v.begin(), v.begin() + long(k), v.end());
    return v[k];
  };
  const size_t streams = totals.latency_us.size();
  std::printf("streams=%zu wall_s=%.3f streams_per_s=%.1f ttfb_p50_us=%u ttfb_p99_us=%u latency_p50_us=%u "
              "latency_p99_us=%u latency_max_us=%u events_per_stream=%.1f bytes_per_stream=%.0f errors=%llu "
              "unfinished=%d\n",
              streams, wall, double(streams) / wall, pct(totals.ttfb_us, 0.5), pct(totals.ttfb_us, 0.99),
              pct(totals.latency_us, 0.5), pct(totals.latency_us, 0.99), pct(totals.latency_us, 1.0),
              streams ? double(totals.events) / double(streams) : 0.0,
              streams ? double(totals.body_bytes) / double(streams) : 0.0,
              static_cast<unsigned long long>(totals.errors), in_flight);
  return 0;
}
