#include "ringgate/sim/pooling_api.h"

#include <simdjson.h>
#include <xxhash.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "ringgate/sim/completion_request.h"
#include "ringgate/sim/tokenizer.h"
#include "ringgate/util/json_text.h"

namespace ringgate::sim {
namespace {

namespace od = simdjson::ondemand;

// Dimensions of the made-up embeddings (a real model's hidden size is far larger;
// clients read the length from the answer).
constexpr size_t kEmbeddingDims = 8;

// A text field: a string, or (many = true) a list of strings; token ids (a list of
// numbers, or of lists of them) read as the sim's tokenizer reads them.
std::optional<ApiError> read_texts(od::value v, std::string_view field, bool many, std::vector<std::string>& out) {
  od::json_type type;
  if (v.type().get(type)) return bad("JSON decode error");
  std::string_view s;
  if (type == od::json_type::string) {
    if (v.get_string().get(s)) return bad("JSON decode error");
    out.emplace_back(s);
    return std::nullopt;
  }
  if (!many || type != od::json_type::array) return wrong_type(field, many ? "a valid string or list" : "a valid string");
  od::array items;
  if (v.get_array().get(items)) return bad("JSON decode error");
  std::string ids;  // a single prompt given as token ids
  for (auto item : items) {
    if (out.size() >= kMaxPromptsPerRequest) return bad("at most 1024 inputs per request", std::string(field));
    od::json_type item_type;
    if (item.type().get(item_type)) return bad("JSON decode error");
    uint64_t id = 0;
    if (item_type == od::json_type::string) {
      if (item.get_string().get(s)) return bad("JSON decode error");
      out.emplace_back(s);
    } else if (item_type == od::json_type::number) {
      if (item.get_uint64().get(id) || id > UINT32_MAX) return wrong_type(field, "a list of token ids");
      append_token_text(ids, uint32_t(id));
    } else if (item_type == od::json_type::array) {
      od::array inner;
      if (item.get_array().get(inner)) return bad("JSON decode error");
      std::string text;
      for (auto token : inner) {
        if (token.get_uint64().get(id) || id > UINT32_MAX) return wrong_type(field, "a list of token ids");
        append_token_text(text, uint32_t(id));
      }
      out.push_back(std::move(text));
    } else {
      return wrong_type(field, "a valid string or list");
    }
  }
  if (!ids.empty()) out.push_back(std::move(ids));
  if (out.empty()) return bad(std::string(field) + ": List should have at least 1 item", std::string(field));
  return std::nullopt;
}

// Chat messages as one input: "role: content\n" each (text parts joined), as the
// sim renders a chat prompt.
std::optional<ApiError> read_messages(od::value v, std::vector<std::string>& out) {
  od::array messages;
  if (v.get_array().get(messages)) return wrong_type("messages", "a valid list");
  std::string text;
  for (auto item : messages) {
    od::object message;
    if (item.get_object().get(message)) return wrong_type("messages", "a list of message objects");
    std::string_view role, content;
    std::string parts;
    for (auto field : message) {
      std::string_view key;
      if (field.unescaped_key().get(key)) return bad("JSON decode error");
      od::value value;
      if (field.value().get(value)) return bad("JSON decode error");
      od::json_type type;
      if (value.type().get(type)) return bad("JSON decode error");
      if (key == "role" && value.get_string().get(role)) return wrong_type("messages.role", "a valid string");
      if (key != "content") continue;
      if (type == od::json_type::string) {
        if (value.get_string().get(content)) return bad("JSON decode error");
      } else if (type == od::json_type::array) {
        od::array list;
        if (value.get_array().get(list)) return bad("JSON decode error");
        for (auto part : list) {
          std::string_view piece;
          if (part["text"].get_string().get(piece) == simdjson::SUCCESS) parts.append(piece);
        }
        content = parts;
      }
    }
    text.append(role).append(": ").append(content).push_back('\n');
  }
  if (text.empty()) return bad("messages: List should have at least 1 item", "messages");
  out.push_back(std::move(text));
  return std::nullopt;
}

// A number in [0, 1) from a text: the same text always scores the same.
double unit_hash(std::string_view text, uint64_t seed) {
  return double(XXH3_64bits_withSeed(text.data(), text.size(), seed) >> 11) * 0x1.0p-53;
}

void append_embedding(std::string& out, std::string_view text) {
  double v[kEmbeddingDims];
  double norm = 0;
  for (size_t i = 0; i < kEmbeddingDims; ++i) {
    v[i] = unit_hash(text, i) * 2 - 1;
    norm += v[i] * v[i];
  }
  norm = std::sqrt(norm);
  out += '[';
  for (size_t i = 0; i < kEmbeddingDims; ++i) {
    if (i) out += ',';
    util::append_json_double(out, norm > 0 ? v[i] / norm : 0);
  }
  out += ']';
}

uint32_t tokens_of(const std::vector<std::string>& texts) {
  uint32_t n = 0;
  for (const std::string& t : texts) n += count_tokens(t);
  return n;
}

void append_usage(std::string& out, uint32_t prompt_tokens) {
  out += "\"usage\":{\"prompt_tokens\":";
  util::append_uint(out, prompt_tokens);
  out += ",\"total_tokens\":";
  util::append_uint(out, prompt_tokens);
  out += ",\"completion_tokens\":0,\"prompt_tokens_details\":null}";
}

const char* id_prefix(PoolingEndpoint endpoint) {
  switch (endpoint) {
    case PoolingEndpoint::embeddings: return "embd-";
    case PoolingEndpoint::pooling: return "pool-";
    case PoolingEndpoint::classify: return "classify-";
    case PoolingEndpoint::score: return "score-";
    case PoolingEndpoint::rerank: return "rerank-";
  }
  return "";
}

}  // namespace

ParsedPooling parse_pooling_request(PoolingEndpoint endpoint, std::string_view body) {
  static od::parser parser;
  const simdjson::padded_string padded(body);
  od::document doc;
  od::object object;
  od::json_type top;
  if (parser.iterate(padded).get(doc) || doc.type().get(top)) return bad("JSON decode error");
  if (top != od::json_type::object) return bad("Input should be a valid dictionary");
  if (doc.get_object().get(object)) return bad("JSON decode error");
  PoolingRequest r;
  r.endpoint = endpoint;
  bool has_1 = false, has_2 = false;
  const bool pairs = endpoint == PoolingEndpoint::score || endpoint == PoolingEndpoint::rerank;
  for (auto field : object) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return bad("JSON decode error");
    od::value v;
    if (field.value().get(v)) return bad("JSON decode error");
    std::optional<ApiError> err;
    if (key == "model") {
      od::json_type t;
      std::string_view model;
      if (v.type().get(t)) return bad("JSON decode error");
      if (t == od::json_type::null) continue;
      if (v.get_string().get(model)) return wrong_type("model", "a valid string");
      r.model.emplace(model);
    } else if (!pairs && key == "input") {
      err = read_texts(v, key, true, r.inputs);
    } else if (!pairs && key == "messages") {
      err = read_messages(v, r.inputs);
    } else if (endpoint == PoolingEndpoint::score && (key == "text_1" || key == "text_2")) {
      err = read_texts(v, key, true, key == "text_1" ? r.texts_1 : r.texts_2);
      (key == "text_1" ? has_1 : has_2) = true;
    } else if (endpoint == PoolingEndpoint::rerank && key == "query") {
      err = read_texts(v, key, false, r.texts_1);
      has_1 = true;
    } else if (endpoint == PoolingEndpoint::rerank && key == "documents") {
      err = read_texts(v, key, true, r.texts_2);
      has_2 = true;
    } else if (endpoint == PoolingEndpoint::rerank && key == "top_n") {
      int64_t n = 0;
      if (v.get_int64().get(n)) return wrong_type("top_n", "a valid integer");
      r.top_n = uint32_t(std::clamp<int64_t>(n, 0, UINT32_MAX));
    }
    if (err) return *err;
  }
  if (!pairs && r.inputs.empty()) return bad("input: Field required", "input");
  const char* first = endpoint == PoolingEndpoint::score ? "text_1" : "query";
  const char* second = endpoint == PoolingEndpoint::score ? "text_2" : "documents";
  if (pairs && !has_1) return bad(std::string(first) + ": Field required", first);
  if (pairs && !has_2) return bad(std::string(second) + ": Field required", second);
  if (endpoint == PoolingEndpoint::score && r.texts_1.size() > 1 && r.texts_1.size() != r.texts_2.size())
    return bad("text_1 and text_2 must have the same number of items, or text_1 only one", "text_1");
  return r;
}

