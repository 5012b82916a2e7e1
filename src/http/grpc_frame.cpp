#include "ringgate/http/grpc_frame.h"

#include <algorithm>

namespace ringgate::http {

bool GrpcMessageReader::read_prefix(const char* prefix) {
  const auto* p = reinterpret_cast<const unsigned char*>(prefix);
  if (p[0] != 0) {
    error_ = GrpcFrameError::Compressed;
    return false;
  }
  expected_ = (size_t(p[1]) << 24) | (size_t(p[2]) << 16) | (size_t(p[3]) << 8) | size_t(p[4]);
  if (expected_ > max_message_bytes_) {
    error_ = GrpcFrameError::TooLarge;
    return false;
  }
  return true;
}

void GrpcMessageReader::reset() {
  held_.clear();
  expected_ = 0;
  handed_out_ = false;
  error_ = GrpcFrameError::None;
}

bool GrpcMessageReader::next(std::string_view& data, std::string_view& message) {
  if (error_ != GrpcFrameError::None) return false;
  if (handed_out_) {  // the last message was handed out of held_: its room is reused
    held_.clear();
    handed_out_ = false;
  }
  if (held_.empty() && data.size() >= kGrpcPrefixBytes) {
    if (!read_prefix(data.data())) return false;
    if (data.size() - kGrpcPrefixBytes >= expected_) {  // whole here: no copy
      message = data.substr(kGrpcPrefixBytes, expected_);
      data.remove_prefix(kGrpcPrefixBytes + expected_);
      return true;
    }
  }
  while (!data.empty()) {
    const size_t want =
        held_.size() < kGrpcPrefixBytes ? kGrpcPrefixBytes - held_.size() : kGrpcPrefixBytes + expected_ - held_.size();
    const size_t n = std::min(want, data.size());
    held_.append(data.data(), n);
    data.remove_prefix(n);
    if (held_.size() == kGrpcPrefixBytes && n == want && !read_prefix(held_.data())) return false;
    if (held_.size() >= kGrpcPrefixBytes && held_.size() == kGrpcPrefixBytes + expected_) {
      message = std::string_view(held_).substr(kGrpcPrefixBytes);
      handed_out_ = true;
      return true;
    }
  }
  return false;
}

void append_grpc_prefix(std::string& out, size_t length) {
  const char prefix[kGrpcPrefixBytes] = {0, char((length >> 24) & 0xff), char((length >> 16) & 0xff),
                                         char((length >> 8) & 0xff), char(length & 0xff)};
  out.append(prefix, kGrpcPrefixBytes);
}

bool parse_grpc_timeout(std::string_view text, uint64_t& ms) {
  if (text.size() < 2 || text.size() > 9) return false;
  uint64_t value = 0;
  for (char c : text.substr(0, text.size() - 1)) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + uint64_t(c - '0');
  }
  switch (text.back()) {
    case 'H':
      ms = value * 3600000;
      return true;
    case 'M':
      ms = value * 60000;
      return true;
    case 'S':
      ms = value * 1000;
      return true;
    case 'm':
      ms = value;
      return true;
    case 'u':
      ms = (value + 999) / 1000;
      return true;
    case 'n':
      ms = (value + 999999) / 1000000;
      return true;
    default:
      return false;
  }
}

std::string_view grpc_status_name(GrpcStatus status) {
  switch (status) {
    case GrpcStatus::Ok:
      return "OK";
    case GrpcStatus::Cancelled:
      return "CANCELLED";
    case GrpcStatus::InvalidArgument:
      return "INVALID_ARGUMENT";
    case GrpcStatus::DeadlineExceeded:
      return "DEADLINE_EXCEEDED";
    case GrpcStatus::NotFound:
      return "NOT_FOUND";
    case GrpcStatus::ResourceExhausted:
      return "RESOURCE_EXHAUSTED";
    case GrpcStatus::Unimplemented:
      return "UNIMPLEMENTED";
    case GrpcStatus::Internal:
      return "INTERNAL";
    case GrpcStatus::Unavailable:
      return "UNAVAILABLE";
  }
  return "UNKNOWN";
}

}  // namespace ringgate::http
