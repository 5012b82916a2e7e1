#pragma once
// The prefill leg of a disaggregated request (llm-d's P/D, run by the gateway itself
// instead of a routing sidecar on the decode pod): one request to a prefill pod, not
// streamed, for one token, with kv_transfer_params {do_remote_decode: true}; the
// kv_transfer_params it answers (the KV blocks it now holds for the decoder) go with the
// decode leg. It fails quietly: a failed or slow prefill is tried once more on another
// prefill pod, then the request is served decode-only (the decode pod prefills itself,
// as it would have without disaggregation). Its exchange learns only the outcome.
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ringgate/http/body_buffer.h"
#include "ringgate/metrics/gateway_stats.h"
#include "ringgate/net/timeout_list.h"
#include "ringgate/proxy/attempt.h"

namespace ringgate::proxy {

// Why a prefill leg failed (ringgate_pd_prefill_failures_total's reason).
enum class PrefillFailure : uint8_t {
  ConnectFailed,  // no connection
  Timeout,        // no whole answer within disaggregation.prefillTimeout (or the upstream timeouts)
  Reset,          // the connection broke before the answer was complete
  ErrorStatus,    // a 5xx
  ClientError,    // a 4xx: the request itself is refused (not retried; the decode pod answers it)
  Malformed,      // an answer that is not JSON, or too long
  NoParams,       // a JSON answer without kv_transfer_params (not a NixlConnector server)
};
static_assert(metrics::kPrefillFailureNames.size() == 7);  // in PrefillFailure's order

// What the leg asks of its exchange.
class PrefillOwner {
 public:
  virtual ~PrefillOwner() = default;
  // Where the prefill leg goes next: a prefill pod, none of `exclude`, and its ticket (not
  // ok(): none).
  virtual Routed route_prefill(std::span<const uint32_t> exclude) = 0;
  // The leg is over: the kv_transfer_params to decode with (valid during the call) or,
  // empty, decode-only. From a completion or timer, or from start() when no socket could
  // be made to any prefill pod (start() is then the caller's last step).
  virtual void prefill_done(std::string_view kv_transfer_params) = 0;
};

class PrefillLeg final : public AttemptOwner, public net::TimerTarget {
 public:
  // Pods one prefill leg tries (the first and one more), fresh-connection retries apart.
  static constexpr uint32_t kMaxPods = 2;
  // The longest prefill answer read (one token and the params).
  static constexpr size_t kMaxAnswerBytes = 1 << 20;

  PrefillLeg(ExchangeEnv& env, PrefillOwner& owner) : env_(env), owner_(owner), attempt_(std::in_place, env, *this) {}
  PrefillLeg(const PrefillLeg&) = delete;
  PrefillLeg& operator=(const PrefillLeg&) = delete;

  // Sends `head` and `body` (the request openai::build_prefill_request wrote; both
  // copied) to `decision`'s endpoint, whose ticket the leg takes (`ticket`; a retry's
  // comes with its route_prefill()). `trace`: the request's, when traced (the leg's attempts
  // are its "prefill" spans). `add_host`: the head has no Host (RequestImage::add_host).
  void start(RouteTicket ticket, const RouteDecision& decision, std::string_view head, std::string_view body,
             LegTrace trace = {}, bool add_host = false);
  // The exchange no longer wants the leg (its client left, it timed out): the connection
  // is closed, so the prefill pod stops and frees what it held. No prefill_done() follows.
  void cancel();

  bool active() const { return active_; }
  const std::string& destination() const { return attempt_->destination(); }  // the pod that prefilled

  // AttemptOwner
  void attempt_head(Attempt& attempt, const http::ResponseParser& head) override;
  void attempt_body(Attempt& attempt, std::string_view decoded) override;
  void attempt_end(Attempt& attempt, bool reusable) override;
  void attempt_failed(Attempt& attempt, FailureKind kind) override;
  // TimerTarget: disaggregation.prefillTimeout
  void on_timer(net::Timer& timer) override;

 private:
  void open(RouteTicket ticket, const RouteDecision& decision);
  void fail(PrefillFailure why, bool may_retry);
  void done(std::string_view kv_transfer_params);
  RequestImage image() const {
    RequestImage image;
    image.head = head_;
    image.body = body_;
    image.trace = trace_;
    image.add_host = add_host_;
    return image;
  }

  ExchangeEnv& env_;
  PrefillOwner& owner_;
  std::optional<Attempt> attempt_;  // each try made afresh (open()); always holds the last
  std::string head_;
  http::BodyBuffer body_;
  std::string answer_;
  std::vector<uint32_t> tried_;
  uint64_t started_ms_ = 0;
  bool fresh_retry_used_ = false;
  LegTrace trace_;
  bool add_host_ = false;
  bool active_ = false;
  net::Timer timer_{this, 0};
};

}  // namespace ringgate::proxy
