#pragma once
// The routing fields of an OpenAI request body, read while the body arrives: bytes
// go in as they are received (any split), the text of the route's text fields
// (api_routes.h) goes out to a TextSink as it is decoded (a prompt string, each
// message's role then content parts, ...), and at the end of the body the model, its
// token's place and `stream` are known without a second pass over the bytes.
//
// The scanner is strict and only ever says "understood": any body it is not sure
// about (invalid JSON, escapes in keys, a role after its content, duplicate routing
// fields, nesting deeper than kMaxScanDepth, a field of an unexpected type, ...) makes
// it give up, and the caller reads the whole body with BodyReader (simdjson), which
// decides and words the error. So for a body the scanner accepts, its fields and its
// text are BodyReader's (checked by tests/openai/body_scanner_test.cpp and the
// fuzz_body_scanner target on every split).
//
// Media parts of chat content (`image_url`'s url, `input_audio`'s data) are not text:
// their bytes go, as they are decoded, into a MediaHasher (a data: URI's base64 decoded
// on the fly, never gathered), and when the part closes its record (media_part.h) goes
// to the sink, or the part is counted as broken / of an unknown type.
//
// Bounds: constant memory (a depth stack, a key buffer, the model name up to
// kMaxModelBytes, the media hasher's window); work linear in the bytes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "ringgate/openai/api_routes.h"
#include "ringgate/openai/content_part_reader.h"
#include "ringgate/openai/request_body.h"

namespace ringgate::openai {

class TextSink {
 public:
  virtual ~TextSink() = default;
  virtual void text(const char* data, size_t n) = 0;  // more bytes of the current part
  virtual void part_end() = 0;                        // the current part is complete
  // A chat message is complete (after its parts); `user`: its role is "user".
  virtual void message_end(bool user) { (void)user; }
  // A media content part (image_url, input_audio) closed with a good hash: one part of
  // its own in the stream (media_part.h), between the text parts around it.
  virtual void media(const MediaRecord& record) {
    text(record.bytes.data(), record.bytes.size());
    part_end();
  }
};

inline constexpr size_t kMaxScanDepth = 64;

class BodyScanner {
 public:
  // A new body; the text of its `fields` (a route's routed_text()) goes to `sink`.
  void reset(TextSink* sink, TextFields fields);
  // The next bytes of the body (they follow the previous ones).
  void feed(const char* data, size_t len);
  // At the end of the body: true when the body was understood; `out` then has
  // model, model_offset/length, stream, the routing keys and the media counts
  // (prompt_parts stays empty: the text went to the sink). False: read the body with
  // BodyReader.
  bool finish(RequestFields& out);
  bool gave_up() const { return state_ == State::GaveUp; }

 private:
  enum class State : uint8_t {
    Value,        // a value starts (after ':' or ',' in an array)
    ItemOrClose,  // after '[': a value or ']'
    KeyOrClose,   // after '{'
    Key,          // after ',' in an object
    Colon,
    CommaOrClose,
    String,
    Escape,       // after a backslash
    Unicode,      // inside \uXXXX
    Number,
    Literal,
    Done,         // the root object closed: only whitespace may follow
    GaveUp,
  };
  // What the value about to start (or the open container) means for routing.
  enum class Slot : uint8_t {
    Skip, Model, Stream, Prompt, Input, PromptItem, Messages, Message, Role, Content, ContentItem, Text, RoutingKey,
    PartType, ImageUrl, InputAudio, MediaUrl, AudioData,
  };
  enum class Frame : uint8_t {
    Root, Generic, PromptArray, Messages, Message, ContentArray, ContentPart, ImageUrl, InputAudio,
  };
  enum class Target : uint8_t { Key, Model, Text, RoutingKey, PartType, Media, Skip };

  static Slot text_slot(TextFields field);
  void give_up() { state_ = State::GaveUp; }
  void start_value(char c);
  void push(Frame frame, bool object);
  void item_slot();  // slot_ for the next item of the open array
  void close_container(char c);
  void after_value();
  void end_string();
  void end_key();
  void emit(const char* data, size_t n);
  void emit_code_point(uint32_t cp);
  void close_part();
  bool in_object() const { return depth_ > 0 && (objects_ >> (depth_ - 1) & 1); }
  Frame top() const { return frames_[depth_ - 1]; }
  const char* scan_string(const char* p, const char* end, const char* chunk);

  TextSink* sink_ = nullptr;
  TextFields fields_ = 0;
  State state_ = State::Value;
  Slot slot_ = Slot::Skip;
  Target target_ = Target::Skip;
  size_t depth_ = 0;
  uint64_t objects_ = 0;  // bit d: frame d is an object
  Frame frames_[kMaxScanDepth];
  size_t offset_ = 0;     // body bytes fed before the current chunk
  size_t token_at_ = 0;   // body offset of the value's first byte / the string's closing quote
  // Strings.
  uint32_t utf8_need_ = 0;   // continuation bytes still expected
  uint8_t utf8_lo_ = 0x80, utf8_hi_ = 0xBF;  // range of the next continuation byte
  uint32_t unicode_ = 0;     // \uXXXX being read
  uint32_t unicode_digits_ = 0;
  uint32_t high_surrogate_ = 0;  // a \uD800-\uDBFF waiting for its low half
  bool after_high_escape_ = false;  // the escape just read was a high surrogate: a \u must follow
  char key_[24];  // the longest key read: previous_response_id
  size_t key_len_ = 0;  // > sizeof key_: a long key (none of ours)
  // Numbers and literals.
  uint8_t number_state_ = 0;
  const char* literal_ = nullptr;
  // Fields.
  std::string model_;
  size_t model_offset_ = 0, model_length_ = 0;
  bool stream_ = false;
  RoutingKeys keys_;
  uint8_t routing_key_ = 0;  // which one a RoutingKey slot reads
  uint32_t seen_ = 0;         // routing fields met at the root (each at most once)
  bool literal_true_ = false;
  bool message_role_ = false, message_content_ = false;
  char role_[5] = {};  // the message's role, when it is at most "user" long
  uint8_t role_len_ = 0;
  ContentPartReader part_;  // the open content part: its type, its media hashes
};

}  // namespace ringgate::openai
