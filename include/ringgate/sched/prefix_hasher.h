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
// get one hash. The chain c(-1) = 0, ci = step(c(i-1), XXH3_64(block_i)) (step: a
// 128-bit multiply-fold, see chain_step) covers every byte before the end of block i;
// the key of block i is hi = XXH3_64(ci as 8 bytes, seed = XXH3_64(model)), so it
// covers the model too. The model goes in last because the chain is computed while
// the body arrives (PrefixChain), before the model field may have been read (JSON
// keys come in any order) and before a rewrite picks the target model.
//
// A media content part (openai/media_part.h: a 16-byte record, 0xFE then its kind and the
// hash of its decoded bytes) is one unit of the stream weighed as the tokens the model
// spends on it (MediaWeights: scheduler.tokensPerImage / tokensPerAudio), not by the size
// of its base64: its record is repeated to fill 4 bytes a token (llm-d's and the
// approximate index's rule), so an image holds as many blocks as its tokens would, the
// same image in the next turn gives the same blocks, and two images differ from the
// block where they start.
//
// Thread-safe (no state besides the configuration); never allocates when the
// output has capacity (the vector overload reuses its capacity).

#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace ringgate::sched {

inline constexpr unsigned char kPartTerminator = 0xFF;

// Tokens a media part stands for in the chain (1..kMaxMediaTokens each).
inline constexpr uint32_t kMaxMediaTokens = 16384;
struct MediaWeights {
  uint32_t image_tokens = 576;  // LLaVA-1.5's 24 x 24 patches, a common fixed count
  uint32_t audio_tokens = 750;  // Whisper's encoder: 30 s of audio
};
// Bytes of the stream a media record fills (4 a token, at least the record itself).
size_t media_stream_bytes(std::string_view record, const MediaWeights& weights);

// Only the leading max_blocks blocks are hashed (default 16384 = 1 MiB of prompt,
// ~256k tokens, beyond any served context window): every block is hashed (~4 ns a
// block), so the cap bounds per-request CPU for huge bodies.
inline constexpr size_t kDefaultMaxPrefixBlocks = 16384;

// Every block's hash is computed (the chain needs them), but past the leading
// kDensePrefixBlocks (4 KB, ~1k tokens) only some are emitted, the sampling stride
// doubling each time the depth doubles: 4 blocks (256 B) up to 8 KB, 8 up to 16 KB,
// 16 up to 32 KB... so every octave of depth adds the same kEntriesPerOctave (16)
// entries, and the stride stays under 1/16 of the depth (1/32 at an octave's end):
// two prompts are told apart to within 1/16 of the depth where they diverge (two
// 400 KB prompts sharing 300 KB: within 16 KB, with 100 KB after). The index then
// records 169 pairs for a 100k-token prompt instead of 6,400. Recording is a random
// memory access per new pair, and evicting a prompt costs as many again: on long
// distinct prompts, with the network's copies between requests evicting the index
// from cache, it was the gateway's largest user-space cost (issue 13). So the
// density was measured down twice: a 16 KB dense lead to 4 KB (402 -> 274 pairs),
// then 32 entries an octave to 16 (274 -> 169, recording a new 100k-token prompt
// 17-24 us -> 12.5 us in sched_decision_bench). 1/16 of a depth is far below what
// moves a score; llm-d's approximate scorer stops at the first 16 KB altogether.
// Hashes are then "entries", and covered_blocks() turns a count of leading entries
// back into blocks.
inline constexpr size_t kDensePrefixBlocks = 64;
inline constexpr size_t kFirstSampleStride = 4;
inline constexpr size_t kEntriesPerOctave = kDensePrefixBlocks / kFirstSampleStride;

// The octave of a depth past the dense lead: blocks in (D·2^k, D·2^(k+1)] are octave k.
constexpr size_t sample_octave(size_t blocks) { return size_t(std::bit_width((blocks - 1) / kDensePrefixBlocks)) - 1; }

// The sampling stride at this depth (1 within the dense lead).
constexpr size_t sample_stride(size_t blocks) {
  return blocks <= kDensePrefixBlocks ? 1 : kFirstSampleStride << sample_octave(blocks);
}

// Is the hash of the blocks-th block (1-based) emitted?
constexpr bool emits_entry(size_t blocks) {
  if (blocks <= kDensePrefixBlocks) return true;
  const size_t k = sample_octave(blocks);
  return ((blocks - (kDensePrefixBlocks << k)) & ((kFirstSampleStride << k) - 1)) == 0;
}

