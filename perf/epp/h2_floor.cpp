// The floor of an HTTP/2 server on this machine: one thread, epoll, libnghttp2 (the engine
// ringgate's HTTP/2 layer uses), and no other work. Each request's body is read and dropped;
// at its end the server answers 200 `content-type: application/grpc`, fixed bytes (the EPP's
// own answer to the decision, --answer FILE, as decision.py captures it) and `grpc-status: 0`
// in trailers. What h2load measures against it is the kernel, the VM and the client: the
// best p99 any server can give to that exchange here (decision.py's `h2-floor` row).
//
//   build/perf/h2_floor --listen 127.0.0.1:0 [--answer FILE]   (prints "listening on port N")
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>

namespace {

std::string answer = std::string("\0\0\0\0\0", 5);  // an empty gRPC message unless --answer

struct Connection {
  int fd = -1;
  nghttp2_session* session = nullptr;
  std::string pending;  // written bytes the socket did not take yet
};

nghttp2_nv field(const char* name, const char* value) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name)), reinterpret_cast<uint8_t*>(const_cast<char*>(value)),
          std::strlen(name), std::strlen(value), NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE};
}

ssize_t read_answer(nghttp2_session* session, int32_t stream_id, uint8_t* buf, size_t length, uint32_t* flags,
                    nghttp2_data_source* source, void*) {
  size_t& at = *static_cast<size_t*>(source->ptr);
  const size_t n = std::min(length, answer.size() - at);
  std::memcpy(buf, answer.data() + at, n);
  at += n;
  if (at == answer.size()) {
    delete static_cast<size_t*>(source->ptr);
    *flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
    nghttp2_nv trailer = field("grpc-status", "0");
    nghttp2_submit_trailer(session, stream_id, &trailer, 1);
  }
  return ssize_t(n);
}

int on_frame_recv(nghttp2_session* session, const nghttp2_frame* frame, void*) {
  if ((frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) ||
      !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
    return 0;
  nghttp2_nv head[] = {field(":status", "200"), field("content-type", "application/grpc")};
  nghttp2_data_provider provider;
  provider.source.ptr = new size_t(0);
  provider.read_callback = read_answer;
  nghttp2_submit_response(session, frame->hd.stream_id, head, 2, &provider);
  return 0;
}

bool flush(Connection& c) {
  for (;;) {
    if (c.pending.empty()) {
      const uint8_t* data;
      const ssize_t n = nghttp2_session_mem_send(c.session, &data);
      if (n < 0) return false;
      if (n == 0) return true;
      c.pending.assign(reinterpret_cast<const char*>(data), size_t(n));
    }
    const ssize_t w = ::send(c.fd, c.pending.data(), c.pending.size(), MSG_NOSIGNAL);
    if (w < 0) return errno == EAGAIN;  // EPOLLOUT brings us back
    c.pending.erase(0, size_t(w));
  }
}

void close_connection(int epoll_fd, Connection* c) {
  epoll_ctl(epoll_fd, EPOLL_CTL_DEL, c->fd, nullptr);
  ::close(c->fd);
  nghttp2_session_del(c->session);
  delete c;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  std::string listen = "127.0.0.1:0";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--listen") == 0) listen = argv[i + 1];
    if (std::strcmp(argv[i], "--answer") == 0) {
      std::ifstream in(argv[i + 1], std::ios::binary);
      answer.assign(std::istreambuf_iterator<char>(in), {});
    }
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  const size_t colon = listen.rfind(':');
  addr.sin_port = htons(uint16_t(std::stoi(listen.substr(colon + 1))));
  if (inet_pton(AF_INET, listen.substr(0, colon).c_str(), &addr.sin_addr) != 1) return 2;
  const int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  const int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(lfd, 128) != 0) {
    std::fprintf(stderr, "cannot listen on %s: %s\n", listen.c_str(), std::strerror(errno));
    return 1;
  }
  socklen_t len = sizeof addr;
  getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len);
  std::printf("listening on port %d\n", ntohs(addr.sin_port));
  std::fflush(stdout);

  nghttp2_session_callbacks* callbacks;
  nghttp2_session_callbacks_new(&callbacks);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, on_frame_recv);
  const int epoll_fd = epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // the listener
  epoll_ctl(epoll_fd, EPOLL_CTL_ADD, lfd, &ev);
  epoll_event events[64];
  char buf[65536];
  for (;;) {
    const int n = epoll_wait(epoll_fd, events, 64, -1);
    for (int i = 0; i < n; ++i) {
      auto* c = static_cast<Connection*>(events[i].data.ptr);
      if (c == nullptr) {
        int fd;
        while ((fd = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK)) >= 0) {
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          c = new Connection;
          c->fd = fd;
          nghttp2_session_server_new(&c->session, callbacks, c);
          nghttp2_settings_entry settings{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 1000};
          nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, &settings, 1);
          ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
          ev.data.ptr = c;
          epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev);
        }
        continue;
      }
      bool ok = true;
      for (;;) {
        const ssize_t r = ::recv(c->fd, buf, sizeof buf, 0);
        if (r == 0 || (r < 0 && errno != EAGAIN)) ok = false;
        if (r <= 0) break;
        if (nghttp2_session_mem_recv(c->session, reinterpret_cast<uint8_t*>(buf), size_t(r)) < 0) ok = false;
      }
      if (ok) ok = flush(*c);
      if (!ok) close_connection(epoll_fd, c);
    }
  }
}
