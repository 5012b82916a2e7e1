#pragma once
// Why a broken stream was, or was not, continued on another server: the `reason` label
// of ringgate_stream_migrations_total (metrics/migration_reason.h) and, for the reasons
// a request's own fields give, what build_continuation() (continuation_request.h)
// refuses with. One enum and one name table: a reason is a value the compiler checks,
// never a string matched at run time.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ringgate::openai {

enum class MigrationReason : uint8_t {
  // resumed: what broke
  Reset,  // the connection failed or closed before the final event
  Stall,  // silent for migration.stallTimeout
  // gave_up: the gateway's own limits and state
  Disabled,
  MaxPerRequest,
  Unsupported,
  NoEndpoint,
  ContinuationRefused,
  TooLong,
  Finished,
  Unreadable,
  // gave_up: what the stream holds that a continuation cannot carry exactly
  ToolCalls,
  Reasoning,
  // gave_up: what the request holds (build_continuation())
  Logprobs,               // logprobs, top_logprobs, prompt_logprobs
  SeveralChoices,         // n > 1, best_of > 1
  Echo,                   // echo: true
  GuidedDecoding,         // response_format (not text), guided_*, structural_tag, structured_outputs, a tool_choice
  PromptShape,            // completions: a batch, or token ids
  ContinuesFinalMessage,  // chat: continue_final_message already set by the client
  NothingLeft,            // the token budget is spent
  BadBody,                // not a JSON object (the server accepted it, so this is not expected); last: the table's size
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

}  // namespace ringgate::openai
