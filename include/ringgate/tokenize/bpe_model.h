#pragma once
// The BPE model of a tokenizer.json: vocabulary, ranked merges, and the merge
// loop over one pre-tokenized word. Tokens are kept as raw bytes: for a byte-level
// model (GPT-2's byte-to-unicode alphabet) the vocabulary is decoded at load, so
// that encoding never builds the byte-level strings.
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ringgate::tokenize {

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using TokenMap = std::unordered_map<std::string, std::int32_t, StringHash, std::equal_to<>>;

// GPT-2's byte → printable code point map, and its inverse (-1 where none).
char32_t byte_to_unicode(unsigned char b);
int unicode_to_byte(char32_t cp);
// A byte-level spelled token back to bytes; false when a character is outside the alphabet.
bool byte_level_decode(std::string_view spelled, std::string& out);

// Scratch of one encode call, reused between calls so that BPE allocates nothing
// once warm.
struct BpeScratch {
  struct Symbol {
    std::int32_t id;
    std::uint32_t begin;
    std::uint32_t size;
    std::int32_t prev;
    std::int32_t next;
  };
  struct Candidate {
    std::int32_t rank;
    std::uint32_t pos;
    std::int32_t left;
    std::int32_t right;
    std::int32_t left_id;
    std::int32_t right_id;
  };
  std::vector<Symbol> symbols;
  std::vector<Candidate> heap;

  // Short words repeat: their ids are kept in a direct-mapped cache of fixed size
  // (a colliding word replaces the slot), so memory stays bounded whatever the text.
  static constexpr std::size_t kCacheSlots = 1u << 14;
  static constexpr std::size_t kCacheWordBytes = 24;
  static constexpr std::size_t kCacheIds = 6;
  struct CacheSlot {
    std::uint64_t model = 0;  // BpeModel serial: never reused, unlike an address
    std::uint8_t word_size = 0;
    std::uint8_t id_count = 0;
    char word[kCacheWordBytes];
    std::int32_t ids[kCacheIds];
  };
  std::vector<CacheSlot> cache;
};

class BpeModel {
 public:
  struct Options {
    bool byte_level = false;     // vocabulary spelled in GPT-2's byte alphabet
    bool ignore_merges = false;  // a word found whole in the vocabulary is one token
    bool byte_fallback = false;  // unknown pieces become <0xNN> tokens
    std::string unk_token;       // empty: none
  };

  BpeModel() = default;
  // vocab: spelled token → id; merges: pairs of spelled tokens, in rank order.
  // Returns an error text, empty on success.
  std::string build(const Options& options, std::vector<std::pair<std::string, std::int32_t>> vocab,
                    const std::vector<std::pair<std::string, std::string>>& merges);
  // An added token is also a vocabulary entry (the reference looks BPE output up
  // in one map holding both).
  void add_token(std::string_view spelled, std::int32_t id);

  // Appends the ids of one word (bytes, already pre-tokenized) to ids.
  void encode_word(std::string_view word, BpeScratch& scratch, std::vector<std::int32_t>& ids) const;

  std::size_t vocab_size() const { return vocab_.size(); }
  std::size_t merge_count() const { return merge_count_; }
  std::int32_t token_id(std::string_view bytes) const;

 private:
  struct MergeSlot {
    std::uint64_t key;  // left << 32 | right; kEmptyKey when free
    std::int32_t rank;
    std::int32_t merged;
  };
  static constexpr std::uint64_t kEmptyKey = ~std::uint64_t{0};

  const MergeSlot* find_merge(std::int32_t left, std::int32_t right) const;
  void encode_uncached(std::string_view word, BpeScratch& scratch, std::vector<std::int32_t>& ids) const;
  void emit_unknown(std::string_view piece, std::vector<std::int32_t>& ids) const;
  void push_candidate(BpeScratch& scratch, std::int32_t left) const;

  Options options_;
  TokenMap vocab_;                  // token bytes → id
  std::int32_t byte_ids_[256];      // single-byte tokens (byte-level models)
  std::int32_t fallback_ids_[256];  // <0xNN> tokens
  bool has_fallback_ = false;
  std::int32_t unk_id_ = -1;
  std::vector<MergeSlot> merges_;   // open addressing, power-of-two size
  std::size_t merge_count_ = 0;
  std::uint64_t serial_ = 0;
};

}  // namespace ringgate::tokenize
