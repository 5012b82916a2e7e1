#include "ringgate/http/body_buffer.h"

#include <cstring>
#include <new>
#include <stdexcept>

namespace ringgate::http {

BodyBuffer& BodyBuffer::operator=(BodyBuffer&& other) noexcept {
  if (this == &other) return *this;
  ::operator delete(data_);
  data_ = other.data_;
  size_ = other.size_;
  capacity_ = other.capacity_;
  other.data_ = nullptr;
  other.size_ = other.capacity_ = 0;
  return *this;
}

BodyBuffer::~BodyBuffer() { ::operator delete(data_); }

void BodyBuffer::reserve(size_t bytes) {
  if (bytes <= capacity_) return;
  if (bytes > max_bytes()) throw std::length_error("body buffer too large");
  // Large blocks in whole pages: a connection whose bodies differ by a few bytes
  // keeps its block instead of growing it each time.
  if (bytes >= 64 * 1024) bytes = (bytes + 4095) & ~size_t(4095);
  // operator new (not malloc): allocation failures are std::bad_alloc, as for the
  // request's other strings, and tests can make them happen.
  char* grown = static_cast<char*>(::operator new(bytes));
  if (size_ != 0) std::memcpy(grown, data_, size_);  // only the bytes held, not the stale rest
  ::operator delete(data_);
  data_ = grown;
  capacity_ = bytes;
}

void BodyBuffer::assign(std::string_view text) {
  size_ = 0;
  append(text.data(), text.size());
}

void BodyBuffer::append(const char* bytes, size_t n) {
  if (n == 0) return;
  if (n > capacity_ - size_) {
    if (n > max_bytes() - size_) throw std::length_error("body buffer too large");
    // Geometric growth, as std::string: appending piecewise stays linear.
    size_t want = size_ + n;
    if (want < 2 * capacity_) want = 2 * capacity_;
    if (want < 64) want = 64;
    const bool inside = data_ != nullptr && bytes >= data_ && bytes < data_ + capacity_;
    const size_t offset = inside ? size_t(bytes - data_) : 0;
    reserve(want);
    if (inside) bytes = data_ + offset;  // appending its own bytes: they moved with the block
  }
  std::memmove(data_ + size_, bytes, n);
  size_ += n;
}

void BodyBuffer::release() {
  ::operator delete(data_);
  data_ = nullptr;
  size_ = capacity_ = 0;
}

void BodyBuffer::commit(const char* at, size_t n) {
  if (at != data_ + size_) std::memmove(data_ + size_, at, n);
  size_ += n;
}

}  // namespace ringgate::http
