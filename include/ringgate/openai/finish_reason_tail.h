#pragma once
// The finish reasons of an OpenAI answer (gen_ai.response.finish_reasons on a traced
// request's span), read from the answer's last kFinishTailBytes bytes once it has ended,
// not while it streams: feed() only keeps that tail (a copy of at most the tail's size per
// read, into a ring), and reasons() reads it once. vLLM writes finish_reason near the end
// of a choice, and what follows the last one is short: the stop_reason, the usage
// (a stream: one usage event and `data: [DONE]`; JSON: the usage object and a few null
// fields), so the tail holds it. A reason further from the end (prompt_logprobs after the
// choices, a very long model name in the usage event) is not found: the attribute is then
// left out, never wrong. Only plain identifiers are kept ([A-Za-z0-9_], at most
// kMaxFinishReasonBytes), distinct, in the order found, at most kMaxFinishReasons
// (n > 1 choices); null is no reason.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ringgate::openai {

inline constexpr size_t kFinishTailBytes = 1024;
inline constexpr size_t kMaxFinishReasons = 4;
inline constexpr size_t kMaxFinishReasonBytes = 32;

class FinishReasonTail {
 public:
  void reset() {
    size_ = 0;
    end_ = 0;
  }
  // The next bytes of the answer.
  void feed(std::string_view data);
  // The reasons found, joined with ',' into `out` (room for kMaxFinishReasons *
  // (kMaxFinishReasonBytes + 1) bytes); the length written (0: none).
  size_t reasons(char* out) const;

  static constexpr size_t kReasonsBytes = kMaxFinishReasons * (kMaxFinishReasonBytes + 1);

 private:
  char ring_[kFinishTailBytes];
  size_t size_ = 0;  // bytes held (<= kFinishTailBytes)
  size_t end_ = 0;   // where the next byte goes
};

}  // namespace ringgate::openai
