#pragma once
// Protobuf's wire format, written into a buffer sized beforehand (the OTLP spans a worker
// encodes, metrics/span_builder.h, and the request around a batch of them,
// control/otlp_span_encoder.h): protobuf's own CodedOutputStream array writers, with the
// field sizes that size the buffer. Field numbers come from the generated classes.
#include <google/protobuf/io/coded_stream.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ringgate::metrics::wire {

using Coded = google::protobuf::io::CodedOutputStream;

enum Type : uint32_t { kVarint = 0, kFixed64 = 1, kLength = 2, kFixed32 = 5 };

constexpr uint32_t tag(int field, Type type) { return uint32_t(field) << 3 | type; }

// A whole field's bytes: tag, (length,) value.
inline size_t length_field(int field, size_t n) {
  return Coded::VarintSize32(tag(field, kLength)) + Coded::VarintSize32(uint32_t(n)) + n;
}
inline size_t varint_field(int field, uint64_t v) {
  return Coded::VarintSize32(tag(field, kVarint)) + Coded::VarintSize64(v);
}
inline size_t fixed64_field(int field) { return Coded::VarintSize32(tag(field, kFixed64)) + 8; }
inline size_t fixed32_field(int field) { return Coded::VarintSize32(tag(field, kFixed32)) + 4; }

// A length-delimited field's tag and length (its n bytes follow).
inline uint8_t* put_length(int field, size_t n, uint8_t* p) {
  p = Coded::WriteTagToArray(tag(field, kLength), p);
  return Coded::WriteVarint32ToArray(uint32_t(n), p);
}
inline uint8_t* put_bytes(int field, const void* data, size_t n, uint8_t* p) {
  p = put_length(field, n, p);
  return Coded::WriteRawToArray(data, int(n), p);
}
inline uint8_t* put_text(int field, std::string_view s, uint8_t* p) { return put_bytes(field, s.data(), s.size(), p); }
inline uint8_t* put_varint(int field, uint64_t v, uint8_t* p) {
  p = Coded::WriteTagToArray(tag(field, kVarint), p);
  return Coded::WriteVarint64ToArray(v, p);
}
inline uint8_t* put_fixed64(int field, uint64_t v, uint8_t* p) {
  p = Coded::WriteTagToArray(tag(field, kFixed64), p);
  return Coded::WriteLittleEndian64ToArray(v, p);
}
inline uint8_t* put_fixed32(int field, uint32_t v, uint8_t* p) {
  p = Coded::WriteTagToArray(tag(field, kFixed32), p);
  return Coded::WriteLittleEndian32ToArray(v, p);
}

}  // namespace ringgate::metrics::wire
