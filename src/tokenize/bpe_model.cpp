#include "ringgate/tokenize/bpe_model.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstring>

#include "ringgate/tokenize/utf8.h"

namespace ringgate::tokenize {

namespace {

struct ByteTables {
  char32_t to_unicode[256];
  int from_unicode[324];  // every mapped code point is below 324
  ByteTables() {
    std::fill(std::begin(from_unicode), std::end(from_unicode), -1);
    int extra = 0;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      char32_t cp = printable ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + extra++);
      to_unicode[b] = cp;
      from_unicode[cp] = b;
    }
  }
};

const ByteTables& byte_tables() {
  static const ByteTables tables;
  return tables;
}

std::uint64_t mix(std::uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  return k;
}

bool candidate_after(const BpeScratch::Candidate& a, const BpeScratch::Candidate& b) {
  // std heap functions build a max-heap: "after" puts the lowest (rank, pos) on top.
  if (a.rank != b.rank) return a.rank > b.rank;
  return a.pos > b.pos;
}

}  // namespace

char32_t byte_to_unicode(unsigned char b) { return byte_tables().to_unicode[b]; }

int unicode_to_byte(char32_t cp) { return cp < 324 ? byte_tables().from_unicode[cp] : -1; }

bool byte_level_decode(std::string_view spelled, std::string& out) {
  out.clear();
  std::size_t i = 0;
  while (i < spelled.size()) {
    std::size_t n = utf8_sequence_length(spelled.substr(i));
    if (n == 0) return false;
    char32_t cp = 0;
    auto b0 = static_cast<unsigned char>(spelled[i]);
    if (n == 1) {
      cp = b0;
    } else if (n == 2) {
      cp = ((b0 & 0x1Fu) << 6) | (static_cast<unsigned char>(spelled[i + 1]) & 0x3Fu);
    } else {
      return false;  // the alphabet's code points are all below U+0800
    }
    int byte = unicode_to_byte(cp);
    if (byte < 0) return false;
    out.push_back(static_cast<char>(byte));
    i += n;
  }
  return true;
}

std::string BpeModel::build(const Options& options, std::vector<std::pair<std::string, std::int32_t>> vocab,
                            const std::vector<std::pair<std::string, std::string>>& merges) {
  options_ = options;
  static std::atomic<std::uint64_t> serials{0};
  serial_ = ++serials;
  std::fill(std::begin(byte_ids_), std::end(byte_ids_), -1);
  std::fill(std::begin(fallback_ids_), std::end(fallback_ids_), -1);
  vocab_.reserve(vocab.size() + 1024);
  std::string decoded;
  for (auto& [spelled, id] : vocab) {
    if (id < 0) return "negative token id for '" + spelled + "'";
    if (options_.byte_level) {
      // A spelling outside the byte alphabet can never come out of BPE: skip it.
      if (!byte_level_decode(spelled, decoded)) continue;
      vocab_.insert_or_assign(decoded, id);
    } else {
      vocab_.insert_or_assign(std::move(spelled), id);
    }
  }
  for (int b = 0; b < 256; ++b) {
    byte_ids_[b] = token_id(std::string_view(reinterpret_cast<const char*>(&b), 1));
    char name[8];
    static const char* hex = "0123456789ABCDEF";
    name[0] = '<'; name[1] = '0'; name[2] = 'x'; name[3] = hex[b >> 4]; name[4] = hex[b & 15]; name[5] = '>';
    fallback_ids_[b] = token_id(std::string_view(name, 6));
  }
  has_fallback_ = std::all_of(std::begin(fallback_ids_), std::end(fallback_ids_), [](int id) { return id >= 0; });
  if (!options_.unk_token.empty()) {
    auto it = vocab_.find(std::string_view(options_.unk_token));
    if (it == vocab_.end() && options_.byte_level && byte_level_decode(options_.unk_token, decoded)) {
      it = vocab_.find(std::string_view(decoded));
    }
    unk_id_ = it == vocab_.end() ? -1 : it->second;
  }

  std::size_t capacity = std::bit_ceil(std::max<std::size_t>(16, merges.size() * 2));
  merges_.assign(capacity, MergeSlot{kEmptyKey, 0, 0});
  merge_count_ = 0;
  std::string left_bytes, right_bytes;
  for (std::size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [left_spelled, right_spelled] = merges[rank];
    std::string_view l = left_spelled, r = right_spelled;
    if (options_.byte_level) {
      if (!byte_level_decode(left_spelled, left_bytes) || !byte_level_decode(right_spelled, right_bytes)) {
        return "merge " + std::to_string(rank) + " is outside the byte alphabet";
      }
      l = left_bytes;
      r = right_bytes;
    }
    std::int32_t left = token_id(l), right = token_id(r);
    std::string joined;
    joined.reserve(l.size() + r.size());
    joined.append(l).append(r);
    std::int32_t merged = token_id(joined);
    // Hugging Face refuses such a file (MergeTokenOutOfVocabulary); so does this.
    if (left < 0 || right < 0 || merged < 0) {
      return "merge " + std::to_string(rank) + " uses a token outside the vocabulary";
    }
    std::uint64_t key = (std::uint64_t(std::uint32_t(left)) << 32) | std::uint32_t(right);
    std::size_t mask = merges_.size() - 1;
    for (std::size_t i = mix(key) & mask;; i = (i + 1) & mask) {
      if (merges_[i].key == kEmptyKey) {
        merges_[i] = MergeSlot{key, static_cast<std::int32_t>(rank), merged};
        ++merge_count_;
        break;
      }
      if (merges_[i].key == key) break;  // a duplicate keeps its first (lowest) rank
    }
  }
  return {};
}

