#include "ringgate/tokenize/added_tokens.h"

#include <algorithm>

namespace ringgate::tokenize {

void TokenTrie::insert(std::string_view content, std::int32_t id) {
  if (content.empty()) return;
  std::uint32_t node = 0;
  for (char ch : content) {
    auto byte = static_cast<unsigned char>(ch);
    auto& edges = build_[node].edges;
    auto it = std::find_if(edges.begin(), edges.end(), [&](const auto& e) { return e.first == byte; });
    if (it != edges.end()) {
      node = it->second;
    } else {
      auto next = static_cast<std::uint32_t>(build_.size());
      edges.emplace_back(byte, next);
      build_.emplace_back();
      node = next;
    }
  }
  // The last entry of the same content wins, as when the reference fills its map.
  build_[node].id = id;
  starts_[static_cast<unsigned char>(content[0])] = true;
}

void TokenTrie::freeze() {
  nodes_.assign(build_.size(), Node{});
  edge_bytes_.clear();
  edge_targets_.clear();
  for (std::size_t n = 0; n < build_.size(); ++n) {
    auto& edges = build_[n].edges;
    std::sort(edges.begin(), edges.end());
    nodes_[n].first_edge = static_cast<std::uint32_t>(edge_bytes_.size());
    nodes_[n].edge_count = static_cast<std::uint32_t>(edges.size());
    nodes_[n].id = build_[n].id;
    for (auto& [byte, target] : edges) {
      edge_bytes_.push_back(byte);
      edge_targets_.push_back(target);
    }
  }
  build_.clear();
  build_.shrink_to_fit();
}

std::int32_t TokenTrie::child(std::uint32_t node, unsigned char byte) const {
  const Node& n = nodes_[node];
  auto begin = edge_bytes_.begin() + n.first_edge;
  auto end = begin + n.edge_count;
  auto it = std::lower_bound(begin, end, byte);
  if (it == end || *it != byte) return -1;
  return static_cast<std::int32_t>(edge_targets_[it - edge_bytes_.begin()]);
}

TokenTrie::Match TokenTrie::find(std::string_view text, std::size_t from) const {
  if (nodes_.size() <= 1) return Match{text.size(), 0, -1};
  for (std::size_t i = from; i < text.size(); ++i) {
    if (!starts_[static_cast<unsigned char>(text[i])]) continue;
    std::int32_t node = 0;
    Match best;
    for (std::size_t j = i; j < text.size(); ++j) {
      node = child(static_cast<std::uint32_t>(node), static_cast<unsigned char>(text[j]));
      if (node < 0) break;
      if (nodes_[node].id >= 0) best = Match{i, j + 1 - i, nodes_[node].id};
    }
    if (best.size > 0) return best;
  }
  return Match{text.size(), 0, -1};
}

std::int32_t TokenTrie::exact(std::string_view text) const {
  if (nodes_.size() <= 1 || text.empty()) return -1;
  std::int32_t node = 0;
  for (char ch : text) {
    node = child(static_cast<std::uint32_t>(node), static_cast<unsigned char>(ch));
    if (node < 0) return -1;
  }
  return nodes_[node].id;
}

}  // namespace ringgate::tokenize
