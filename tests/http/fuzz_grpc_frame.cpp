// libFuzzer target: gRPC's length-prefixed framing (http::GrpcMessageReader) fed arbitrary
// bytes in arbitrary splits, as HTTP/2 DATA frames cut a stream. Nothing may crash or read
// out of bounds; every message handed out is within the bound; until an error, the
// messages framed again are exactly the bytes taken; after an error nothing more comes out.
// The first input byte picks the bound, the next ones the split sizes; grpc-timeout is
// parsed from the start of the rest as well.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ringgate/http/grpc_frame.h"

// NOLINTNEXTLINE(readability-identifier-naming)
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using ringgate::http::GrpcFrameError;
  if (size < 3) return 0;
  const size_t bound = size_t(data[0]) * 7;  // 0..1785: small enough to be met and passed
  const size_t split_a = size_t(data[1]) + 1, split_b = size_t(data[2] % 16) + 1;
  const std::string_view input(reinterpret_cast<const char*>(data + 3), size - 3);
  uint64_t ms = 0;
  (void)ringgate::http::parse_grpc_timeout(input.substr(0, 10), ms);

  ringgate::http::GrpcMessageReader reader(bound);
  std::string reframed;
  size_t at = 0;
  bool failed = false;
  for (int turn = 0; at < input.size(); ++turn) {
    const size_t n = std::min(input.size() - at, turn % 2 == 0 ? split_a : split_b);
    std::string piece(input.substr(at, n));  // its own allocation: reads past it are caught
    std::string_view bytes(piece);
    std::string_view message;
    while (reader.next(bytes, message)) {
      if (failed || message.size() > bound) std::abort();
      ringgate::http::append_grpc_prefix(reframed, message.size());
      reframed.append(message);
    }
    if (reader.error() != GrpcFrameError::None)
      failed = true;
    else if (!bytes.empty())
      std::abort();  // without an error, every byte given is taken
    at += n;
  }
  if (!failed) {
    // What was framed again is what came, less a message begun and not finished.
    if (input.substr(0, reframed.size()) != reframed) std::abort();
    if (reframed.size() != input.size() && !reader.partial()) std::abort();
  }
  return 0;
}
