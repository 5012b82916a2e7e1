#pragma once
// What the client gets of the lead attempt's answer: its head, built when the server's
// comes and held (ClientReply) until the first body byte, so that a server that dies
// before it can still be routed around unseen; then the body, relayed by either path
// (decoded in place into the client's output and framed where it lies, or taken through
// RelayState), whole events only for a stream that may be continued (of a completion or
// chat completion, with migration on), a continuation's events stitched in. Each attempt's first byte delivered
// marks it (a stream that can go on elsewhere then waits less for a stalled server) and,
// on a continuation, counts the stream resumed; a client that reads slowly pauses the
// attempt's reads. The Exchange decides which attempt's answer this is and how it ends.
#include <cstddef>
#include <string>
#include <string_view>

#include "ringgate/http/response_parser.h"
#include "ringgate/metrics/migration_reason.h"
#include "ringgate/openai/api_routes.h"
#include "ringgate/proxy/attempt.h"
#include "ringgate/proxy/client_reply.h"
#include "ringgate/proxy/exchange_env.h"
#include "ringgate/proxy/relay_state.h"
#include "ringgate/proxy/request_identity.h"
#include "ringgate/proxy/request_stats.h"
#include "ringgate/proxy/response_affinity.h"

namespace ringgate::proxy {

// The longest cut event start put in front of a read decoded in place (an event is
// seldom a tenth of it).
inline constexpr size_t kHeldInPlaceBytes = 4u << 10;

class AnswerRelay {
 public:
  AnswerRelay(ExchangeEnv& env, ClientReply& reply, RequestStats& stats, ResponseAffinity& affinity,
              const RequestIdentity& identity)
      : env_(env), reply_(reply), stats_(stats), affinity_(affinity), identity_(identity) {}
  AnswerRelay(const AnswerRelay&) = delete;
  AnswerRelay& operator=(const AnswerRelay&) = delete;

  // What the client has seen of the stream (for a continuation, the policy's progress).
  RelayState& stream() { return relay_; }
  const RelayState& stream() const { return relay_; }

  // The lead's answer began (`head`, on `attempt`, for a request to `route`): the client's
  // head is held. `extra_headers`: whole lines it carries (admission's); `server`: the
  // attempt's (address hash), where a Responses API response it makes lives.
  void start(const http::ResponseParser& head, const Attempt& attempt, const openai::ApiRoute& route,
             std::string_view extra_headers, uint64_t server);
  // A continuation's bytes come next; its resumption is counted under `why` (the stream's first break).
  void start_leg(metrics::MigrationReason why);
  // Between requests.
  void clear() { relay_.clear(); }

  // Where the lead's next read is decoded: the client's output, after a cut event's start
  // (in place), or null (the bytes come to body()). Only once the head is out, on the first
  // leg (a continuation's events are rewritten), with nothing racing it.
  std::string* sink(bool racing);
  // The lead's decoded bytes (in place, or to be taken).
  void body(Attempt& attempt, std::string_view decoded);
  // A race is over and the client has its winner's head (ClientReply::resume): `kept`'s
  // bytes so far (`held`) go out as if relayed on arrival.
  void resume(Attempt& kept, std::string_view held, const openai::ApiRoute& route);
  // The answer ended cleanly: what is still held goes out (or the commit of an empty body).
  void end(Attempt& attempt);

 private:
  // A new answer's body comes next (its head is held).
  void begin(const openai::ApiRoute& route);
  void in_place(Attempt& attempt, std::string_view decoded);
  // Bytes of the answer to the client; `last`: the answer ended.
  void relay(Attempt& attempt, std::string_view data, bool last = false);
  // `data` (of the answer) is in the client's output.
  void relayed(Attempt& attempt, std::string_view data);
  // The current continuation is counted resumed (once); `paused`: after a pause the client saw.
  void count_resumed(bool paused);

  ExchangeEnv& env_;
  ClientReply& reply_;
  RequestStats& stats_;
  ResponseAffinity& affinity_;
  const RequestIdentity& identity_;
  RelayState relay_;
  metrics::MigrationReason leg_reason_{};  // what the current continuation's resumption is counted under
  bool resume_counted_ = false;            // the current continuation's resumption was counted
};

}  // namespace ringgate::proxy
