// vLLM's in-memory Responses store (OpenAIServingResponses.response_store and
// msg_store): each stored response with the messages it was made from, so that a
// request naming it as previous_response_id continues that conversation. vLLM never
// removes anything (it warns of the leak); the sim is bounded in entries and bytes and
// forgets the oldest beyond them, counted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ringgate/sim/responses_api.h"

namespace ringgate::sim {

class ResponseStore {
 public:
  struct Entry {
    ResponseRecord record;
    std::vector<ChatTurn> messages;  // the input messages, instructions and history included
    size_t bytes = 0;
  };

  ResponseStore(size_t max_entries, size_t max_bytes) : max_entries_(max_entries), max_bytes_(max_bytes) {}

  // Null when unknown (never stored, or forgotten beyond the bounds).
  Entry* find(std::string_view id);
  // Stores (or replaces) the response under its id, then forgets the oldest beyond the bounds.
  Entry& put(ResponseRecord record, std::vector<ChatTurn> messages);
  // The record changed (its text grew): its bytes are counted again.
  void resized(Entry& entry);

  size_t size() const { return index_.size(); }
  size_t bytes() const { return bytes_; }
  uint64_t evicted() const { return evicted_; }

 private:
  static size_t bytes_of(const Entry& entry);
  void evict();

  size_t max_entries_, max_bytes_;
  std::list<Entry> order_;  // oldest first
  std::unordered_map<std::string_view, std::list<Entry>::iterator> index_;  // keys view order_'s ids
  size_t bytes_ = 0;
  uint64_t evicted_ = 0;
};

}  // namespace ringgate::sim
