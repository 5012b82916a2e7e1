#pragma once
// What the client has seen of a streamed completion or chat completion, kept so that
// a continuation on another server can be stitched in without repeating or losing a
// byte.
//
// The first leg's bytes are relayed as they come, whole events only: the tail of an
// event cut by a read waits for the rest, so a server that dies mid-event leaves the
// client at an event boundary. The events relayed are kept as they are (a copy, no
// parse: an unbroken stream costs a memcpy) and read only when the stream breaks, or in
// batches once they pass kReadBatchBytes: the text generated so far, the tokens (one
// per choice event, as vLLM streams them), the chunk identity the client saw (id,
// created, model, system_fingerprint) and anything a continuation cannot carry.
//
// A continuation leg's events are read one by one: its chat role chunk is dropped (the
// client had one), its identity fields are replaced by the first leg's, and a usage
// object is rewritten to count the original prompt and every generated token
// (prompt_tokens = the leg's prompt_tokens - tokens carried into it; completion_tokens
// = tokens carried + the leg's own).
//
// Bounds (hostile server): an event is at most openai::kMaxStreamEventBytes, the text
// carried at most max_tokens tokens and kMaxTextBytesPerToken bytes a token; past
// them the stream is relayed as it comes and can no longer be continued.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ringgate/metrics/migration_reason.h"
#include "ringgate/openai/stream_event.h"

namespace ringgate::proxy {

inline constexpr size_t kReadBatchBytes = 64u << 10;
inline constexpr size_t kMaxTextBytesPerToken = 32;

class RelayState {
 public:
  // A new answer. keep: a stream that may be continued (its events are kept).
  void begin(bool keep, uint32_t max_tokens);
  // Between requests: state dropped, and memory a long stream needed given back.
  void clear();
  bool keeping() const { return keep_; }

  // Bytes of the answer as they arrive: what to relay now. First leg: whole events
  // (the view is `data` itself unless a cut event is pending). A continuation leg: its
  // events, rewritten. Empty: nothing complete yet.
  std::string_view take(std::string_view data, openai::StreamEventReader& reader);
  // The first leg's bytes where the caller put held() in front of them itself (so that
  // the whole events are relayed where they lie): the same answer as take(), always a
  // prefix of `joined`. Not for a continuation leg.
  std::string_view take_joined(std::string_view joined, openai::StreamEventReader& reader);
  // The start of an event cut by a read, waiting for its end.
  std::string_view held() const { return pending_; }
  // The answer ended cleanly: whatever is still held (an event the server never
  // finished with a blank line) is relayed as it is.
  std::string_view finish();

  using Reason = metrics::MigrationReason;
  // The stream broke. Reads what the client has seen: nullopt when it can be continued
  // (text() and tokens() then say what was generated), else why not. done(): the client
  // already has the whole stream.
  std::optional<Reason> prepare_continuation(openai::StreamEventReader& reader);
  bool done() const { return done_; }
  const std::string& text() const { return text_; }
  uint64_t tokens() const { return tokens_; }
  // The next bytes come from a continuation.
  void start_leg();
  uint32_t leg() const { return leg_; }

 private:
  // Reads the kept events of the first leg (prepare_continuation, or a full batch).
  void read_kept(openai::StreamEventReader& reader);
  // Reads one event; a continuation leg's goes to out (rewritten, or dropped).
  void read_event(std::string_view event, openai::StreamEventReader& reader, std::string* out);
  void stop_keeping(Reason why);
  std::string_view stitch(std::string_view data, openai::StreamEventReader& reader);
  // First leg, with no event start held before `data`.
  std::string_view take_whole(std::string_view data, openai::StreamEventReader& reader);
  // The event start held is past openai::kMaxStreamEventBytes: the stream is no longer
  // kept (the caller relays what is held).
  bool too_long_held();
  // Whole events relayed, kept for a continuation.
  void keep_events(std::string_view whole, openai::StreamEventReader& reader);

  bool keep_ = false;
  uint32_t max_tokens_ = 0;
  uint32_t leg_ = 0;
  std::string kept_;     // first leg: whole events relayed and not read yet
  std::string pending_;  // the start of an event whose end has not arrived
  std::string ready_;    // what take() returns when it is not the input itself
  std::string text_;     // generated so far (the events read)
  uint64_t tokens_ = 0;
  uint64_t leg_start_tokens_ = 0;  // tokens_ when the current leg began
  // The first leg's chunk identity, as raw JSON tokens.
  std::string id_, created_, model_, fingerprint_;
  bool identity_ = false;
  std::string usage_;         // scratch for a rewritten usage object
  std::optional<Reason> blocker_;  // why the stream cannot be continued (nullopt: it can)
  bool done_ = false;         // [DONE] was relayed
  bool finished_ = false;     // a choice's finish_reason was relayed
};

}  // namespace ringgate::proxy
