// The few CBOR items (RFC 8949) vLLM's sha256_cbor block hash feeds to
// cbor2.dumps(..., canonical=True): unsigned and negative integers in their
// shortest form, byte and text strings, arrays (Python tuples) and null.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace ringgate::kvevents {

class CborWriter {
 public:
  void unsigned_int(uint64_t value) { head(0, value); }
  void signed_int(int64_t value) {
    if (value >= 0) head(0, uint64_t(value));
    else head(1, uint64_t(-(value + 1)));
  }
  void bytes(std::span<const uint8_t> data) {
    head(2, data.size());
    out_.append(reinterpret_cast<const char*>(data.data()), data.size());
  }
  void text(std::string_view s) {
    head(3, s.size());
    out_.append(s);
  }
  void array_header(uint64_t count) { head(4, count); }
  void null() { out_.push_back(char(0xf6)); }

  const std::string& data() const { return out_; }
  void clear() { out_.clear(); }

 private:
  // Major type in the top 3 bits, the argument in the shortest encoding
  // (canonical CBOR: 0..23 inline, then 1, 2, 4 or 8 big-endian bytes).
  void head(uint8_t major, uint64_t arg) {
    const uint8_t m = uint8_t(major << 5);
    if (arg < 24) {
      out_.push_back(char(m | arg));
    } else if (arg <= 0xff) {
      out_.push_back(char(m | 24));
      out_.push_back(char(arg));
    } else if (arg <= 0xffff) {
      out_.push_back(char(m | 25));
      put_be(arg, 2);
    } else if (arg <= 0xffffffffULL) {
      out_.push_back(char(m | 26));
      put_be(arg, 4);
    } else {
      out_.push_back(char(m | 27));
      put_be(arg, 8);
    }
  }
  void put_be(uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) out_.push_back(char((v >> (8 * i)) & 0xff));
  }

  std::string out_;
};

}  // namespace ringgate::kvevents