std::string pooling_response(const PoolingRequest& r, std::string_view model, uint64_t created, uint64_t id_random) {
  std::string out = "{\"id\":\"";
  out += id_prefix(r.endpoint);
  util::append_hex(out, id_random);
  out += '"';
  if (r.endpoint == PoolingEndpoint::rerank) {
    out += ",\"model\":";
    util::append_json_string(out, model);
    std::vector<size_t> order(r.texts_2.size());
    std::iota(order.begin(), order.end(), 0);
    std::vector<double> scores;
    for (const std::string& doc : r.texts_2) scores.push_back(unit_hash(r.texts_1.front() + '\n' + doc, 0));
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
    if (r.top_n > 0 && r.top_n < order.size()) order.resize(r.top_n);
    const uint32_t tokens = tokens_of(r.texts_1) * uint32_t(r.texts_2.size()) + tokens_of(r.texts_2);
    out += ",\"usage\":{\"prompt_tokens\":";
    util::append_uint(out, tokens);
    out += ",\"total_tokens\":";
    util::append_uint(out, tokens);
    out += "},\"results\":[";
    for (size_t i = 0; i < order.size(); ++i) {
      if (i) out += ',';
      out += "{\"index\":";
      util::append_uint(out, order[i]);
      out += ",\"document\":{\"text\":";
      util::append_json_string(out, r.texts_2[order[i]]);
      out += ",\"multi_modal\":null},\"relevance_score\":";
      util::append_json_double(out, scores[order[i]]);
      out += '}';
    }
    out += "]}";
    return out;
  }
  out += ",\"object\":\"list\",\"created\":";
  util::append_uint(out, created);
  out += ",\"model\":";
  util::append_json_string(out, model);
  out += ",\"data\":[";
  uint32_t tokens = 0;
  if (r.endpoint == PoolingEndpoint::score) {
    for (size_t i = 0; i < r.texts_2.size(); ++i) {
      const std::string& left = r.texts_1.size() == 1 ? r.texts_1.front() : r.texts_1[i];
      if (i) out += ',';
      out += "{\"index\":";
      util::append_uint(out, i);
      out += ",\"object\":\"score\",\"score\":";
      util::append_json_double(out, unit_hash(left + '\n' + r.texts_2[i], 0));
      out += '}';
      tokens += count_tokens(left) + count_tokens(r.texts_2[i]);
    }
  } else {
    for (size_t i = 0; i < r.inputs.size(); ++i) {
      if (i) out += ',';
      out += "{\"index\":";
      util::append_uint(out, i);
      if (r.endpoint == PoolingEndpoint::classify) {
        const double p = unit_hash(r.inputs[i], 0);
        out += p >= 0.5 ? ",\"label\":\"LABEL_0\",\"probs\":[" : ",\"label\":\"LABEL_1\",\"probs\":[";
        util::append_json_double(out, p);
        out += ',';
        util::append_json_double(out, 1 - p);
        out += "],\"num_classes\":2}";
      } else {
        out += r.endpoint == PoolingEndpoint::embeddings ? ",\"object\":\"embedding\",\"embedding\":"
                                                         : ",\"object\":\"pooling\",\"data\":";
        append_embedding(out, r.inputs[i]);
        out += '}';
      }
    }
    tokens = tokens_of(r.inputs);
  }
  out += "],";
  append_usage(out, tokens);
  out += '}';
  return out;
}

}  // namespace ringgate::sim
