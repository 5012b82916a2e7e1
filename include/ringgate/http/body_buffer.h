#pragma once
// A request body's bytes: one heap block (operator new), its size and its capacity. Unlike
// std::string, the room past size() may be written by whoever fills it — a socket
// receive lands the body's next bytes there (spare()) and commit() takes them in
// without a copy; std::string has no defined way to grow its size over bytes written
// in its capacity (resize() would overwrite them with zeros).
//
// The block moves only in reserve()/append() growth and is freed only by release()
// and the destructor: a caller with an operation in flight on spare() keeps both away
// until that operation's last completion (ClientConnection says how).
#include <cstddef>
#include <string>
#include <string_view>

namespace ringgate::http {

class BodyBuffer {
 public:
  BodyBuffer() = default;
  BodyBuffer(const BodyBuffer& other) { assign(other.view()); }
  BodyBuffer(BodyBuffer&& other) noexcept : data_(other.data_), size_(other.size_), capacity_(other.capacity_) {
    other.data_ = nullptr;
    other.size_ = other.capacity_ = 0;
  }
  BodyBuffer& operator=(const BodyBuffer& other) {
    if (this != &other) assign(other.view());
    return *this;
  }
  BodyBuffer& operator=(BodyBuffer&& other) noexcept;
  BodyBuffer& operator=(std::string_view text) {
    assign(text);
    return *this;
  }
  ~BodyBuffer();

  const char* data() const { return data_ ? data_ : ""; }
  char* data() { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  size_t capacity() const { return capacity_; }
  std::string_view view() const { return {data(), size_}; }
  operator std::string_view() const { return view(); }  // NOLINT: read as text everywhere
  std::string str() const { return std::string(view()); }
  bool operator==(std::string_view text) const { return view() == text; }

  // At least `bytes` of capacity; the bytes held stay. Throws std::bad_alloc, or
  // std::length_error past max_bytes() (as std::string does).
  void reserve(size_t bytes);
  void assign(std::string_view text);
  void assign(std::string_view text, size_t pos, size_t count) { assign(text.substr(pos, count)); }
  void append(const char* bytes, size_t n);
  void append(std::string_view text) { append(text.data(), text.size()); }
  void append(std::string_view text, size_t pos) { append(text.substr(pos)); }
  BodyBuffer& operator+=(std::string_view text) {
    append(text);
    return *this;
  }
  void clear() { size_ = 0; }
  // Frees the block (capacity 0).
  void release();
  // Forgets the block without freeing it (a receive that can no longer be waited for
  // may still write into it: at the teardown of a stopped loop).
  void abandon() {
    data_ = nullptr;
    size_ = capacity_ = 0;
  }

  // The room past the body, where its next bytes may be written in place.
  char* spare() { return data_ + size_; }
  size_t spare_capacity() const { return capacity_ - size_; }
  // `n` bytes at `at`, somewhere in the spare room, are the body's next bytes: moved
  // down to spare() when they are not there already (the framing of a chunked body
  // sat before them), never copied from anywhere else.
  void commit(const char* at, size_t n);
  // Whether [at, at + n) lies in the spare room (written there in place).
  bool in_spare(const char* at, size_t n) const {
    return data_ != nullptr && at >= data_ + size_ && at <= data_ + capacity_ && n <= size_t(data_ + capacity_ - at);
  }

  static size_t max_bytes() { return size_t(1) << 40; }

 private:
  char* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

}  // namespace ringgate::http
