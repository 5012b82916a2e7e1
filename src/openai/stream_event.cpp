#include "ringgate/openai/stream_event.h"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "ringgate/util/json_text.h"
#include "ondemand_raw.h"

namespace ringgate::openai {

namespace od = simdjson::ondemand;
using simdjson::SUCCESS;
using detail::is_null;
using detail::raw_json_of;

namespace {

// Where the blank line that ends an event starting at or before `from` ends, searching
// forward; npos when there is none.
size_t blank_line_end(std::string_view data, size_t from) {
  while (from < data.size()) {
    const void* nl = std::memchr(data.data() + from, '\n', data.size() - from);
    if (nl == nullptr) return std::string_view::npos;
    const size_t at = size_t(static_cast<const char*>(nl) - data.data());
    if (at + 1 < data.size() && data[at + 1] == '\n') return at + 2;
    if (at + 2 < data.size() && data[at + 1] == '\r' && data[at + 2] == '\n') return at + 3;
    from = at + 1;
  }
  return std::string_view::npos;
}

}  // namespace

size_t complete_events_end(std::string_view data) {
  // Searched from the end: a relayed chunk nearly always ends with its event.
  for (size_t i = data.size(); i >= 2; --i) {
    if (data[i - 1] != '\n') continue;
    if (data[i - 2] == '\n') return i;
    if (i >= 3 && data[i - 2] == '\r' && data[i - 3] == '\n') return i;
  }
  return 0;
}

bool next_event(std::string_view& rest, std::string_view& event) {
  const size_t end = blank_line_end(rest, 0);
  if (end == std::string_view::npos) return false;
  event = rest.substr(0, end);
  rest.remove_prefix(end);
  return true;
}

std::string_view event_payload(std::string_view event) {
  std::string_view payload;
  bool found = false;
  while (!event.empty()) {
    const size_t nl = event.find('\n');
    std::string_view line = event.substr(0, nl);
    event.remove_prefix(nl == std::string_view::npos ? event.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == ':') continue;  // the blank line, a comment
    if (found || !line.starts_with("data:")) return {};
    line.remove_prefix(5);
    if (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    payload = line;
    found = true;
  }
  return payload;
}

struct StreamEventReader::Parser {
  od::parser parser;
  od::parser usage_parser;
  std::string padded;  // the payload, with simdjson's padding after it
};

StreamEventReader::StreamEventReader() : parser_(std::make_unique<Parser>()) {}
StreamEventReader::~StreamEventReader() = default;

namespace {

// The chat delta: role, content, tool calls, reasoning.
bool read_delta(od::value delta, StreamEvent& out, std::string* text) {
  od::object object;
  if (delta.get_object().get(object) != SUCCESS) return false;
  bool role = false, content = false;
  for (auto field : object) {
    std::string_view key;
    if (field.unescaped_key().get(key) != SUCCESS) return false;
    od::value value;
    if (field.value().get(value) != SUCCESS) return false;
    if (key == "role") {
      role = true;
    } else if (key == "content") {
      if (is_null(value)) continue;
      std::string_view s;
      if (value.get_string().get(s) != SUCCESS) return false;
      content = !s.empty();
      if (text != nullptr) text->append(s);
    } else if (key == "tool_calls") {
      out.tool_calls |= !is_null(value);
    } else if (key == "reasoning_content" || key == "reasoning") {
      out.reasoning |= !is_null(value);
    }
  }
  out.role_only = role && !content;
  return true;
}

bool read_choice(od::value choice, StreamEvent& out, std::string* text) {
  od::object object;
  if (choice.get_object().get(object) != SUCCESS) return false;
  for (auto field : object) {
    std::string_view key;
    if (field.unescaped_key().get(key) != SUCCESS) return false;
    od::value value;
    if (field.value().get(value) != SUCCESS) return false;
    if (key == "text") {
      if (is_null(value)) continue;
      std::string_view s;
      if (value.get_string().get(s) != SUCCESS) return false;
      if (text != nullptr) text->append(s);
    } else if (key == "delta") {
      if (!read_delta(value, out, text)) return false;
    } else if (key == "finish_reason") {
      out.finished |= !is_null(value);
    } else if (key == "logprobs") {
      out.logprobs |= !is_null(value);
    } else if (key == "index") {
      uint64_t index = 0;
      if (value.get_uint64().get(index) != SUCCESS) return false;
      out.other_index |= index != 0;
    }
  }
  return true;
}

}  // namespace

void StreamEventReader::read(std::string_view payload, StreamEvent& out, std::string* text) {
  out = StreamEvent{};
  if (payload == "[DONE]") {
    out.kind = StreamEventKind::Done;
    return;
  }
  out.kind = StreamEventKind::Invalid;
  if (payload.empty() || payload.size() > kMaxStreamEventBytes) return;
  std::string& buffer = parser_->padded;
  buffer.assign(payload);
  buffer.reserve(payload.size() + simdjson::SIMDJSON_PADDING);
  const char* const base = buffer.data();
  auto span_of = [&](std::string_view token) { return PayloadSpan{uint32_t(token.data() - base), uint32_t(token.size())}; };
  od::document doc;
  if (parser_->parser.iterate(base, buffer.size(), buffer.capacity()).get(doc) != SUCCESS) return;
  od::object object;
  if (doc.get_object().get(object) != SUCCESS) return;
  const size_t text_before = text != nullptr ? text->size() : 0;
  auto fail = [&] {
    if (text != nullptr) text->resize(text_before);
    out = StreamEvent{};
    out.kind = StreamEventKind::Invalid;
  };
  bool has_choices = false;
  for (auto field : object) {
    std::string_view key;
    if (field.unescaped_key().get(key) != SUCCESS) return fail();
    od::value value;
    if (field.value().get(value) != SUCCESS) return fail();
    if (key == "id" || key == "created" || key == "model" || key == "system_fingerprint") {
      od::json_type type;
      if (value.type().get(type) != SUCCESS) return fail();
      if (type == od::json_type::object || type == od::json_type::array) return fail();
      std::string_view token;
      if (!raw_json_of(value, token)) return fail();
      const PayloadSpan span = span_of(token);
      if (key == "id") out.id = span;
      else if (key == "created") out.created = span;
      else if (key == "model") out.model = span;
      else out.system_fingerprint = span;
    } else if (key == "choices") {
      od::array choices;
      if (value.get_array().get(choices) != SUCCESS) return fail();
      has_choices = true;
      for (auto choice : choices) {
        od::value v;
        if (choice.get(v) != SUCCESS) return fail();
        // Only the first choice's text is kept: a stream with more is never continued.
        if (!read_choice(v, out, out.choices == 0 ? text : nullptr)) return fail();
        ++out.choices;
      }
    } else if (key == "usage") {
      std::string_view raw;
      if (!raw_json_of(value, raw)) return fail();
      out.usage = span_of(raw);
      const std::string_view usage = out.usage.in(std::string_view(base, buffer.size()));
      if (usage == "null") continue;
      // The object lies inside the padded copy: readable bytes follow it.
      od::document u;
      const size_t room = buffer.capacity() - out.usage.at;
      if (parser_->usage_parser.iterate(usage.data(), usage.size(), room).get(u) != SUCCESS) return fail();
      od::object fields;
      if (u.get_object().get(fields) != SUCCESS) return fail();
      for (auto f : fields) {
        std::string_view k;
        if (f.unescaped_key().get(k) != SUCCESS) return fail();
        int64_t n = 0;
        if (k == "prompt_tokens") {
          if (f.value().get_int64().get(n) != SUCCESS) return fail();
          out.prompt_tokens = n;
        } else if (k == "completion_tokens") {
          if (f.value().get_int64().get(n) != SUCCESS) return fail();
          out.completion_tokens = n;
        }
      }
    }
  }
  if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) return fail();
  if (out.choices > 0) out.kind = StreamEventKind::Choice;
  else if (has_choices && out.prompt_tokens >= 0) out.kind = StreamEventKind::Usage;
  else out.kind = StreamEventKind::Other;
}

void rewrite_event(std::string& out, std::string_view payload, const StreamEvent& event, const EventRewrite& with) {
  struct Splice {
    PayloadSpan span;
    std::string_view text;
  };
  std::array<Splice, 5> splices{};
  size_t n = 0;
  auto add = [&](PayloadSpan span, std::string_view text) {
    if (span.present() && !text.empty() && span.in(payload) != text) splices[n++] = {span, text};
  };
  add(event.id, with.id);
  add(event.created, with.created);
  add(event.model, with.model);
  add(event.system_fingerprint, with.system_fingerprint);
  add(event.usage, with.usage);
  std::sort(splices.begin(), splices.begin() + n, [](const Splice& a, const Splice& b) { return a.span.at < b.span.at; });
  out += "data: ";
  size_t at = 0;
  for (size_t i = 0; i < n; ++i) {
    out.append(payload.substr(at, splices[i].span.at - at));
    out.append(splices[i].text);
    at = splices[i].span.at + splices[i].span.length;
  }
  out.append(payload.substr(at));
  out += "\n\n";
}

void append_usage_object(std::string& out, int64_t prompt_tokens, int64_t completion_tokens) {
  out += "{\"prompt_tokens\":";
  util::append_int(out, prompt_tokens);
  out += ",\"total_tokens\":";
  util::append_int(out, prompt_tokens + completion_tokens);
  out += ",\"completion_tokens\":";
  util::append_int(out, completion_tokens);
  out += '}';
}

}  // namespace ringgate::openai
