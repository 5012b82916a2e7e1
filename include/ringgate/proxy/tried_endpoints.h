#pragma once
// The endpoints one request has tried (a retry or a continuation goes elsewhere), those
// whose leg broke after bytes reached the client (AttemptPolicy::continuation_may_return),
// and whose stream broke first (the access log's migrated_from). Reset per request.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace ringgate::proxy {

struct TriedEndpoints {
  std::vector<uint32_t> tried;
  std::vector<uint32_t> broke_mid_stream;
  std::string first_broken;  // host:port

  void clear() {
    tried.clear();
    broke_mid_stream.clear();
    first_broken.clear();
  }
  void add(uint32_t id) {
    if (std::find(tried.begin(), tried.end(), id) == tried.end()) tried.push_back(id);
  }
};

}  // namespace ringgate::proxy
