#pragma once
// What the gateway reads from a streamed answer (SSE) as it passes, with work per event
// rather than per byte: how many events have ended (`\n\n`, found 32 bytes a step), and
// the token counts of the stream's usage, read from its last data event only.
//
// vLLM puts a stream's usage in its last data event: with stream_options.include_usage,
// an event of its own after the last token; with continuous_usage_stats, in every event,
// the last one holding the totals; then only `data: [DONE]`. So of each read, the usage
// search (UsageScanner) sees at most three events: the one the previous read ended inside
// (its rest), the read's last complete data event (comments and [DONE] stepped over, at
// most two), and the one the read ends inside (its start). A usage object in an earlier
// event of the same read is not read: a later event would have replaced its counts anyway.
// A body with no event end at all (JSON where a stream was asked for) is one unended
// event, so all of it is searched, as UsageScanner alone would.
#include <cstdint>
#include <string_view>

#include "ringgate/openai/usage_scanner.h"

namespace ringgate::openai {

class EventStreamScanner {
 public:
  void reset() { *this = EventStreamScanner{}; }
  void feed(std::string_view data);

  uint32_t events() const { return events_; }  // SSE events ended so far
  const UsageScanner& usage() const { return usage_; }

 private:
  UsageScanner usage_;
  uint32_t events_ = 0;
  bool newline_pending_ = false;  // the last byte fed was a '\n' that ended no event (yet)
  bool inside_event_ = false;     // the last read ended inside an event, its start fed to usage_
};

}  // namespace ringgate::openai
