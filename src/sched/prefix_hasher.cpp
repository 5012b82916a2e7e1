#include "ringgate/sched/prefix_hasher.h"

#include "ringgate/openai/media_part.h"

// Inline xxh3 (the installed header carries the implementation): one call per
// 64-byte block, so the call overhead into the shared library matters.
#define XXH_INLINE_ALL
#include <xxhash.h>

#include <algorithm>
#include <bit>
#include <cstring>

namespace ringgate::sched {
namespace {

// Walks the joined stream (part, 0xFF, part, 0xFF, ...) block by block without
// materializing it: a block lying inside one part is hashed in place; only a
// block that straddles part boundaries is assembled in a small stack buffer.
// A media record's stream bytes, pushed a repetition at a time (in place: no copy of it).
template <class Push>
bool push_media(std::string_view record, size_t bytes, Push&& push) {
  const auto* data = reinterpret_cast<const unsigned char*>(record.data());
  for (size_t done = 0; done < bytes; done += record.size())
    if (!push(data, std::min(record.size(), bytes - done))) return false;
  return true;
}

template <class Emit>
void for_each_block(std::span<const std::string_view> parts, size_t block_bytes, const MediaWeights& media,
                    Emit&& emit) {
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
    const size_t media_bytes = media_stream_bytes(part, media);
    if (media_bytes > 0) {
      if (!push_media(part, media_bytes, push)) return;
    } else if (!push(reinterpret_cast<const unsigned char*>(part.data()), part.size())) {
      return;
    }
    if (!push(&terminator, 1)) return;
  }
  if (filled > 0) emit(buffer, filled);
}

uint64_t key_of(uint64_t chain, uint64_t model_seed) { return XXH3_64bits_withSeed(&chain, sizeof chain, model_seed); }

// One link of the chain: the block's own xxh3, folded into the chain value by one
// 128-bit multiply (xxh3's own mixing step), the previous value rotated in so that
// no product can erase it. Seeding each block's xxh3 with the previous value, as
// before, made the whole prompt one dependency chain (~5.5 ns a block, 18 us per
// 200 KB); unseeded, consecutive blocks hash in parallel and only the multiply is
// serial (~4 ns a block, 12.6 us per 200 KB: tokenize_bench approximate_blocks).
uint64_t chain_step(uint64_t chain, const unsigned char* data, size_t len) {
  const uint64_t block = XXH3_64bits(data, len);
  const __uint128_t product = __uint128_t(chain ^ 0x9E3779B97F4A7C15ULL) * (block ^ 0xC2B2AE3D27D4EB4FULL);
  return uint64_t(product) ^ uint64_t(product >> 64) ^ std::rotl(chain, 29);
}

// Chain entries a typical prompt needs (64 KB at 64-byte blocks); more is given back between requests.
constexpr size_t kKeptEntries = 512;

}  // namespace

size_t media_stream_bytes(std::string_view record, const MediaWeights& weights) {
  openai::MediaKind kind;
  if (!openai::media_record_kind(record, kind)) return 0;
  const uint32_t tokens = kind == openai::MediaKind::Image ? weights.image_tokens : weights.audio_tokens;
  return std::max<size_t>(record.size(), size_t(std::clamp<uint32_t>(tokens, 1, kMaxMediaTokens)) * 4);
}

PrefixChain::PrefixChain(size_t block_bytes, size_t max_blocks, MediaWeights media)
    : block_bytes_(std::clamp<size_t>(block_bytes, 1, 4096)),
      max_blocks_(std::max<size_t>(max_blocks, 1)),
      media_(media),
      carry_(block_bytes_) {}

void PrefixChain::reset(size_t body_bytes) {
  seed_ = 0;
  blocks_ = 0;
  filled_ = 0;
  text_bytes_ = 0;
  entries_.clear();
  // The text is never longer than the body: one allocation at most, none while it arrives.
  const size_t blocks = std::min(body_bytes / block_bytes_ + 1, max_blocks_);
  if (entries_.capacity() < entries_for_blocks(blocks)) entries_.reserve(entries_for_blocks(blocks));
}

void PrefixChain::trim() {
  if (entries_.capacity() > kKeptEntries) std::vector<uint64_t>().swap(entries_);
}

void PrefixChain::block(const unsigned char* data, size_t len) {
  seed_ = chain_step(seed_, data, len);
  ++blocks_;
  if (emits_entry(blocks_)) entries_.push_back(seed_);
}

