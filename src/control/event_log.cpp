#include "ringgate/control/event_log.h"

#include <algorithm>
#include <charconv>
#include <chrono>

#include "ringgate/http/error_response.h"
#include "ringgate/util/json_text.h"

namespace ringgate::control {
namespace {

// At most kMaxTextBytes, never ending inside a UTF-8 sequence.
std::string bounded(std::string_view text) {
  if (text.size() <= EventLog::kMaxTextBytes) return std::string(text);
  size_t n = EventLog::kMaxTextBytes;
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  return std::string(text.substr(0, n));
}

// `since=` of a query string (0 when absent); false when it is not a decimal number.
bool parse_since(std::string_view query, uint64_t& since) {
  since = 0;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    if (pair.starts_with("since=")) {
      const std::string_view digits = pair.substr(6);
      const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), since);
      if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty()) return false;
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return true;
}

}  // namespace

std::string_view to_string(EventKind kind) {
  switch (kind) {
    case EventKind::Joined: return "joined";
    case EventKind::Left: return "left";
    case EventKind::Unroutable: return "unroutable";
    case EventKind::Routable: return "routable";
    case EventKind::Ejected: return "ejected";
    case EventKind::Readmitted: return "readmitted";
    case EventKind::Reloaded: return "reloaded";
    case EventKind::ReloadRejected: return "reload_rejected";
    case EventKind::Draining: return "draining";
  }
  return "unknown";
}

EventLog::EventLog(size_t capacity) : capacity_(capacity ? capacity : 1) { ring_.reserve(capacity_); }

void EventLog::record(EventKind kind, std::string_view endpoint, std::string_view detail, int64_t unix_ms) {
  if (unix_ms < 0)
    unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch()).count();
  Event e{0, unix_ms, kind, bounded(endpoint), bounded(detail)};
  std::lock_guard lock(mutex_);
  e.seq = ++last_seq_;
  if (ring_.size() < capacity_)
    ring_.push_back(std::move(e));
  else
    ring_[(e.seq - 1) % capacity_] = std::move(e);
}

std::vector<Event> EventLog::after(uint64_t since, uint64_t* last_seq) const {
  std::lock_guard lock(mutex_);
  if (last_seq) *last_seq = last_seq_;
  std::vector<Event> out;
  if (since >= last_seq_) return out;
  // The ring holds seqs last_seq_ - size + 1 .. last_seq_, the oldest at (first - 1) % capacity.
  const uint64_t first = last_seq_ - ring_.size() + 1;
  for (uint64_t seq = std::max(first, since + 1); seq <= last_seq_; ++seq)
    out.push_back(ring_[(seq - 1) % capacity_]);
  return out;
}

AdminResponse EventLog::render(std::string_view query) const {
  uint64_t since = 0;
  if (!parse_since(query, since))
    return {400, "application/json", http::error_body(400, "bad_request", "since= takes a decimal event number")};
  uint64_t last_seq = 0;
  const std::vector<Event> events = after(since, &last_seq);
  std::string body = "{\"last_seq\":";
  util::append_uint(body, last_seq);
  body += ",\"capacity\":";
  util::append_uint(body, capacity_);
  body += ",\"events\":[";
  for (size_t i = 0; i < events.size(); ++i) {
    const Event& e = events[i];
    if (i) body.push_back(',');
    body += "{\"seq\":";
    util::append_uint(body, e.seq);
    body += ",\"unix_ms\":";
    util::append_int(body, e.unix_ms);
    body += ",\"kind\":";
    util::append_json_string(body, to_string(e.kind));
    body += ",\"endpoint\":";
    util::append_json_string(body, e.endpoint);
    body += ",\"detail\":";
    util::append_json_string(body, e.detail);
    body.push_back('}');
  }
  body += "]}\n";
  return {200, "application/json", std::move(body)};
}

}  // namespace ringgate::control
