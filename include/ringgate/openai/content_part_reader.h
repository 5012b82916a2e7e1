#pragma once
// One chat content part as BodyScanner streams through it: its `type` (up to
// "input_audio"'s length), the hashes of its media values (image_url's url,
// input_audio's data), decoded as they arrive, and what each closed part counted for.
// When the part closes it yields its media record (media_part.h) or nothing.
// Constant memory: the type bytes, the hasher's window.
#include <cstddef>
#include <cstdint>

#include "ringgate/openai/media_hasher.h"
#include "ringgate/openai/media_part.h"

namespace ringgate::openai {

class ContentPartReader {
 public:
  void begin();  // a content part object opens
  void begin_type() {
    typed_ = true;
    type_len_ = 0;
  }
  void type_bytes(const char* data, size_t n);
  void begin_media(MediaKind kind, bool bare_base64) {
    kind_ = kind;
    hasher_.reset(kind, bare_base64);
  }
  void media_bytes(const char* data, size_t n) { hasher_.feed({data, n}); }
  void end_media();
  // The part closed: true with its record when it is a well-hashed image or audio part;
  // counted (image, audio, broken, unknown type) either way.
  bool close(MediaRecord& out);

  const MediaPartCounts& counts() const { return counts_; }
  void clear_counts() { counts_ = {}; }

 private:
  char type_[12] = {};
  uint8_t type_len_ = 0;
  bool typed_ = false;
  PartMedia media_;
  MediaKind kind_ = MediaKind::Image;  // of the value being hashed
  MediaHasher hasher_;
  MediaPartCounts counts_;
};

}  // namespace ringgate::openai
