#pragma once
// The events of a completion or chat-completion stream (vLLM's OpenAI server: each
// event is one `data: {json}` line and a blank line, the last one `data: [DONE]`),
// read for what continuing a stream on another server needs: the chunk's identity
// (id, created, model, system_fingerprint), the generated text, whether a choice
// finished or holds what a continuation cannot carry (tool calls, reasoning, logprobs),
// and the usage. Only streams that are being continued are read event by event
// (proxy::RelayState); an unbroken stream is relayed without any of this.
//
// Hostile input: an event is a model server's bytes. Events longer than
// kMaxStreamEventBytes are refused (the stream is then not continued), and nothing
// here allocates beyond the caller's strings.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace ringgate::openai {

// One event's JSON longer than this is not read (vLLM's token events are ~200-400 bytes;
// a usage event or a logprobs-laden one a few KB).
inline constexpr size_t kMaxStreamEventBytes = 64u << 10;

// The offset after the last complete event of `data` (an event ends with a blank
// line: "\n\n" or "\n\r\n"); 0 when none is complete.
size_t complete_events_end(std::string_view data);

// Takes the first event off `rest` (its text up to and including the blank line);
// false when `rest` holds no complete event.
bool next_event(std::string_view& rest, std::string_view& event);

// The payload of an event's one `data:` line (without "data:" and one optional space,
// without the line end); empty when the event has no data line, or more than one line
// that is not a comment (the stream is then not one this reader can continue).
std::string_view event_payload(std::string_view event);

enum class StreamEventKind : uint8_t {
  Choice,   // a chunk with a choice (a token's text, a role, a finish)
  Usage,    // choices empty, usage set (stream_options.include_usage's last chunk)
  Done,     // [DONE]
  Other,    // valid JSON of another shape (an error object): relayed, not read
  Invalid,  // not JSON, or too long: a stream holding one cannot be continued
};

// A byte range in the payload; length 0 = absent.
struct PayloadSpan {
  uint32_t at = 0;
  uint32_t length = 0;
  bool present() const { return length != 0; }
  std::string_view in(std::string_view payload) const { return payload.substr(at, length); }
};

struct StreamEvent {
  StreamEventKind kind = StreamEventKind::Other;
  // Raw JSON tokens of the chunk's top-level fields (quotes kept).
  PayloadSpan id, created, model, system_fingerprint;
  PayloadSpan usage;  // the usage value (an object, or null)
  int64_t prompt_tokens = -1;      // usage.prompt_tokens; -1 = absent
  int64_t completion_tokens = -1;  // usage.completion_tokens; -1 = absent
  uint32_t choices = 0;            // entries in `choices`
  bool role_only = false;   // chat: a delta with a role and no content (a stream's first chunk)
  bool finished = false;    // a choice has a finish_reason
  bool tool_calls = false;  // chat: delta.tool_calls
  bool reasoning = false;   // chat: delta.reasoning_content / delta.reasoning
  bool logprobs = false;    // a choice's logprobs is not null
  bool other_index = false; // a choice's index is not 0 (n > 1)
};

// One per owner, reused: holds simdjson's parser and a padded copy of the payload.
class StreamEventReader {
 public:
  StreamEventReader();
  ~StreamEventReader();
  StreamEventReader(const StreamEventReader&) = delete;
  StreamEventReader& operator=(const StreamEventReader&) = delete;

  // Reads `payload` (event_payload()'s view) into `out`; the first choice's text
  // (completions: `text`; chat: `delta.content`) is appended to *text when text is not null.
  void read(std::string_view payload, StreamEvent& out, std::string* text);

 private:
  struct Parser;
  std::unique_ptr<Parser> parser_;
};

// What rewrite_event() puts in place of an event's fields: raw JSON tokens, empty =
// leave the event's own.
struct EventRewrite {
  std::string_view id, created, model, system_fingerprint;
  std::string_view usage;  // a whole usage object
};

// Appends `data: <payload with the rewrites spliced in>\n\n` to `out`. A field is
// replaced only where the event has it.
void rewrite_event(std::string& out, std::string_view payload, const StreamEvent& event, const EventRewrite& with);

// Appends a usage object as vLLM writes one: {"prompt_tokens":P,"total_tokens":P+C,
// "completion_tokens":C} (a stitched stream's prompt_tokens_details would describe one leg:
// it is left out).
void append_usage_object(std::string& out, int64_t prompt_tokens, int64_t completion_tokens);

}  // namespace ringgate::openai