void BpeModel::add_token(std::string_view spelled, std::int32_t id) {
  std::string bytes(spelled);
  if (options_.byte_level && !byte_level_decode(spelled, bytes)) return;
  if (bytes.size() == 1) byte_ids_[static_cast<unsigned char>(bytes[0])] = id;
  vocab_.insert_or_assign(std::move(bytes), id);
}

std::int32_t BpeModel::token_id(std::string_view bytes) const {
  auto it = vocab_.find(bytes);
  return it == vocab_.end() ? -1 : it->second;
}

const BpeModel::MergeSlot* BpeModel::find_merge(std::int32_t left, std::int32_t right) const {
  std::uint64_t key = (std::uint64_t(std::uint32_t(left)) << 32) | std::uint32_t(right);
  std::size_t mask = merges_.size() - 1;
  for (std::size_t i = mix(key) & mask;; i = (i + 1) & mask) {
    const MergeSlot& slot = merges_[i];
    if (slot.key == key) return &slot;
    if (slot.key == kEmptyKey) return nullptr;
  }
}

void BpeModel::emit_unknown(std::string_view piece, std::vector<std::int32_t>& ids) const {
  if (options_.byte_fallback && has_fallback_) {
    for (char c : piece) ids.push_back(fallback_ids_[static_cast<unsigned char>(c)]);
  } else if (unk_id_ >= 0) {
    ids.push_back(unk_id_);
  }
  // Neither: the reference drops the piece; so does this.
}

void BpeModel::push_candidate(BpeScratch& scratch, std::int32_t left) const {
  const auto& symbols = scratch.symbols;
  std::int32_t right = symbols[left].next;
  if (right < 0 || symbols[left].id < 0 || symbols[right].id < 0) return;
  const MergeSlot* merge = find_merge(symbols[left].id, symbols[right].id);
  if (merge == nullptr) return;
  scratch.heap.push_back(BpeScratch::Candidate{merge->rank, symbols[left].begin, left, right,
                                               symbols[left].id, symbols[right].id});
  std::push_heap(scratch.heap.begin(), scratch.heap.end(), candidate_after);
}