// Prompt blocks covered by the first `entries` hashes of a chain.
constexpr size_t covered_blocks(size_t entries) {
  if (entries <= kDensePrefixBlocks) return entries;
  const size_t past = entries - kDensePrefixBlocks;
  const size_t k = past / kEntriesPerOctave;
  if (k >= 40) return SIZE_MAX / 2;  // beyond any prompt (the chain is capped far below)
  return (kDensePrefixBlocks << k) + (past % kEntriesPerOctave) * (kFirstSampleStride << k);
}
// Hashes emitted for a prompt of `blocks` blocks.
constexpr size_t entries_for_blocks(size_t blocks) {
  if (blocks <= kDensePrefixBlocks) return blocks;
  const size_t k = sample_octave(blocks);
  return kDensePrefixBlocks + k * kEntriesPerOctave + (blocks - (kDensePrefixBlocks << k)) / (kFirstSampleStride << k);
}

// The chain of one prompt fed incrementally: text bytes of the current part as
// they arrive, end_part() after each part, finish() once at the end. Holds the
// emitted chain values (model-free; PrefixHasher::keys() turns them into index
// keys) and one block of carry-over bytes; reused across requests (reset()).
class PrefixChain {
 public:
  explicit PrefixChain(size_t block_bytes = 64, size_t max_blocks = kDefaultMaxPrefixBlocks, MediaWeights media = {});
  // A new prompt; body_bytes (its body's length when known, else 0) sizes the entries.
  void reset(size_t body_bytes);
  void append(const char* data, size_t n);
  void end_part();
  // A media part (its 16-byte record): its weight in bytes, then the part's end.
  void media(std::string_view record);
  void finish();  // hashes the trailing partial block
  std::span<const uint64_t> entries() const { return entries_; }
  bool full() const { return blocks_ >= max_blocks_; }
  // Whole blocks hashed so far (a partial one waits for more bytes).
  size_t blocks() const { return blocks_; }
  // The prompt's bytes so far, past max_blocks too: its text, a media part as its weight,
  // not the parts' terminators (the prompt's length: PickRequest::prompt_tokens).
  uint64_t text_bytes() const { return text_bytes_; }
  // Gives back memory above what a typical prompt needs (between requests).
  void trim();

 private:
  void feed(const char* data, size_t n);
  void block(const unsigned char* data, size_t len);
  template <size_t kBytes>
  void whole_blocks(const unsigned char* data, size_t count);

  size_t block_bytes_;
  size_t max_blocks_;
  MediaWeights media_;
  uint64_t seed_ = 0;
  size_t blocks_ = 0;
  uint64_t text_bytes_ = 0;
  size_t filled_ = 0;  // bytes of the current block waiting in carry_
  std::vector<unsigned char> carry_;
  std::vector<uint64_t> entries_;
};

class PrefixHasher {
 public:
  explicit PrefixHasher(size_t block_bytes = 64, size_t max_blocks = kDefaultMaxPrefixBlocks, MediaWeights media = {});
  size_t block_bytes() const { return block_bytes_; }
  size_t max_blocks() const { return max_blocks_; }

  // Number of hashes hash() produces for this prompt: entries_for_blocks(blocks),
  // blocks = ceil(stream / block) but at most max_blocks.
  size_t block_count(std::span<const std::string_view> parts) const;
  // The prompt's bytes: its parts' text, a media part as its weight (PrefixChain::text_bytes).
  uint64_t prompt_bytes(std::span<const std::string_view> parts) const;

  // Writes up to out.size() hashes (the leading entries, see kDensePrefixBlocks)
  // and returns how many were written. Hashing stops when out is full or after
  // max_blocks blocks: a cap on prompt length.
  size_t hash(std::string_view model, std::span<const std::string_view> parts, std::span<uint64_t> out) const;

  // Replaces `out` with all hashes; allocates only if out lacks capacity.
  void hash(std::string_view model, std::span<const std::string_view> parts, std::vector<uint64_t>& out) const;

  // The keys of a chain computed incrementally (PrefixChain::entries()) for
  // `model`: the same values hash() gives for the same prompt.
  static void keys(std::string_view model, std::span<const uint64_t> chain, std::vector<uint64_t>& out);

 private:
  size_t block_bytes_;
  size_t max_blocks_;
  MediaWeights media_;
};

}  // namespace ringgate::sched
