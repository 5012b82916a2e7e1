#include "ringgate/openai/disaggregated_request.h"

#include <simdjson.h>

#include "ondemand_raw.h"
#include "ringgate/util/json_text.h"

namespace ringgate::openai {

namespace od = simdjson::ondemand;
using simdjson::SUCCESS;
using detail::raw_json_of;

namespace {

constexpr std::string_view kRemoteDecode =
    "{\"do_remote_decode\":true,\"do_remote_prefill\":false,\"remote_engine_id\":null,\"remote_block_ids\":null,"
    "\"remote_host\":null,\"remote_port\":null}";

// Copies the body's fields into `out` ({ and the fields, no closing brace), leaving out
// those the leg writes itself; "model" becomes spec.model_token when one is given.
template <typename Skip>
bool copy_fields(std::string_view body, const LegSpec& spec, std::string& out, Skip skip) {
  out.clear();
  const simdjson::padded_string padded(body);
  od::parser parser;
  od::document doc;
  od::object object;
  if (parser.iterate(padded).get(doc) != SUCCESS || doc.get_object().get(object) != SUCCESS) return false;
  out += '{';
  for (auto field : object) {
    std::string_view key;
    od::value value;
    if (field.unescaped_key().get(key) != SUCCESS || field.value().get(value) != SUCCESS) return false;
    std::string_view raw;
    if (!raw_json_of(value, raw)) return false;  // consumes the value whether kept or not
    if (key == "kv_transfer_params" || skip(key)) continue;
    util::append_json_member(out, key, key == "model" && !spec.model_token.empty() ? spec.model_token : raw);
  }
  return doc.current_location().error() == simdjson::OUT_OF_BOUNDS;
}

}  // namespace

bool build_prefill_request(std::string_view body, const LegSpec& spec, std::string& out) {
  const bool chat = spec.chat;
  const bool ok = copy_fields(body, spec, out, [chat](std::string_view key) {
    return key == "stream" || key == "stream_options" || key == "max_tokens" ||
           (chat && key == "max_completion_tokens");
  });
  if (!ok) return false;
  util::append_json_member(out, "stream", "false");
  util::append_json_member(out, "max_tokens", "1");
  if (chat) util::append_json_member(out, "max_completion_tokens", "1");
  util::append_json_member(out, "kv_transfer_params", kRemoteDecode);
  out += '}';
  return true;
}

bool build_decode_request(std::string_view body, const LegSpec& spec, std::string_view kv_transfer_params,
                          std::string& out) {
  if (!copy_fields(body, spec, out, [](std::string_view) { return false; })) return false;
  util::append_json_member(out, "kv_transfer_params", kv_transfer_params);
  out += '}';
  return true;
}

const char* to_string(PrefillAnswerError error) {
  switch (error) {
    case PrefillAnswerError::None: return "none";
    case PrefillAnswerError::BadBody: return "bad_body";
    case PrefillAnswerError::NoParams: return "no_kv_transfer_params";
    case PrefillAnswerError::ParamsTooLong: return "kv_transfer_params_too_long";
  }
  return "?";
}

PrefillAnswerError read_prefill_answer(std::string_view answer, std::string_view& kv_transfer_params) {
  kv_transfer_params = {};
  const simdjson::padded_string padded(answer);
  od::parser parser;
  od::document doc;
  od::object object;
  if (parser.iterate(padded).get(doc) != SUCCESS || doc.get_object().get(object) != SUCCESS)
    return PrefillAnswerError::BadBody;
  std::string_view found;
  for (auto field : object) {
    std::string_view key;
    od::value value;
    if (field.unescaped_key().get(key) != SUCCESS || field.value().get(value) != SUCCESS)
      return PrefillAnswerError::BadBody;
    std::string_view raw;
    if (!raw_json_of(value, raw)) return PrefillAnswerError::BadBody;
    if (key == "kv_transfer_params") found = raw;
  }
  if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) return PrefillAnswerError::BadBody;
  if (found.empty() || found.front() != '{') return PrefillAnswerError::NoParams;
  if (found.size() > kMaxKvTransferParamsBytes) return PrefillAnswerError::ParamsTooLong;
  // On-demand parsing skips over values it is not asked for: the object is parsed whole
  // before the decode leg carries it (a broken one would turn into the client's 400).
  simdjson::dom::parser dom;
  simdjson::dom::object params;
  if (dom.parse(found.data(), found.size()).get(params) != SUCCESS) return PrefillAnswerError::BadBody;
  // A view into the padded copy would die with it: the same bytes of `answer`.
  kv_transfer_params = answer.substr(size_t(found.data() - padded.data()), found.size());
  return PrefillAnswerError::None;
}

}  // namespace ringgate::openai
