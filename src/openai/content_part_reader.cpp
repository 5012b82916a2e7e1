#include "ringgate/openai/content_part_reader.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <string_view>

namespace ringgate::openai {

void ContentPartReader::begin() {
  typed_ = false;
  type_len_ = 0;
  media_ = {};
}

void ContentPartReader::type_bytes(const char* data, size_t n) {
  if (type_len_ + n <= sizeof type_) std::memcpy(type_ + type_len_, data, n);
  type_len_ = uint8_t(std::min(type_len_ + n, sizeof type_ + 1));  // past it: no type we know
}

void ContentPartReader::end_media() {
  // A part's last value of each kind counts (BodyReader reads them so too).
  const std::optional<uint64_t> hash = hasher_.finish();
  if (kind_ == MediaKind::Image) {
    media_.image = hash.has_value();
    media_.image_hash = hash.value_or(0);
  } else {
    media_.audio = hash.has_value();
    media_.audio_hash = hash.value_or(0);
  }
}

bool ContentPartReader::close(MediaRecord& out) {
  const PartType type = !typed_                      ? PartType::None
                        : type_len_ > sizeof type_   ? PartType::Other
                                                     : part_type_of(std::string_view(type_, type_len_));
  return close_content_part(type, media_, counts_, out);
}

}  // namespace ringgate::openai
