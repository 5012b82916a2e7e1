#pragma once
// How the gateway gets a request's prompt token ids, for precise prefix scoring
// (the token ids vLLM hashes into KV blocks). The interface takes the request body:
// a real tokenizer needs the chat messages to render the model's chat template.
//
// SimByteTokenizer is ringgate-sim's rule (src/sim/README.md "How text becomes
// tokens"): completions read the (first) prompt string, chat renders each message as
// "role: content\n" (text parts joined); every 4 bytes are one token, read as a
// little-endian number. Prompts given as token ids are not handled (false: the
// request is scored by the approximate index).
#include <cstdint>
#include <string_view>
#include <vector>

namespace ringgate::openai {

class PromptTokenizer {
 public:
  virtual ~PromptTokenizer() = default;
  // Token ids of `body`'s prompt into `ids`; false when it has none this tokenizer knows.
  // `counted`: the outcome goes to the tokenizer's counts (/metrics); a dry-run pick
  // (/debug/pick) is not a request and passes false.
  virtual bool encode(std::string_view body, std::vector<uint32_t>& ids, bool counted = true) const = 0;
};

class SimByteTokenizer final : public PromptTokenizer {
 public:
  bool encode(std::string_view body, std::vector<uint32_t>& ids, bool counted = true) const override;
};

}  // namespace ringgate::openai
