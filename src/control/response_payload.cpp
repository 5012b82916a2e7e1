#include "ringgate/control/response_payload.h"

namespace ringgate::control {
namespace {

constexpr char kLearned = 'L';
constexpr char kForgotten = 'F';

bool valid_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxResponsePayloadIdBytes) return false;
  for (const char c : id)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  return true;
}

}  // namespace

bool append_response(std::string& out, std::string_view id, uint64_t server, bool forget) {
  if (!valid_id(id)) return false;
  out.push_back(forget ? kForgotten : kLearned);
  out.push_back(char(id.size() & 0xff));
  out.push_back(char(id.size() >> 8));
  out += id;
  if (forget) server = 0;
  for (int b = 0; b < 8; ++b) out.push_back(char(server >> (8 * b)));
  return true;
}

PayloadStep next_response(std::string_view p, size_t& at, ResponseChange& out) {
  if (at >= p.size()) return PayloadStep::End;
  const size_t left = p.size() - at;
  if (left < response_record_bytes(0)) return PayloadStep::Malformed;
  const char kind = p[at];
  if (kind != kLearned && kind != kForgotten) return PayloadStep::Malformed;
  const size_t id_bytes = size_t(uint8_t(p[at + 1])) | size_t(uint8_t(p[at + 2])) << 8;
  if (left < response_record_bytes(id_bytes)) return PayloadStep::Malformed;
  const std::string_view id = p.substr(at + 3, id_bytes);
  if (!valid_id(id)) return PayloadStep::Malformed;
  uint64_t server = 0;
  for (size_t b = 0; b < 8; ++b) server |= uint64_t(uint8_t(p[at + 3 + id_bytes + b])) << (8 * b);
  if (kind == kForgotten && server != 0) return PayloadStep::Malformed;
  out.id = id;
  out.server = server;
  out.forget = kind == kForgotten;
  at += response_record_bytes(id_bytes);
  return PayloadStep::Record;
}

}  // namespace ringgate::control
