#pragma once
// What a grpc++ completion queue hands back to the EPP's threads: the call an operation
// belongs to and which of its operations ended. Every call served on the ext-proc threads
// (ext-proc streams, health checks) is a CompletionHandler, so one loop serves them all.
#include <cstdint>

namespace ringgate::epp {

class CompletionHandler {
 public:
  // `op` is the handler's own operation code; `ok` is grpc++'s (false: the operation
  // could not complete, the call is over or the server is shutting down).
  virtual void on_event(uint8_t op, bool ok) = 0;

 protected:
  ~CompletionHandler() = default;
};

struct CompletionTag {
  CompletionHandler* handler;
  uint8_t op;
};

}  // namespace ringgate::epp
