#pragma once
// The identity of one media part of a chat message (an image_url's url, an input_audio's
// data), read as the body scanner decodes the JSON string, in pieces of any size: a data:
// URI (or input_audio's bare base64) is base64-decoded on the fly into a running xxh3 of
// its bytes, so that the same image sent again, however its base64 is wrapped in JSON,
// has the same hash, and a remote URL is hashed as its text. Linear in the bytes, no copy
// of them (a 3 KB window of decoded bytes at a time), constant memory. A building block
// of issue 49's multimodal routing: the body scanner does not call it yet. Broken input (a
// bad base64 byte, padding in the middle, a truncated quad, a data: header past
// kMaxHeaderBytes or without a comma): no hash — the part is passed on unhashed and the
// caller counts it.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include <memory>

#include <xxhash.h>

namespace ringgate::openai {

enum class MediaKind : uint8_t { Image = 1, Audio = 2 };

class MediaHasher {
 public:
  static constexpr size_t kMaxHeaderBytes = 256;  // "data:image/png;base64," and parameters

  // A new part. `bare_base64`: the value is base64 with no data: header (input_audio.data).
  void reset(MediaKind kind, bool bare_base64);
  // The next decoded bytes of the JSON string.
  void feed(std::string_view bytes);
  // At the string's end: the part's hash, or nothing when broken.
  std::optional<uint64_t> finish();
  bool broken() const { return state_ == State::Broken; }
  uint64_t decoded_bytes() const { return decoded_; }

 private:
  enum class State : uint8_t { Start, Header, Base64, Raw, Broken };
  void feed_header(std::string_view& bytes);
  void feed_base64(std::string_view bytes);
  void flush();

  // xxhash's streaming state, made once per hasher, not per part. Not inline: with
  // XXH_STATIC_LINKING_ONLY and the state a member, -O2 builds hashed inputs over ~1 KB
  // wrongly (seen in media_hasher_test, not at -O0 or under ASan; the cause not found).
  struct StateFree {
    void operator()(XXH3_state_t* s) const { XXH3_freeState(s); }
  };
  std::unique_ptr<XXH3_state_t, StateFree> state_owner_{XXH3_createState()};
  XXH3_state_t& xxh_ = *state_owner_;
  State state_ = State::Start;
  MediaKind kind_ = MediaKind::Image;
  bool base64_ = false;        // a data: header said ;base64 (or bare)
  char start_[7] = {};         // the first bytes (to tell "data:" from a URL), then the header's last
  uint8_t start_len_ = 0;
  size_t header_bytes_ = 0;
  uint32_t quad_ = 0;          // base64 bits gathered
  uint8_t quad_len_ = 0;       // sextets in quad_
  uint8_t padding_ = 0;        // '=' seen: nothing but '=' may follow
  uint64_t decoded_ = 0;
  unsigned char out_[3072];    // decoded bytes not yet hashed
  size_t out_len_ = 0;
};

}  // namespace ringgate::openai
