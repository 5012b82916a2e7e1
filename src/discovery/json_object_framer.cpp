#include "ringgate/discovery/json_object_framer.h"

namespace ringgate::discovery {

void JsonObjectFramer::reset() {
  pending_.clear();
  depth_ = 0;
  in_string_ = false;
  escaped_ = false;
}

Result<void> JsonObjectFramer::feed(std::string_view bytes,
                                    const std::function<bool(std::string_view)>& on_object) {
  std::size_t start = 0;  // where the object in progress starts within `bytes` (if it started here)
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const char c = bytes[i];
    if (depth_ == 0) {
      if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
      if (c != '{') {
        reset();
        return Error{std::string("watch stream: expected a JSON object, got byte 0x") +
                     "0123456789abcdef"[(static_cast<unsigned char>(c) >> 4) & 0xF] +
                     "0123456789abcdef"[static_cast<unsigned char>(c) & 0xF]};
      }
      start = i;
      depth_ = 1;
      continue;
    }
    if (in_string_) {
      if (escaped_) escaped_ = false;
      else if (c == '\\') escaped_ = true;
      else if (c == '"') in_string_ = false;
      continue;
    }
    if (c == '"') {
      in_string_ = true;
    } else if (c == '{' || c == '[') {
      ++depth_;
    } else if ((c == '}' || c == ']') && --depth_ == 0) {
      std::string_view piece = bytes.substr(start, i + 1 - start);
      if (pending_.size() + piece.size() > max_object_bytes_) {
        reset();
        return Error{"watch stream: object over " + std::to_string(max_object_bytes_) + " bytes"};
      }
      bool more;
      if (pending_.empty()) {
        more = on_object(piece);
      } else {
        pending_.append(piece);
        std::string object = std::move(pending_);
        pending_.clear();
        more = on_object(object);
      }
      if (!more) return {};
      continue;
    }
  }
  if (depth_ > 0) {
    // Keep the unfinished tail for the next feed.
    pending_.append(bytes.substr(start));
    if (pending_.size() > max_object_bytes_) {
      reset();
      return Error{"watch stream: object over " + std::to_string(max_object_bytes_) + " bytes"};
    }
  }
  return {};
}

}  // namespace ringgate::discovery