void PrefixChain::append(const char* text, size_t n) {
  text_bytes_ += n;
  feed(text, n);
}

void PrefixChain::feed(const char* text, size_t n) {
  auto data = reinterpret_cast<const unsigned char*>(text);
  while (n > 0 && blocks_ < max_blocks_) {
    if (filled_ == 0 && n >= block_bytes_) {
      const size_t whole = std::min(n / block_bytes_, max_blocks_ - blocks_);
      if (block_bytes_ == 64)
        whole_blocks<64>(data, whole);
      else
        whole_blocks<0>(data, whole);
      data += whole * block_bytes_;
      n -= whole * block_bytes_;
      continue;
    }
    const size_t take = std::min(n, block_bytes_ - filled_);
    std::memcpy(carry_.data() + filled_, data, take);
    filled_ += take;
    data += take;
    n -= take;
    if (filled_ == block_bytes_) {
      filled_ = 0;
      block(carry_.data(), block_bytes_);
    }
  }
}

// `count` whole blocks lying in place, the chain held in registers (a member would
// put a store and a reload on the chain's dependency path at every block), the
// block size a constant for the default (xxh3 then inlines its 64-byte case).
template <size_t kBytes>
void PrefixChain::whole_blocks(const unsigned char* data, size_t count) {
  const size_t bytes = kBytes ? kBytes : block_bytes_;
  uint64_t seed = seed_;
  size_t blocks = blocks_;
  for (size_t i = 0; i < count; ++i, data += bytes) {
    seed = chain_step(seed, data, bytes);
    if (emits_entry(++blocks)) entries_.push_back(seed);
  }
  seed_ = seed;
  blocks_ = blocks;
}

void PrefixChain::end_part() {
  static const char terminator = char(kPartTerminator);
  feed(&terminator, 1);
}

void PrefixChain::media(std::string_view record) {
  const size_t bytes = media_stream_bytes(record, media_);
  text_bytes_ += bytes;
  push_media(record, bytes, [&](const unsigned char* data, size_t n) {
    feed(reinterpret_cast<const char*>(data), n);
    return !full();
  });
  end_part();
}

void PrefixChain::finish() {
  if (filled_ > 0 && blocks_ < max_blocks_) block(carry_.data(), filled_);
  filled_ = 0;
}

PrefixHasher::PrefixHasher(size_t block_bytes, size_t max_blocks, MediaWeights media)
    : block_bytes_(std::clamp<size_t>(block_bytes, 1, 4096)), max_blocks_(std::max<size_t>(max_blocks, 1)), media_(media) {}

size_t PrefixHasher::block_count(std::span<const std::string_view> parts) const {
  size_t bytes = 0;
  for (std::string_view p : parts) bytes += std::max(p.size(), media_stream_bytes(p, media_)) + 1;
  return entries_for_blocks(std::min((bytes + block_bytes_ - 1) / block_bytes_, max_blocks_));
}

uint64_t PrefixHasher::prompt_bytes(std::span<const std::string_view> parts) const {
  uint64_t bytes = 0;
  for (std::string_view part : parts) {
    const size_t media_bytes = media_stream_bytes(part, media_);
    bytes += media_bytes > 0 ? media_bytes : part.size();
  }
  return bytes;
}

size_t PrefixHasher::hash(std::string_view model, std::span<const std::string_view> parts,
                          std::span<uint64_t> out) const {
  if (out.empty()) return 0;
  const uint64_t model_seed = XXH3_64bits(model.data(), model.size());
  uint64_t seed = 0;
  size_t n = 0, blocks = 0;
  for_each_block(parts, block_bytes_, media_, [&](const unsigned char* data, size_t len) {
    seed = chain_step(seed, data, len);
    ++blocks;
    if (emits_entry(blocks)) out[n++] = key_of(seed, model_seed);
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

void PrefixHasher::keys(std::string_view model, std::span<const uint64_t> chain, std::vector<uint64_t>& out) {
  const uint64_t model_seed = XXH3_64bits(model.data(), model.size());
  if (out.capacity() < chain.size()) out.reserve(chain.size());
  out.resize(chain.size());
  for (size_t i = 0; i < chain.size(); ++i) out[i] = key_of(chain[i], model_seed);
}

}  // namespace ringgate::sched
