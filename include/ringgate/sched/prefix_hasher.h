#pragma once
// Chained block hashes of a prompt, the keys of the prefix index.
//
// The prompt arrives as a sequence of text parts (completions: each prompt
// string; chat: for each message in order, its role then its content). They
// are joined into one logical byte stream by writing each part followed by one
// 0xFF byte. 0xFF never occurs in UTF-8, and JSON strings decoded by the
// gateway are valid UTF-8, so the join is unambiguous: ["ab","c"] and
// ["a","bc"] or a role/content swap give different streams, while a
// conversation extended by one more message keeps the previous conversation's
// stream (and so its blocks) as a prefix. (Non-UTF-8 parts containing 0xFF
// could collide with a different split; accepted.)
//
// The stream is cut into blocks of block_bytes (default 64 = llm-d's 16 tokens
// x 4 bytes); the trailing partial block is hashed too, so even short prompts
// get one hash. h0 = XXH3_64(block0, seed = XXH3_64(model)) -- "model ‖ block0"
// realized as a seed so no copy is needed --, hi = XXH3_64(block_i, seed = h(i-1)).
// Each hi therefore covers the model and every byte before the end of block i.
//
// Thread-safe (no state besides the configuration); never allocates when the
// output has capacity (the vector overload reuses its capacity).

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace ringgate::sched {

inline constexpr unsigned char kPartTerminator = 0xFF;

// Only the leading max_blocks blocks are hashed (default 4096 = 256 KB of prompt,
// ~64k tokens; llm-d's maxPrefixBlocksToMatch is 256): prompts that share that much
// share a document, and the cap bounds per-request CPU and index memory for huge
// prompts (the chain is serial: ~5.5 ns a block).
inline constexpr size_t kDefaultMaxPrefixBlocks = 4096;

class PrefixHasher {
public:
    explicit PrefixHasher(size_t block_bytes = 64, size_t max_blocks = kDefaultMaxPrefixBlocks);
    size_t block_bytes() const { return block_bytes_; }
    size_t max_blocks() const { return max_blocks_; }

    // Number of hashes hash() produces for this prompt: ceil(stream / block), at most max_blocks.
    size_t block_count(std::span<const std::string_view> parts) const;

    // Writes up to out.size() hashes (the leading blocks) and returns how many
    // were written. Hashing stops when out is full: a cap on prompt length.
    size_t hash(std::string_view model, std::span<const std::string_view> parts,
                std::span<uint64_t> out) const;

    // Replaces `out` with all hashes; allocates only if out lacks capacity.
    void hash(std::string_view model, std::span<const std::string_view> parts,
              std::vector<uint64_t>& out) const;

private:
    size_t block_bytes_;
    size_t max_blocks_;
};

}  // namespace ringgate::sched
