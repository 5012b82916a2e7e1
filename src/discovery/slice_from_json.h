#pragma once
// Private: an EndpointSlice from an already parsed JSON object (a list item
// or a watch event's object). `path` prefixes error messages.
#include <string_view>

#include "json_fields.h"
#include "ringgate/discovery/endpoint_slice.h"

namespace ringgate::discovery {

Result<EndpointSlice> slice_from_json(const json::object& obj, std::string_view path);

}  // namespace ringgate::discovery
