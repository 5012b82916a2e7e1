#pragma once
// The labels of ringgate_stream_migrations_total, as enums with their names: a reason
// is a value the compiler checks, never a string matched at run time.
#include <array>
#include <cstdint>
#include <string_view>

#include "ringgate/openai/migration_reason.h"

namespace ringgate::metrics {

// ringgate_stream_migrations_total{outcome, reason}: streams whose server broke after
// bytes reached the client. resumed: continued on another server, by what broke
// ("reset": the connection failed or closed before the final event; "stall": silent
// for migration.stallTimeout). gave_up: ended with an error event, by why it was not
// continued. A fixed set: no label comes from outside.
enum class MigrationOutcome : uint8_t { Resumed, GaveUp };
inline constexpr std::array<std::string_view, 2> kMigrationOutcomes = {"resumed", "gave_up"};
// The reasons are the openai layer's (one type with build_continuation()'s refusals).
using openai::kMigrationReasons;
using openai::MigrationReason;
using openai::name;

}  // namespace ringgate::metrics
