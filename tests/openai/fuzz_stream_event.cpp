// libFuzzer target: whatever bytes a model server streams, splitting them into events,
// reading each and rewriting it stays in bounds, never throws, and a rewrite with
// nothing to replace gives the event back unchanged.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ringgate/openai/stream_event.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ringgate::openai;
  static StreamEventReader reader;
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  if (complete_events_end(rest) > rest.size()) __builtin_trap();
  std::string_view event;
  std::string text, out;
  StreamEvent e;
  while (next_event(rest, event)) {
    const std::string_view payload = event_payload(event);
    const size_t before = text.size();
    reader.read(payload, e, &text);
    if (e.kind == StreamEventKind::Invalid && text.size() != before) __builtin_trap();
    for (PayloadSpan s : {e.id, e.created, e.model, e.system_fingerprint, e.usage})
      if (size_t(s.at) + s.length > payload.size()) __builtin_trap();
    if (e.kind == StreamEventKind::Invalid || e.kind == StreamEventKind::Done) continue;
    out.clear();
    rewrite_event(out, payload, e, EventRewrite{});
    if (out != "data: " + std::string(payload) + "\n\n") __builtin_trap();
    out.clear();
    EventRewrite with{"\"id\"", "1", "\"m\"", "null", "{}"};
    rewrite_event(out, payload, e, with);
  }
  return 0;
}
