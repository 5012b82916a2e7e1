// libFuzzer target: any bytes as a config file. Loading must never crash, hang or leak;
// a config that loads must compile into a rewrite table whose picks stay in bounds.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ringgate/config/config_loader.h"
#include "ringgate/config/rewrite_table.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  ringgate::config::LoadResult result = ringgate::config::load_config_text(text, "fuzz.yaml");
  for (const auto& error : result.errors) (void)ringgate::config::format_error(error);
  if (result.ok()) {
    auto table = ringgate::config::RewriteTable::build(result.config.rewrites);
    for (const auto& alias : table.aliases()) {
      for (uint64_t random : {uint64_t(0), uint64_t(1) << 63, UINT64_MAX}) {
        auto decision = table.pick(alias.alias, random);
        if (decision.target.empty()) __builtin_trap();  // validated targets are never empty
      }
    }
  }
  return 0;
}
