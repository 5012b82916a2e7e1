#include "ringgate/sim/response_store.h"

namespace ringgate::sim {

size_t ResponseStore::bytes_of(const Entry& entry) {
  size_t n = sizeof(Entry) + entry.record.id.size() + entry.record.text.size() + entry.record.model.size();
  if (entry.record.instructions) n += entry.record.instructions->size();
  for (const ChatTurn& turn : entry.messages) n += sizeof(ChatTurn) + turn.role.size() + turn.text.size();
  return n;
}

ResponseStore::Entry* ResponseStore::find(std::string_view id) {
  auto it = index_.find(id);
  return it == index_.end() ? nullptr : &*it->second;
}

ResponseStore::Entry& ResponseStore::put(ResponseRecord record, std::vector<ChatTurn> messages) {
  if (auto it = index_.find(record.id); it != index_.end()) {
    const auto stored = it->second;  // read before the index node (and its key's view) goes
    bytes_ -= stored->bytes;
    index_.erase(it);
    order_.erase(stored);
  }
  order_.push_back(Entry{std::move(record), std::move(messages), 0});
  Entry& entry = order_.back();
  entry.bytes = bytes_of(entry);
  bytes_ += entry.bytes;
  index_.emplace(entry.record.id, std::prev(order_.end()));
  evict();
  return entry;
}

void ResponseStore::resized(Entry& entry) {
  bytes_ -= entry.bytes;
  entry.bytes = bytes_of(entry);
  bytes_ += entry.bytes;
}

// Oldest first, but never the newest entry (the one just stored is always findable).
void ResponseStore::evict() {
  while (order_.size() > 1 && (order_.size() > max_entries_ || bytes_ > max_bytes_)) {
    Entry& oldest = order_.front();
    bytes_ -= oldest.bytes;
    index_.erase(std::string_view(oldest.record.id));
    order_.pop_front();
    ++evicted_;
  }
}

}  // namespace ringgate::sim
