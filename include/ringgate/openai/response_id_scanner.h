#pragma once
// The id of the response a model server answered with, read from the answer's bytes as
// they are relayed (any split): the root "id" of a JSON body, or, of an event stream, the
// id in its first event: a Responses API stream's response.id (vLLM's response.created:
// `event: response.created` then `data: {"response": {"id": ...}}`), a chat or text
// completion stream's root "id" (`data: {"id": "chatcmpl-…", ...}`).
// Nothing past the first event is read, and nothing past kMaxScannedBytes: the scanner
// is then done, found or not. The id is kept only if it is a plain string (no escapes)
// of at most kMaxResponseIdBytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ringgate/openai/api_routes.h"

namespace ringgate::openai {

class ResponseIdScanner {
 public:
  static constexpr size_t kMaxScannedBytes = 64 * 1024;

  // A new answer: an event stream (`event_stream`) or a JSON body; a stream of the
  // Responses API (`responses_stream`: its id is response.id) or of completions.
  void reset(bool event_stream, bool responses_stream = true);
  // The next bytes of the answer.
  void feed(std::string_view data);
  bool done() const { return state_ == State::Done; }
  // The id, once found (empty before, or if there was none).
  std::string_view id() const { return found_ ? std::string_view(id_) : std::string_view(); }

 private:
  enum class State : uint8_t { LineStart, FieldName, FieldValue, SkipLine, Json, Done };
  void finish() { state_ = State::Done; }
  bool take_leading_id(std::string_view data);
  void json_byte(char c);
  void end_line();

  State state_ = State::Done;
  bool event_stream_ = false;
  size_t scanned_ = 0;
  // SSE: the current line's field name and (for "event") value.
  std::string field_;
  std::string event_;
  bool space_skipped_ = false;
  bool saw_data_ = false;
  // JSON: containers open, how many from the root lie on the path to the id, and the
  // string being read.
  uint32_t depth_ = 0;
  uint32_t on_path_ = 0;
  uint32_t path_length_ = 1;  // ["id"]; a Responses stream's event: ["response", "id"]
  bool in_string_ = false;
  bool escaped_ = false;
  bool string_is_key_ = false;
  bool expect_key_ = false;  // the next string in this object is a key
  bool key_hit_ = false;     // the last key was the path's next one: its value matters
  std::string key_;
  bool capturing_ = false;
  bool found_ = false;
  std::string id_;
};

}  // namespace ringgate::openai
