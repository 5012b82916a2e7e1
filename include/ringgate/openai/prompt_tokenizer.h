#pragma once
// How the gateway gets a request's prompt token ids, for precise prefix scoring
// (the token ids vLLM hashes into KV blocks). The interface takes the request body:
// a real tokenizer needs the chat messages to render the model's chat template.
//
// The body's text is read from the route's text fields (api_routes.h): "messages" as
// a chat, else the (first) string of "prompt" or "input", as vLLM tokenizes a
// completion, an embedding or a pooling request. Scoring pairs (text_1/text_2,
// query/documents) are tokenized by vLLM as pairs of its own making: not here (false:
// the request is scored by the approximate index).
//
// SimByteTokenizer is ringgate-sim's rule (src/sim/README.md "How text becomes
// tokens"): a prompt is its string, chat renders each message as "role: content\n"
// (text parts joined) then "assistant: " (add_generation_prompt, default true), or with
// continue_final_message no "\n" after the final message and no generation prompt;
// every 4 bytes are one token, read as a little-endian number; a media part is a run of
// placeholder tokens (the constructor's counts). Prompts given as token
// ids are not handled (false: the request is scored by the approximate index).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "ringgate/kvevents/media_placeholder.h"
#include "ringgate/openai/api_routes.h"

namespace ringgate::openai {

// Routing reads a prompt's ids only as far as some server holds its leading blocks: a
// tokenizer that would spend long on a prompt asks its probe first, with the ids of the
// prompt's first few KiB, whether more could matter.
class TokenProbe {
 public:
  virtual ~TokenProbe() = default;
  // `ids`: the prompt's leading ids (exactly those the whole tokenization starts with);
  // `whole_ids`: an estimate of how many the whole tokenization would give. False: these
  // are enough, and encode() returns them.
  virtual bool wants_more(std::span<const uint32_t> ids, std::size_t whole_ids) = 0;
};

class PromptTokenizer {
 public:
  virtual ~PromptTokenizer() = default;
  // Token ids of the text `body` holds in `fields` (a route's routed_text()) into `ids`;
  // false when it has none this tokenizer knows. `counted`: the outcome goes to the
  // tokenizer's counts (/metrics); a dry-run pick (/debug/pick) is not a request and
  // passes false. `probe` (may be null): see TokenProbe. `media` (may be null): the
  // prompt's media runs in `ids`, whose identifiers go into the blocks' extra keys
  // (kvevents/media_placeholder.h); a tokenizer that renders no runs leaves it empty.
  virtual bool encode(TextFields fields, std::string_view body, std::vector<uint32_t>& ids, bool counted = true,
                      TokenProbe* probe = nullptr, std::vector<kvevents::MediaPlaceholder>* media = nullptr) const = 0;
};

class SimByteTokenizer final : public PromptTokenizer {
 public:
  // A chat's image_url / input_audio parts are runs of this many placeholder tokens, as
  // ringgate-sim started with --tokens-per-image / --tokens-per-audio renders them
  // (kvevents/sim_media_rendering.h: identified by the part's uuid, else a hash of its
  // url / data text). A media part without its url / data, or a uuid that is not a
  // string of at most kMaxMediaUuidBytes: false (the sim refuses it with a 400).
  explicit SimByteTokenizer(uint32_t image_tokens = 576, uint32_t audio_tokens = 750)
      : image_tokens_(image_tokens), audio_tokens_(audio_tokens) {}
  // 4 bytes a token costs nothing: the probe is never asked.
  bool encode(TextFields fields, std::string_view body, std::vector<uint32_t>& ids, bool counted = true,
              TokenProbe* probe = nullptr, std::vector<kvevents::MediaPlaceholder>* media = nullptr) const override;

 private:
  uint32_t image_tokens_, audio_tokens_;
};

}  // namespace ringgate::openai
