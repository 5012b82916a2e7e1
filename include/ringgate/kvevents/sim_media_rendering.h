// How ringgate-sim renders a chat media part (image_url, input_audio) into its prompt, and
// the gateway's SimByteTokenizer the same way (header-only: both the sim and the openai
// layer use it, neither links the other). As vLLM's processors do, the part becomes a run
// of one placeholder token id, as many as the server charges for the item
// (--tokens-per-image / scheduler.tokensPerImage), and the item is told apart from others
// only by its identifier in the block hashes' extra keys (media_placeholder.h): the `uuid`
// the client gave on the part, as vLLM takes it in place of its own mm_hash, else a hash of
// the part's url / data text.
//
// In the sim's 4-bytes-a-token text, the text before the part is first padded with NUL
// bytes to a token boundary (its last token's id is what it would be alone: a partial
// token's missing bytes read as 0), then each placeholder token is 4 bytes. So the same
// token_ids() rule gives text ids, then the run, then the text after.
#pragma once

#include <xxhash.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "ringgate/kvevents/media_placeholder.h"

namespace ringgate::kvevents {

// A content part's `uuid` longer than this is refused (the sim: 400; the gateway: the
// request is scored by the approximate index).
inline constexpr size_t kMaxMediaUuidBytes = 256;

// The kind bytes of the sim's media parts (openai::MediaKind's values).
enum class SimMediaKind : uint8_t { Image = 1, Audio = 2 };

// Bytes FE kind FE kind, read little-endian: 0xFE never occurs in UTF-8 text, so no text
// token is a placeholder.
inline uint32_t sim_placeholder_token(SimMediaKind kind) {
  const uint32_t k = uint8_t(kind);
  return 0xFEu | (k << 8) | (0xFEu << 16) | (k << 24);
}

// The identifier of a part without a uuid: the xxh3 (seeded with the kind) of its url /
// data text, as 16 hex digits.
inline std::string sim_media_identifier(SimMediaKind kind, std::string_view text) {
  const uint64_t h = XXH3_64bits_withSeed(text.data(), text.size(), uint8_t(kind));
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 0; i < 16; ++i) out[size_t(i)] = kDigits[(h >> (60 - 4 * i)) & 15];
  return out;
}

// Appends the part's run to `text` (4 bytes a token) and returns where it is.
inline MediaPlaceholder append_sim_media(std::string& text, SimMediaKind kind, uint32_t tokens,
                                         std::string identifier) {
  text.resize((text.size() + 3) / 4 * 4, '\0');
  MediaPlaceholder run{uint32_t(text.size() / 4), tokens, std::move(identifier)};
  const uint32_t id = sim_placeholder_token(kind);
  const char bytes[4] = {char(id & 0xff), char((id >> 8) & 0xff), char((id >> 16) & 0xff), char(id >> 24)};
  text.reserve(text.size() + size_t(tokens) * 4);
  for (uint32_t i = 0; i < tokens; ++i) text.append(bytes, 4);
  return run;
}

}  // namespace ringgate::kvevents
