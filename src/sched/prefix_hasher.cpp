#include "ringgate/sched/prefix_hasher.h"

// Inline xxh3 (the installed header carries the implementation): one call per
// 64-byte block, so the call overhead into the shared library matters.
#define XXH_INLINE_ALL
#include <xxhash.h>

#include <algorithm>
#include <cstring>

namespace ringgate::sched {
namespace {

// Walks the joined stream (part, 0xFF, part, 0xFF, ...) block by block without
// materializing it: a block lying inside one part is hashed in place; only a
// block that straddles part boundaries is assembled in a small stack buffer.
template <class Emit>
void for_each_block(std::span<const std::string_view> parts, size_t block_bytes, Emit&& emit) {
    constexpr size_t kMaxStackBlock = 4096;
    unsigned char buffer[kMaxStackBlock];
    size_t filled = 0;  // bytes of the current straddling block in buffer
    auto push = [&](const unsigned char* data, size_t n) -> bool {
        while (n > 0) {
            if (filled == 0 && n >= block_bytes) {
                if (!emit(data, block_bytes)) return false;
                data += block_bytes;
                n -= block_bytes;
                continue;
            }
            size_t take = std::min(n, block_bytes - filled);
            std::memcpy(buffer + filled, data, take);
            filled += take;
            data += take;
            n -= take;
            if (filled == block_bytes) {
                filled = 0;
                if (!emit(buffer, block_bytes)) return false;
            }
        }
        return true;
    };
    static const unsigned char terminator = kPartTerminator;
    for (std::string_view part : parts) {
        if (!push(reinterpret_cast<const unsigned char*>(part.data()), part.size())) return;
        if (!push(&terminator, 1)) return;
    }
    if (filled > 0) emit(buffer, filled);
}

}  // namespace

PrefixHasher::PrefixHasher(size_t block_bytes, size_t max_blocks)
    : block_bytes_(std::clamp<size_t>(block_bytes, 1, 4096)), max_blocks_(std::max<size_t>(max_blocks, 1)) {}

size_t PrefixHasher::block_count(std::span<const std::string_view> parts) const {
    size_t bytes = 0;
    for (std::string_view p : parts) bytes += p.size() + 1;
    return entries_for_blocks(std::min((bytes + block_bytes_ - 1) / block_bytes_, max_blocks_));
}

size_t PrefixHasher::hash(std::string_view model, std::span<const std::string_view> parts,
                          std::span<uint64_t> out) const {
    if (out.empty()) return 0;
    uint64_t seed = XXH3_64bits(model.data(), model.size());
    size_t n = 0, blocks = 0;
    for_each_block(parts, block_bytes_, [&](const unsigned char* data, size_t len) {
        seed = XXH3_64bits_withSeed(data, len, seed);
        ++blocks;
        if (blocks <= kDensePrefixBlocks || (blocks - kDensePrefixBlocks) % kPrefixSampleStride == 0) out[n++] = seed;
        return n < out.size() && blocks < max_blocks_;
    });
    return n;
}

void PrefixHasher::hash(std::string_view model, std::span<const std::string_view> parts,
                        std::vector<uint64_t>& out) const {
    size_t count = block_count(parts);
    if (out.capacity() < count) out.reserve(count);
    out.resize(count);
    size_t written = hash(model, parts, std::span<uint64_t>(out));
    out.resize(written);
}

}  // namespace ringgate::sched
