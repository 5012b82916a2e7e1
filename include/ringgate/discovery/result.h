#pragma once
// The discovery layer's errors are the project's one error-return type.
#include "ringgate/util/result.h"

namespace ringgate::discovery {

using util::Error;
using util::Result;

}  // namespace ringgate::discovery
