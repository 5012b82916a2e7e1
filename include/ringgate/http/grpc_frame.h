#pragma once
// gRPC's framing over HTTP/2 (grpc/doc/PROTOCOL-HTTP2.md): each message is a 5-byte
// prefix (a compressed flag, then the length as 4 bytes big-endian) and the message; a
// call's status goes in trailers (grpc-status, grpc-message); its deadline comes in the
// request's grpc-timeout. No protobuf here: messages are bytes in and out.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ringgate::http {

inline constexpr size_t kGrpcPrefixBytes = 5;

// The status codes this server answers with (grpc/doc/statuscodes.md).
enum class GrpcStatus : uint8_t {
  Ok = 0,
  Cancelled = 1,
  InvalidArgument = 3,
  DeadlineExceeded = 4,
  NotFound = 5,
  ResourceExhausted = 8,
  Unimplemented = 12,
  Internal = 13,
  Unavailable = 14,
};

// Why a stream's bytes are not messages. "No error" is the value-initialised state.
enum class GrpcFrameError : uint8_t {
  None,
  Compressed,  // the compressed flag is set (no grpc-encoding is accepted here)
  TooLarge,    // the prefix names a message past the reader's bound
};

// Splits one stream's DATA into messages, however the frames cut them. A message that
// sits whole in the bytes given is handed out in place; one that straddles them is
// gathered (never more than the bound plus the prefix).
class GrpcMessageReader {
 public:
  explicit GrpcMessageReader(size_t max_message_bytes) : max_message_bytes_(max_message_bytes) {}

  // Takes bytes from the front of `data` until a message is whole: true with `message`
  // set (valid until the next call or until `data`'s bytes go), false when `data` ran out
  // first (feed more) or on an error (error() says which; every later call is false).
  bool next(std::string_view& data, std::string_view& message);
  GrpcFrameError error() const { return error_; }
  // Bytes of a message begun and not finished (at the end of the stream: a cut message).
  bool partial() const { return !held_.empty() && !handed_out_; }
  void reset();

 private:
  bool read_prefix(const char* prefix);

  size_t max_message_bytes_;
  std::string held_;     // a straddling message's bytes so far, prefix included
  size_t expected_ = 0;  // its length, once its prefix is whole
  bool handed_out_ = false;
  GrpcFrameError error_ = GrpcFrameError::None;
};

// Appends a message's prefix (uncompressed); the message's `length` bytes follow.
void append_grpc_prefix(std::string& out, size_t length);

// grpc-timeout ("1-8 digits" and a unit: H M S m u n) in milliseconds, rounded up. false:
// not a grpc-timeout (the call then has no deadline).
bool parse_grpc_timeout(std::string_view text, uint64_t& ms);

// "Ok", "InvalidArgument"-style names are not what the wire carries: the number is. These
// are the canonical upper-case names, for logs and metric labels.
std::string_view grpc_status_name(GrpcStatus status);

}  // namespace ringgate::http
