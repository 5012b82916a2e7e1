// libFuzzer target: bytes → watch-stream framing → event parsing → merge.
// Built only with -Dfuzzers=true (clang).
#include <cstddef>
#include <cstdint>
#include <map>
#include <string_view>

#include "ringgate/discovery/endpoint_merge.h"
#include "ringgate/discovery/json_object_framer.h"
#include "ringgate/discovery/watch_event.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ringgate::discovery;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::map<std::string, EndpointSlice> slices;

  auto apply = [&](std::string_view text) {
    auto event = parse_watch_event(text);
    if (event.ok() && event.value().type != WatchEventType::error &&
        event.value().type != WatchEventType::bookmark) {
      slices[event.value().slice.name] = event.value().slice;
      (void)merge_slices(slices, TargetPort{"http", 0});
      (void)merge_slices(slices, TargetPort{"", 8000});
    }
    return true;
  };
  (void)parse_endpoint_slice(input);
  (void)parse_endpoint_slice_list(input);
  JsonObjectFramer framer(1 << 16);
  // Feed in two pieces, split at a data-dependent point, as a stream would arrive.
  const std::size_t cut = size ? data[0] % (size + 1) : 0;
  if (framer.feed(input.substr(0, cut), apply).ok()) (void)framer.feed(input.substr(cut), apply);
  return 0;
}
