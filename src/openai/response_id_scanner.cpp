#include "ringgate/openai/response_id_scanner.h"

namespace ringgate::openai {

namespace {
constexpr std::string_view kPath[] = {"response", "id"};
constexpr size_t kMaxKeyBytes = 16;  // longer keys are none of the path's
}  // namespace

void ResponseIdScanner::reset(bool event_stream, bool responses_stream) {
  event_stream_ = event_stream;
  state_ = event_stream ? State::LineStart : State::Json;
  scanned_ = 0;
  field_.clear();
  event_.clear();
  space_skipped_ = saw_data_ = false;
  depth_ = on_path_ = 0;
  path_length_ = event_stream && responses_stream ? 2 : 1;
  in_string_ = escaped_ = string_is_key_ = expect_key_ = key_hit_ = capturing_ = found_ = false;
  key_.clear();
  id_.clear();
}

// A JSON answer that opens with its id (vLLM's and OpenAI's do), read at once: the id is
// the root's first key, so the byte-at-a-time scanner would find the same. Anything else
// (not at the start, not closed in these bytes, escapes, too long) is left to it.
bool ResponseIdScanner::take_leading_id(std::string_view data) {
  constexpr std::string_view kLeadingId = "{\"id\":\"";
  if (!data.starts_with(kLeadingId)) return false;
  const std::string_view rest = data.substr(kLeadingId.size(), kMaxResponseIdBytes + 1);
  size_t end = 0;
  while (end < rest.size() && rest[end] != '"' && rest[end] != '\\' && static_cast<unsigned char>(rest[end]) >= 0x20)
    ++end;
  if (end == rest.size() || rest[end] != '"') return false;
  id_.assign(rest.data(), end);
  found_ = true;
  finish();
  return true;
}

void ResponseIdScanner::feed(std::string_view data) {
  if (scanned_ == 0 && state_ == State::Json && !event_stream_ && take_leading_id(data)) return;
  for (size_t i = 0; i < data.size(); ++i) {
    if (state_ == State::Done) return;
    if (capturing_ && in_string_ && !escaped_) {
      // The id's plain bytes at once, up to its closing quote (or a byte that ends it).
      size_t end = i;
      while (end < data.size() && data[end] != '"' && data[end] != '\\' &&
             static_cast<unsigned char>(data[end]) >= 0x20)
        ++end;
      if (id_.size() + (end - i) > kMaxResponseIdBytes) return finish();  // not kept
      if (scanned_ + (end - i) > kMaxScannedBytes) return finish();
      id_.append(data.data() + i, end - i);
      scanned_ += end - i;
      if ((i = end) == data.size()) return;
    }
    const char c = data[i];
    if (++scanned_ > kMaxScannedBytes) return finish();
    switch (state_) {
      case State::LineStart:
        if (c == '\n') {  // a blank line ends the first event
          if (saw_data_) return finish();
          continue;
        }
        if (c == '\r') continue;
        field_.clear();
        state_ = State::FieldName;
        [[fallthrough]];
      case State::FieldName:
        if (c == '\n') {
          end_line();
          continue;
        }
        if (c != ':') {
          if (field_.size() < 8) field_ += c;
          else state_ = State::SkipLine;
          continue;
        }
        space_skipped_ = false;
        if (field_ == "data") {
          // An event named other than response.created is not the one that names the id.
          if (!event_.empty() && event_ != "response.created") return finish();
          saw_data_ = true;
          state_ = State::Json;
        } else if (field_ == "event") {
          event_.clear();
          state_ = State::FieldValue;
        } else {
          state_ = State::SkipLine;
        }
        continue;
      case State::FieldValue:
        if (c == '\n') {
          end_line();
          continue;
        }
        if (c == ' ' && !space_skipped_ && event_.empty()) {
          space_skipped_ = true;
          continue;
        }
        if (event_.size() < 32) event_ += c;
        continue;
      case State::SkipLine:
        if (c == '\n') end_line();
        continue;
      case State::Json:
        if (event_stream_ && c == '\n' && !in_string_) {
          end_line();  // the data line ended; a next data line continues the JSON
          continue;
        }
        json_byte(c);
        continue;
      case State::Done: return;
    }
  }
}

void ResponseIdScanner::end_line() {
  if (state_ == State::FieldValue && !event_.empty() && event_.back() == '\r') event_.pop_back();
  state_ = State::LineStart;
}

void ResponseIdScanner::json_byte(char c) {
  if (in_string_) {
    if (escaped_) {
      escaped_ = false;
      return;
    }
    if (c == '\\') {
      escaped_ = true;
      if (capturing_) return finish();  // an id with escapes is not kept
      if (string_is_key_) key_.assign(kMaxKeyBytes + 1, '?');  // nor is a key with escapes one of ours
      return;
    }
    if (c == '"') {
      in_string_ = false;
      if (string_is_key_) {
        key_hit_ = depth_ == on_path_ && on_path_ <= path_length_ && on_path_ >= 1 &&
                   key_ == kPath[2 - path_length_ + on_path_ - 1];
        return;
      }
      if (capturing_) {
        found_ = true;
        return finish();
      }
      return;
    }
    if (string_is_key_) {
      if (key_.size() <= kMaxKeyBytes) key_ += c;
      return;
    }
    if (capturing_) {
      if (id_.size() == kMaxResponseIdBytes || static_cast<unsigned char>(c) < 0x20) return finish();  // not kept
      id_ += c;
    }
    return;
  }
  switch (c) {
    case '"':
      in_string_ = true;
      string_is_key_ = expect_key_;
      if (string_is_key_) {
        key_.clear();
        key_hit_ = false;
      } else {
        capturing_ = key_hit_ && on_path_ == path_length_ && depth_ == on_path_;
        key_hit_ = false;
      }
      return;
    case '{':
      if (depth_ == 0 || (key_hit_ && depth_ == on_path_)) ++on_path_;
      ++depth_;
      key_hit_ = false;
      expect_key_ = true;
      return;
    case '[':
      ++depth_;
      key_hit_ = false;
      expect_key_ = false;
      return;
    case '}':
    case ']':
      if (depth_ == 0) return finish();
      if (depth_ == on_path_) --on_path_;
      if (--depth_ == 0) return finish();  // the root closed: no id
      expect_key_ = false;  // after a value: ',' decides
      return;
    case ':':
      expect_key_ = false;
      return;
    case ',':
      // In an object the next string is a key. Arrays never lie on the path, so
      // "in an object" is whether the innermost container is on the path or any object:
      // keys are only compared at depth_ == on_path_, so treating an array's items as
      // keys elsewhere is harmless.
      expect_key_ = true;
      key_hit_ = false;
      return;
    default:
      // Numbers, literals, whitespace: a value that is not a string ends a hit.
      if (c != ' ' && c != '\t' && c != '\r' && c != '\n') key_hit_ = false;
      return;
  }
}

}  // namespace ringgate::openai
