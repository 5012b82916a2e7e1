#pragma once
// Cuts a byte stream of concatenated JSON objects (a watch stream: one object
// per line, split anywhere across chunks) into whole objects.
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "ringgate/discovery/result.h"

namespace ringgate::discovery {

class JsonObjectFramer {
 public:
  explicit JsonObjectFramer(std::size_t max_object_bytes = 16 << 20)
      : max_object_bytes_(max_object_bytes) {}

  // Feeds bytes; calls on_object for each complete top-level object. Returns
  // an Error on bytes that cannot start an object or an object over the limit;
  // stops early (ok) if on_object returns false.
  Result<void> feed(std::string_view bytes, const std::function<bool(std::string_view)>& on_object);
  // True when no partial object is buffered.
  bool idle() const { return depth_ == 0 && pending_.empty(); }
  void reset();

 private:
  std::size_t max_object_bytes_;
  std::string pending_;
  int depth_ = 0;
  bool in_string_ = false;
  bool escaped_ = false;
};

}  // namespace ringgate::discovery
