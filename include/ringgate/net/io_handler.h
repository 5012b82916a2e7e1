#pragma once
// The completion-style contract every backend of the event loop keeps (io_uring
// natively, epoll by emulation): an operation is submitted on behalf of an IoHandler,
// and ends with exactly one final completion (more == false) after zero or more
// intermediate ones (multishot accept / recv, more == true).
//
// Deferred deletion (Envoy's DeferredDeletable): a handler is never deleted while an
// operation names it. Loop::retire() hides it from further completions; the loop
// deletes it once its last final completion has arrived, at the end of a loop turn.
#include <cstdint>

namespace ringgate::net {

// RecvInto: one receive into the handler's own buffer (not a provided one); its one
// completion's res counts the bytes written at the start of that buffer (data: null).
enum class IoOp : uint8_t { Accept = 1, Recv = 2, Send = 3, SendMsg = 4, Connect = 5, Cancel = 6, RecvInto = 7 };

struct Completion {
  IoOp op;
  int32_t res;               // bytes / fd / 0, or -errno
  bool more;                 // more completions of this (multishot) operation follow
  const char* data;          // Recv with res > 0: the bytes, valid during on_completion only
  bool queued = false;       // Recv (io_uring): the socket held more bytes after this receive,
                             // which this multishot is delivering (its completions follow)
};

// 16-aligned: the io_uring backend keeps the operation in the low bits of the pointer.
class alignas(16) IoHandler {
 public:
  virtual ~IoHandler() = default;
  virtual void on_completion(const Completion& completion) = 0;
  // Asked for with Loop::at_turn_end: this turn's completions and timers have run.
  virtual void on_turn_end() {}

  uint32_t pending_ops() const { return pending_ops_; }
  bool retired() const { return retired_; }

 private:
  friend class Loop;
  uint32_t pending_ops_ = 0;  // submitted operations whose final completion has not arrived
  bool retired_ = false;
  bool queued_for_delete_ = false;
  bool turn_end_queued_ = false;
  IoHandler* retired_prev_ = nullptr;  // Loop's list of retired handlers still waiting
  IoHandler* retired_next_ = nullptr;
};

}  // namespace ringgate::net
