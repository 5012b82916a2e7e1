#pragma once
// The interface both event-loop backends implement (Seastar's reactor_backend idea):
// io_uring submits the operations to the kernel; epoll emulates the same completion
// semantics with readiness and non-blocking syscalls. Only Loop calls these (it keeps
// each handler's count of operations in flight).
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "ringgate/net/io_handler.h"

namespace ringgate::net {

class Loop;

enum class BackendKind : uint8_t { Auto, IoUring, Epoll };

// "auto" | "io_uring" | "epoll"; nullopt-like false on anything else.
bool parse_backend_kind(std::string_view text, BackendKind& out);
const char* backend_kind_name(BackendKind kind);

struct LoopOptions {
  BackendKind backend = BackendKind::IoUring;  // Auto is resolved before a Loop starts
  unsigned sq_entries = 2048;
  unsigned cq_factor = 4;       // io_uring: CQ = 4 × SQ (multishot ops post many CQEs per SQE)
  uint32_t buffer_count = 128;  // io_uring provided receive buffers (power of two)
  uint32_t buffer_size = 16384; // bytes per receive (both backends)
};

class IoBackend {
 public:
  virtual ~IoBackend() = default;
  virtual std::string init(const LoopOptions& options) = 0;
  virtual void accept_multishot(int fd, IoHandler* handler) = 0;
  virtual void cancel_accept(int fd, IoHandler* handler) = 0;
  virtual void recv_multishot(int fd, IoHandler* handler) = 0;
  // Ends the handler's multishot receive (its final completion: -ECANCELED), then
  // posts the cancel's own completion.
  virtual void cancel_recv(int fd, IoHandler* handler) = 0;
  // One receive of at most len bytes into `buffer` (the handler's own memory, which
  // must stay put until the final completion); completes with what the socket had, or
  // with wait_all (MSG_WAITALL) once all len bytes are in (fewer only at the peer's
  // FIN or an error): one completion per len bytes, however many segments they took.
  virtual void recv_into(int fd, char* buffer, size_t len, bool wait_all, IoHandler* handler) = 0;
  // Ends the handler's recv_into (-ECANCELED unless its bytes came first), then posts
  // the cancel's own completion.
  virtual void cancel_recv_into(int fd, IoHandler* handler) = 0;
  virtual void send(int fd, const void* data, size_t len, IoHandler* handler) = 0;
  virtual void sendmsg(int fd, const msghdr* msg, IoHandler* handler) = 0;
  virtual void connect(int fd, const sockaddr* address, socklen_t length, IoHandler* handler) = 0;
  // Every operation on fd ends (-ECANCELED), then the cancel's own completion.
  virtual void cancel_fd(int fd, IoHandler* handler) = 0;
  // Submits what is queued, waits at most timeout_ms (-1 = no limit) for completions
  // and hands each to loop.deliver(). Returns < 0 (-errno) on a fatal error.
  virtual int wait(int timeout_ms, Loop& loop) = 0;
  // Completions the kernel dropped because the CQ was full (cumulative; io_uring only).
  virtual uint64_t overflows() const { return 0; }
};

std::unique_ptr<IoBackend> make_uring_backend();
std::unique_ptr<IoBackend> make_epoll_backend();

// Whether this process may use io_uring: empty when it may, else why not
// ("kernel.io_uring_disabled=2", "io_uring_setup: Operation not permitted", ...).
std::string io_uring_refusal();

// The backend this process runs its workers on, decided once at start (auto resolved)
// and read by the metrics (ringgate_io_backend_info) and /debug.
struct BackendChoice {
  BackendKind kind = BackendKind::IoUring;
  std::string reason;  // why epoll, when auto fell back; else empty
};
const BackendChoice& chosen_backend();
// Resolves `requested` (auto → io_uring when this process may use it, else epoll) and
// records it. Returns an error only when io_uring was asked for explicitly and is refused.
std::string choose_backend(BackendKind requested, BackendChoice& out);

}  // namespace ringgate::net
