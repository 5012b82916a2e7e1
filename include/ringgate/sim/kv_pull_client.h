// The decode side of the sim's NixlConnector: pulls a prefill sim's held blocks with a
// real HTTP request (POST /nixl/pull on the prefill sim's HTTP port, the address its
// kv_transfer_params named), non-blocking on the server loop's epoll. Each pull ends
// once: OK (200), or failed (refused, reset, a non-200 answer, the timeout). Hosts are
// IP addresses or "localhost" only: no DNS lookup can stall the single-threaded loop.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "ringgate/http/response_parser.h"
#include "ringgate/sim/completion_request.h"

namespace ringgate::sim {

struct KvPullOutcome {
  bool ok = false;
  std::string error;  // why it failed, for the log
};

class KvPullClient {
 public:
  using Done = std::function<void(uint64_t pull, const KvPullOutcome& outcome)>;
  static constexpr size_t kMaxAnswerBytes = 64 * 1024;  // a pull's answer is small; more is a failure

  KvPullClient(uint64_t timeout_ns, Done done) : timeout_ns_(timeout_ns), done_(std::move(done)) {}
  ~KvPullClient();
  KvPullClient(const KvPullClient&) = delete;
  KvPullClient& operator=(const KvPullClient&) = delete;

  void set_epoll(int epoll_fd) { epoll_fd_ = epoll_fd; }
  // Starts a pull; its outcome comes through `done` later (never from inside start()).
  // Returns the pull's id, or 0 with `error` set when it cannot even start (bad host).
  uint64_t start(const std::string& host, uint32_t port, const KvPullRequest& request, uint64_t now_ns,
                 std::string& error);
  // Forgets a pull (its requester went away): `done` is not called for it.
  void cancel(uint64_t pull);

  bool owns(int fd) const { return by_fd_.contains(fd); }
  void on_event(int fd, uint32_t events);
  uint64_t next_deadline_ns() const;  // UINT64_MAX: none
  void expire(uint64_t now_ns);

 private:
  struct Pull {
    uint64_t id = 0;
    int fd = -1;
    uint64_t deadline_ns = 0;
    std::string out;
    size_t out_offset = 0;
    bool connected = false;
    http::ResponseParser parser;
    std::string body;
  };
  void finish(int fd, KvPullOutcome outcome);
  void close_pull(Pull& p);

  uint64_t timeout_ns_;
  Done done_;
  int epoll_fd_ = -1;
  uint64_t next_id_ = 1;
  std::unordered_map<int, std::unique_ptr<Pull>> by_fd_;
  std::unordered_map<uint64_t, int> fd_by_id_;
};

}  // namespace ringgate::sim
