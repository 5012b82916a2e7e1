#pragma once
// Added and special tokens of a tokenizer.json: found in the text before any
// normalization or pre-tokenization, longest match at the leftmost position, as
// the reference does (a trie walk from each position).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ringgate::tokenize {

class TokenTrie {
 public:
  void insert(std::string_view content, std::int32_t id);
  // Finishes building; lookups before this see nothing.
  void freeze();
  bool empty() const { return nodes_.size() <= 1; }

  struct Match {
    std::size_t begin = 0;
    std::size_t size = 0;  // 0: none
    std::int32_t id = -1;
  };
  // The first match at or after from, longest at its position.
  Match find(std::string_view text, std::size_t from) const;
  // The id of text when it is exactly one entry; -1 otherwise.
  std::int32_t exact(std::string_view text) const;

 private:
  struct Node {
    std::uint32_t first_edge = 0;
    std::uint32_t edge_count = 0;
    std::int32_t id = -1;
  };
  struct BuildNode {
    std::vector<std::pair<unsigned char, std::uint32_t>> edges;
    std::int32_t id = -1;
  };
  std::int32_t child(std::uint32_t node, unsigned char byte) const;

  std::vector<BuildNode> build_{BuildNode{}};
  std::vector<Node> nodes_;
  std::vector<unsigned char> edge_bytes_;
  std::vector<std::uint32_t> edge_targets_;
  bool starts_[256] = {};
};

}  // namespace ringgate::tokenize