void BpeModel::encode_word(std::string_view word, BpeScratch& scratch, std::vector<std::int32_t>& ids) const {
  if (word.empty()) return;
  BpeScratch::CacheSlot* slot = nullptr;
  if (word.size() <= BpeScratch::kCacheWordBytes) {
    if (scratch.cache.empty()) scratch.cache.resize(BpeScratch::kCacheSlots);
    std::size_t h = std::hash<std::string_view>{}(word) ^ serial_;
    slot = &scratch.cache[mix(h) & (BpeScratch::kCacheSlots - 1)];
    if (slot->model == serial_ && slot->word_size == word.size() &&
        std::memcmp(slot->word, word.data(), word.size()) == 0) {
      ids.insert(ids.end(), slot->ids, slot->ids + slot->id_count);
      return;
    }
  }
  std::size_t first = ids.size();
  encode_uncached(word, scratch, ids);
  if (slot != nullptr && ids.size() - first <= BpeScratch::kCacheIds) {
    slot->model = serial_;
    slot->word_size = static_cast<std::uint8_t>(word.size());
    std::memcpy(slot->word, word.data(), word.size());
    slot->id_count = static_cast<std::uint8_t>(ids.size() - first);
    std::copy(ids.begin() + static_cast<std::ptrdiff_t>(first), ids.end(), slot->ids);
  }
}

void BpeModel::encode_uncached(std::string_view word, BpeScratch& scratch, std::vector<std::int32_t>& ids) const {
  if (options_.ignore_merges) {
    std::int32_t whole = token_id(word);
    if (whole >= 0) {
      ids.push_back(whole);
      return;
    }
  }
  auto& symbols = scratch.symbols;
  symbols.clear();
  scratch.heap.clear();
  // Initial symbols: bytes for a byte-level model, characters otherwise.
  std::uint32_t i = 0;
  while (i < word.size()) {
    std::uint32_t n = 1;
    std::int32_t id;
    if (options_.byte_level) {
      id = byte_ids_[static_cast<unsigned char>(word[i])];
    } else {
      std::size_t len = utf8_sequence_length(word.substr(i));
      n = len == 0 ? 1 : static_cast<std::uint32_t>(len);
      id = n == 1 ? byte_ids_[static_cast<unsigned char>(word[i])] : token_id(word.substr(i, n));
    }
    auto index = static_cast<std::int32_t>(symbols.size());
    symbols.push_back(BpeScratch::Symbol{id, i, n, index - 1, -1});
    if (index > 0) symbols[index - 1].next = index;
    i += n;
  }
  for (std::int32_t s = 0; s + 1 < static_cast<std::int32_t>(symbols.size()); ++s) {
    const MergeSlot* merge = symbols[s].id >= 0 && symbols[s + 1].id >= 0
                                 ? find_merge(symbols[s].id, symbols[s + 1].id)
                                 : nullptr;
    if (merge != nullptr) {
      scratch.heap.push_back(BpeScratch::Candidate{merge->rank, symbols[s].begin, s, s + 1,
                                                   symbols[s].id, symbols[s + 1].id});
    }
  }
  std::make_heap(scratch.heap.begin(), scratch.heap.end(), candidate_after);
  // Lowest rank first, leftmost among equals: what both reference implementations do.
  // Each merge removes a symbol, so this is O(n log n) even for one giant word.
  while (!scratch.heap.empty()) {
    std::pop_heap(scratch.heap.begin(), scratch.heap.end(), candidate_after);
    BpeScratch::Candidate c = scratch.heap.back();
    scratch.heap.pop_back();
    BpeScratch::Symbol& left = symbols[c.left];
    if (left.size == 0 || left.next != c.right || left.id != c.left_id) continue;
    BpeScratch::Symbol& right = symbols[c.right];
    if (right.size == 0 || right.id != c.right_id) continue;
    const MergeSlot* merge = find_merge(left.id, right.id);
    left.id = merge->merged;
    left.size += right.size;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = c.left;
    right.size = 0;
    if (left.prev >= 0) push_candidate(scratch, left.prev);
    push_candidate(scratch, c.left);
  }
  for (std::int32_t s = 0; s >= 0 && s < static_cast<std::int32_t>(symbols.size()); s = symbols[s].next) {
    const BpeScratch::Symbol& sym = symbols[s];
    if (sym.id >= 0) {
      ids.push_back(sym.id);
    } else {
      emit_unknown(word.substr(sym.begin, sym.size), ids);
    }
  }
}

}  // namespace ringgate::tokenize
