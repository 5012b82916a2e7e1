#include "ringgate/openai/request_body.h"

#include <simdjson.h>

#include "ringgate/openai/form_body.h"

namespace ringgate::openai {

using simdjson::SUCCESS;
namespace od = simdjson::ondemand;

namespace {

constexpr BodyError kBadJson{400, "invalid_json", "request body is not valid JSON"};
constexpr BodyError kNotObject{400, "invalid_json", "request body must be a JSON object"};
constexpr BodyError kBadModel{400, "invalid_model", "\"model\" must be a string"};
constexpr BodyError kMissingModel{400, "missing_model", "\"model\" is required"};
constexpr BodyError kLongModel{400, "invalid_model", "\"model\" is longer than 256 bytes"};
constexpr BodyError kControlModel{400, "invalid_model", "\"model\" must not contain control characters"};
static_assert(kMaxModelBytes == 256, "kLongModel's message states the cap");
constexpr BodyError kBadStream{400, "invalid_stream", "\"stream\" must be a boolean"};
constexpr BodyError kBadPrompt{400, "invalid_prompt", "\"prompt\" must be a string or an array"};
constexpr BodyError kBadMessages{400, "invalid_messages", "\"messages\" must be an array of objects"};

// Appends a JSON string value's text to the prompt parts.
bool append_text(od::value& value, std::vector<std::string_view>& parts) {
  std::string_view text;
  if (value.get_string().get(text) != SUCCESS) return false;
  parts.push_back(text);
  return true;
}

// prompt: "text" | ["text", ...] | [token ids] | [[token ids], ...]; only text is routed on.
bool read_prompt(od::value value, std::vector<std::string_view>& parts) {
  od::json_type type;
  if (value.type().get(type) != SUCCESS) return false;
  if (type == od::json_type::string) return append_text(value, parts);
  if (type != od::json_type::array) return false;
  od::array array;
  if (value.get_array().get(array) != SUCCESS) return false;
  for (auto element : array) {
    od::value item;
    if (element.get(item) != SUCCESS) return false;
    od::json_type item_type;
    if (item.type().get(item_type) != SUCCESS) return false;
    if (item_type == od::json_type::string && !append_text(item, parts)) return false;
  }
  return true;
}

// A media string into `hasher`: in place when it has no escape (the usual base64), else
// unescaped once into the parser's string buffer. False when the value is no string.
bool hash_media(od::value& value, MediaHasher& hasher, MediaKind kind, bool bare_base64, uint64_t& hash) {
  od::json_type type;
  if (value.type().get(type) != SUCCESS || type != od::json_type::string) return false;
  hasher.reset(kind, bare_base64);
  std::string_view raw = value.raw_json_token();
  while (!raw.empty() && raw.back() != '"') raw.remove_suffix(1);  // trailing whitespace
  if (raw.size() >= 2 && raw.substr(1, raw.size() - 2).find('\\') == std::string_view::npos) {
    hasher.feed(raw.substr(1, raw.size() - 2));
  } else {
    std::string_view text;
    if (value.get_string().get(text) != SUCCESS) return false;
    hasher.feed(text);
  }
  const std::optional<uint64_t> h = hasher.finish();
  hash = h.value_or(0);
  return h.has_value();
}

// image_url: "url" | {"url": "...", "detail": ...}; input_audio: {"data": "...", "format": ...}.
// As BodyScanner: the last value of a kind counts, a value that is not a string is none.
void read_media(od::value& value, std::string_view field, MediaHasher& hasher, bool image, PartMedia& media) {
  bool& made = image ? media.image : media.audio;
  uint64_t& hash = image ? media.image_hash : media.audio_hash;
  od::json_type type;
  if (value.type().get(type) != SUCCESS) return;
  if (image && type == od::json_type::string) {
    made = hash_media(value, hasher, MediaKind::Image, false, hash);
    return;
  }
  if (type != od::json_type::object) return;
  od::object object;
  if (value.get_object().get(object) != SUCCESS) return;
  for (auto member : object) {
    std::string_view key;
    od::value member_value;
    if (member.unescaped_key().get(key) != SUCCESS || member.value().get(member_value) != SUCCESS) return;
    if (key == field) made = hash_media(member_value, hasher, image ? MediaKind::Image : MediaKind::Audio, !image, hash);
  }
}

// content: "text" | [{"type":"text","text":"..."}, {"type":"image_url",...}, ...]
bool read_content(od::value value, RequestFields& out, MediaHasher& hasher) {
  std::vector<std::string_view>& parts = out.prompt_parts;
  od::json_type type;
  if (value.type().get(type) != SUCCESS) return false;
  if (type == od::json_type::string) return append_text(value, parts);
  if (type == od::json_type::null) return true;
  if (type != od::json_type::array) return false;
  od::array array;
  if (value.get_array().get(array) != SUCCESS) return false;
  for (auto element : array) {
    od::object part;
    if (element.get_object().get(part) != SUCCESS) return false;
    PartType part_type = PartType::None;
    PartMedia media;
    for (auto field : part) {
      std::string_view key;
      if (field.unescaped_key().get(key) != SUCCESS) return false;
      od::value field_value;
      if (field.value().get(field_value) != SUCCESS) return false;
      if (key == "text") {
        std::string_view text;
        if (field_value.get_string().get(text) == SUCCESS) parts.push_back(text);
      } else if (key == "type") {
        std::string_view text;
        od::json_type t;
        if (field_value.type().get(t) == SUCCESS && t == od::json_type::string) {
          if (field_value.get_string().get(text) != SUCCESS) return false;
          part_type = part_type_of(text);
        }
      } else if (key == "image_url") {
        read_media(field_value, "url", hasher, true, media);
      } else if (key == "input_audio") {
        read_media(field_value, "data", hasher, false, media);
      }
    }
    MediaRecord record;
    if (close_content_part(part_type, media, out.media, record)) {
      out.media_records.push_back(record);
      parts.push_back(out.media_records.back().view());
    }
  }
  return true;
}

bool read_messages(od::value value, RequestFields& out, MediaHasher& hasher) {
  std::vector<std::string_view>& parts = out.prompt_parts;
  od::array array;
  if (value.get_array().get(array) != SUCCESS) return false;
  for (auto element : array) {
    od::object message;
    if (element.get_object().get(message) != SUCCESS) return false;
    // Role before content whatever the key order, so equal conversations hash equally.
    std::string_view role;
    size_t content_start = parts.size();
    bool has_role = false;
    for (auto field : message) {
      std::string_view key;
      if (field.unescaped_key().get(key) != SUCCESS) return false;
      od::value field_value;
      if (field.value().get(field_value) != SUCCESS) return false;
      if (key == "role") {
        if (field_value.get_string().get(role) != SUCCESS) return false;
        has_role = true;
      } else if (key == "content") {
        if (!read_content(field_value, out, hasher)) return false;
      }
    }
    if (has_role) parts.insert(parts.begin() + std::ptrdiff_t(content_start), role);
  }
  return true;
}

}  // namespace

static_assert(kPadding >= simdjson::SIMDJSON_PADDING);

struct BodyReader::Parser {
  od::parser parser;
  MediaHasher media;
};

BodyReader::BodyReader() : parser_(std::make_unique<Parser>()) {}
BodyReader::~BodyReader() = default;

BodyError BodyReader::read(const ApiRoute& route, std::string_view content_type, std::string_view body,
                           size_t capacity, RequestFields& out) {
  if (route.body == BodyFormat::MultipartForm) return read_form_body(content_type, body, out);
  out = RequestFields{};
  const TextFields fields = route.routed_text();
  if (capacity < body.size() + kPadding) return kBadJson;  // caller forgot pad(): refuse rather than overread
  od::document doc;
  if (parser_->parser.iterate(body.data(), body.size(), capacity).get(doc) != SUCCESS) return kBadJson;
  od::object object;
  od::json_type type;
  if (doc.type().get(type) != SUCCESS) return kBadJson;
  if (type != od::json_type::object) return kNotObject;
  if (doc.get_object().get(object) != SUCCESS) return kBadJson;
  bool has_model = false;
  for (auto field : object) {
    std::string_view key;
    if (field.unescaped_key().get(key) != SUCCESS) return kBadJson;
    od::value value;
    if (field.value().get(value) != SUCCESS) return kBadJson;
    if (key == "model") {
      od::json_type value_type;
      if (value.type().get(value_type) != SUCCESS) return kBadJson;
      if (value_type != od::json_type::string) return kBadModel;
      const std::string_view token = value.raw_json_token();
      out.model_offset = size_t(token.data() - body.data());
      // raw_json_token may carry trailing whitespace: keep the token to its closing quote.
      size_t length = token.size();
      while (length > 0 && token[length - 1] != '"') --length;
      out.model_length = length;
      std::string_view model;
      if (value.get_string().get(model) != SUCCESS) return kBadJson;
      // The model name becomes a metrics label and a stats key: bound it and keep
      // bytes out that could split a key or a line.
      if (model.size() > kMaxModelBytes) return kLongModel;
      for (const char c : model)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return kControlModel;
      out.model.assign(model);
      has_model = true;
    } else if (key == "stream") {
      od::json_type value_type;
      if (value.type().get(value_type) != SUCCESS) return kBadJson;
      if (value_type == od::json_type::null) continue;
      if (value.get_bool().get(out.stream) != SUCCESS) return kBadStream;
    } else if (const int routing = routing_key_of(key); routing >= 0) {
      // As BodyScanner: a string is the key (the last one wins, as in Python); any other
      // value is none.
      std::string_view text;
      RoutingKeyValue& slot = out.keys.values[size_t(routing)];
      slot.clear();
      if (value.get_string().get(text) == SUCCESS) {
        slot.present = true;
        slot.append(text.data(), text.size());
      }
    } else {
      // The route's text fields (api_routes.h), read as BodyScanner reads them.
      TextFields field = 0;
      for (const TextFieldKey& text : kTextFieldKeys)
        if (key == text.key) field = text.field & fields;
      if (field == kPromptField) {
        if (!read_prompt(value, out.prompt_parts)) return kBadPrompt;
      } else if (field == kMessagesField) {
        if (!read_messages(value, out, parser_->media)) return kBadMessages;
      } else if (field != 0) {
        // Loosely: a value that is neither a string nor an array (responses' message
        // items, a multimodal document) is the model server's to judge, not routing's.
        read_prompt(value, out.prompt_parts);
      }
    }
  }
  // Anything after the object (a second value, stray bytes) makes the body invalid.
  if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) return kBadJson;
  if (!has_model) return kMissingModel;
  if (out.model.empty()) return BodyError{400, "invalid_model", "\"model\" must not be empty"};
  if (media_counters_ != nullptr) media_counters_->add(out.media);
  return {};
}

}  // namespace ringgate::openai
