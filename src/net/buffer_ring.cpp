#include "ringgate/net/buffer_ring.h"

#include <sys/mman.h>

#include <cstdlib>
#include <cstring>

namespace ringgate::net {

BufferRing::~BufferRing() {
  if (registered_) io_uring_unregister_buf_ring(ring_, group_id_);
  if (ring_memory_) munmap(ring_memory_, ring_bytes_);
  std::free(buffers_);
}

std::string BufferRing::init(io_uring* ring, uint16_t group_id, uint32_t count, uint32_t buffer_size) {
  if (count == 0 || (count & (count - 1)) != 0 || count > 32768) return "buffer count must be a power of two ≤ 32768";
  ring_ = ring;
  group_id_ = group_id;
  count_ = count;
  buffer_size_ = buffer_size;
  ring_bytes_ = count * sizeof(io_uring_buf);
  void* memory = mmap(nullptr, ring_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) return std::string("mmap buffer ring: ") + std::strerror(errno);
  ring_memory_ = static_cast<io_uring_buf_ring*>(memory);
  buffers_ = static_cast<char*>(std::aligned_alloc(4096, size_t(count) * buffer_size));
  if (!buffers_) return "out of memory for receive buffers";

  io_uring_buf_reg registration{};
  registration.ring_addr = reinterpret_cast<uintptr_t>(ring_memory_);
  registration.ring_entries = count;
  registration.bgid = group_id;
  const int rc = io_uring_register_buf_ring(ring, &registration, 0);
  if (rc != 0) return std::string("io_uring_register_buf_ring: ") + std::strerror(-rc);
  registered_ = true;

  io_uring_buf_ring_init(ring_memory_);
  const int mask = io_uring_buf_ring_mask(count);
  for (uint32_t i = 0; i < count; ++i) {
    io_uring_buf_ring_add(ring_memory_, data(uint16_t(i)), buffer_size, uint16_t(i), mask, int(i));
  }
  io_uring_buf_ring_advance(ring_memory_, int(count));
  return {};
}

void BufferRing::give_back(uint16_t buffer_id) {
  io_uring_buf_ring_add(ring_memory_, data(buffer_id), buffer_size_, buffer_id,
                        io_uring_buf_ring_mask(count_), 0);
  io_uring_buf_ring_advance(ring_memory_, 1);
}

}  // namespace ringgate::net
