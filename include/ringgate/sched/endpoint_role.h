#pragma once
// What a model server does in prefill/decode disaggregation (llm-d's pod label
// `llm-d.ai/role`; a static pool entry's `role`): prefill pods only take the prefill
// leg of a split request, decode pods the decode leg and every unsplit request, `both`
// anything. An endpoint that says nothing is `both`.
#include <cstdint>
#include <optional>
#include <string_view>

namespace ringgate::sched {

enum class EndpointRole : uint8_t { Both, Prefill, Decode };

inline constexpr std::string_view kRoleLabel = "llm-d.ai/role";

inline const char* to_string(EndpointRole role) {
  switch (role) {
    case EndpointRole::Both: return "both";
    case EndpointRole::Prefill: return "prefill";
    case EndpointRole::Decode: return "decode";
  }
  return "both";
}

// "prefill", "decode" or "both" (exactly, as llm-d spells them); anything else: nullopt.
inline std::optional<EndpointRole> parse_endpoint_role(std::string_view text) {
  if (text == "both") return EndpointRole::Both;
  if (text == "prefill") return EndpointRole::Prefill;
  if (text == "decode") return EndpointRole::Decode;
  return std::nullopt;
}

// What a pick is for (llm-d's scheduling profiles): the decode leg, which is also the
// whole of a request that is not split, or the prefill leg of a split one.
enum class PickLeg : uint8_t { Decode, Prefill };

// Whether an endpoint of `role` takes `leg`.
inline bool takes(EndpointRole role, PickLeg leg) {
  return leg == PickLeg::Decode ? role != EndpointRole::Prefill : role != EndpointRole::Decode;
}

}  // namespace ringgate::sched
