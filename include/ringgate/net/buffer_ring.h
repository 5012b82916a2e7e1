#pragma once
// A provided-buffer ring for multishot receives. liburing 2.3 has
// io_uring_register_buf_ring but not io_uring_setup_buf_ring, so the page-aligned
// ring memory is mapped here.
#include <liburing.h>

#include <cstdint>
#include <string>

namespace ringgate::net {

class BufferRing {
 public:
  BufferRing() = default;
  BufferRing(const BufferRing&) = delete;
  BufferRing& operator=(const BufferRing&) = delete;
  ~BufferRing();

  // count must be a power of two. Returns an empty string on success.
  std::string init(io_uring* ring, uint16_t group_id, uint32_t count, uint32_t buffer_size);

  uint16_t group_id() const { return group_id_; }
  // The buffer a CQE selected (cqe->flags >> IORING_CQE_BUFFER_SHIFT).
  char* data(uint16_t buffer_id) const { return buffers_ + size_t(buffer_id) * buffer_size_; }
  // Hands a buffer back to the kernel once its bytes have been consumed.
  void give_back(uint16_t buffer_id);

 private:
  io_uring* ring_ = nullptr;
  io_uring_buf_ring* ring_memory_ = nullptr;
  size_t ring_bytes_ = 0;
  char* buffers_ = nullptr;
  uint32_t count_ = 0;
  uint32_t buffer_size_ = 0;
  uint16_t group_id_ = 0;
  bool registered_ = false;
};

}  // namespace ringgate::net
