#pragma once
// The labels of ringgate_stream_migrations_total, as enums with their names: a reason
// is a value the compiler checks, never a string matched at run time.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ringgate::metrics {

// ringgate_stream_migrations_total{outcome, reason}: streams whose server broke after
// bytes reached the client. resumed: continued on another server, by what broke
// ("reset": the connection failed or closed before the final event; "stall": silent
// for migration.stallTimeout). gave_up: ended with an error event, by why it was not
// continued. A fixed set: no label comes from outside.
enum class MigrationOutcome : uint8_t { Resumed, GaveUp };
inline constexpr std::array<std::string_view, 2> kMigrationOutcomes = {"resumed", "gave_up"};
enum class MigrationReason : uint8_t {
  Reset,
  Stall,
  // gave_up: the gateway's own limits and state
  Disabled,
  MaxPerRequest,
  Unsupported,
  NoEndpoint,
  ContinuationRefused,
  TooLong,
  Finished,
  Unreadable,
  // gave_up: what the stream or the request holds that a continuation cannot carry exactly
  ToolCalls,
  Reasoning,
  Logprobs,
  SeveralChoices,
  Echo,
  GuidedDecoding,
  PromptShape,
  ContinuesFinalMessage,
  NothingLeft,
  BadBody,  // last: the table's size
};
// The `reason` label of each MigrationReason, in the enum's order.
inline constexpr std::array<std::string_view, size_t(MigrationReason::BadBody) + 1> kMigrationReasons = {
    "reset",
    "stall",
    "disabled",
    "max_per_request",
    "unsupported",
    "no_endpoint",
    "continuation_refused",
    "too_long",
    "finished",
    "unreadable",
    "tool_calls",
    "reasoning",
    "logprobs",
    "several_choices",
    "echo",
    "guided_decoding",
    "prompt_shape",
    "continues_final_message",
    "nothing_left",
    "bad_body"};
static_assert(std::find(kMigrationReasons.begin(), kMigrationReasons.end(), std::string_view()) ==
                  kMigrationReasons.end(),
              "every MigrationReason has its label");
constexpr std::string_view name(MigrationReason reason) { return kMigrationReasons[size_t(reason)]; }

}  // namespace ringgate::metrics
