#pragma once
// `ringgate --check-config FILE`: validate a config file and say so.

#include <ostream>
#include <string>

#include "ringgate/config/config_loader.h"

namespace ringgate::config {

// Prints one "FILE:LINE:COL: message" line per error, or a one-line summary
// ("FILE: OK: 1 Gateway, 2 InferenceModelRewrite (3 rules), ...").
// Returns the process exit code: 0 valid, 1 invalid or unreadable.
int check_config_main(const std::string& path, std::ostream& out, const LoadOptions& options = {});

}  // namespace ringgate::config
