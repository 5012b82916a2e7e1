#include "ringgate/tokenize/chat_template.h"

#include <simdjson.h>

#include <fstream>
#include <iterator>
#include <new>
#include <utility>

#include "jinja_error.h"
#include "jinja_lexer.h"
#include "jinja_parser.h"
#include "jinja_renderer.h"
#include "jinja_value.h"

namespace ringgate::tokenize {

using util::Error;
using jinja::Array;
using jinja::Body;
using jinja::Parser;
using jinja::Renderer;
using jinja::TemplateError;
using jinja::Value;
using jinja::from_json;
using jinja::lex;

struct ChatTemplate::Impl {
  Body body;
  std::string bos_token;
  std::string eos_token;

  util::Result<std::string> render(const Value& messages, bool add_generation_prompt) const {
    std::string out;
    try {
      Renderer r(out);
      r.set_global("messages", messages);
      r.set_global("add_generation_prompt", Value::boolean(add_generation_prompt));
      r.set_global("bos_token", Value::string(bos_token));
      r.set_global("eos_token", Value::string(eos_token));
      r.run(body);
    } catch (const TemplateError& e) {
      return Error{"chat template: " + e.message};
    } catch (const std::bad_alloc&) {
      return Error{"chat template: out of memory"};
    }
    return out;
  }
};

util::Result<ChatTemplate> ChatTemplate::parse(std::string_view source, std::string bos_token, std::string eos_token) {
  if (source.size() > kMaxTemplateBytes) return Error{"chat template larger than the bound"};
  auto impl = std::make_shared<Impl>();
  try {
    impl->body = Parser(lex(source)).parse_all();
  } catch (const TemplateError& e) {
    return Error{"chat template: " + e.message};
  }
  impl->bos_token = std::move(bos_token);
  impl->eos_token = std::move(eos_token);
  ChatTemplate t;
  t.impl_ = std::move(impl);
  return t;
}

util::Result<ChatTemplate> ChatTemplate::load(const std::string& dir) {
  std::string path = dir + "/tokenizer_config.json";
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{"cannot open " + path};
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.size() > (64u << 20)) return Error{path + " is larger than the bound"};
  // On-demand: tokenizer_config.json files hold numbers beyond 64 bits
  // (model_max_length), which only a lazy parser can step over.
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(text);
  simdjson::ondemand::document doc;
  if (parser.iterate(padded).get(doc)) return Error{path + " is not JSON"};
  std::string source;
  std::string bos_text, eos_text;
  simdjson::ondemand::object root;
  if (doc.get_object().get(root)) return Error{path + " is not a JSON object"};
  for (auto field : root) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return Error{path + " is not JSON"};
    simdjson::ondemand::value value = field.value();
    if (key == "chat_template") {
      std::string_view single;
      simdjson::ondemand::array named;
      if (!value.get_string().get(single)) {
        source = std::string(single);
      } else if (!value.get_array().get(named)) {
        for (auto entry : named) {
          simdjson::ondemand::object o;
          if (entry.get_object().get(o)) continue;
          std::string_view name, tmpl;
          bool is_default = false;
          for (auto f : o) {
            std::string_view k;
            if (f.unescaped_key().get(k)) break;
            if (k == "name" && !f.value().get_string().get(name)) is_default = name == "default";
            else if (k == "template" && !f.value().get_string().get(tmpl)) {}
          }
          if (is_default) source = std::string(tmpl);
        }
      }
    } else if (key == "bos_token" || key == "eos_token") {
      std::string_view t;
      std::string& target = key == "bos_token" ? bos_text : eos_text;
      simdjson::ondemand::object o;
      if (!value.get_string().get(t)) {
        target = std::string(t);
      } else if (!value.get_object().get(o)) {
        for (auto f : o) {
          std::string_view k;
          if (!f.unescaped_key().get(k) && k == "content" && !f.value().get_string().get(t)) target = std::string(t);
        }
      }
    }
  }
  if (source.empty()) return Error{path + " has no chat_template"};
  return parse(source, std::move(bos_text), std::move(eos_text));
}

util::Result<std::string> ChatTemplate::render_json(std::string_view messages_json, bool add_generation_prompt) const {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(messages_json.data(), messages_json.size()).get(root)) return Error{"messages are not JSON"};
  return render_messages(root, add_generation_prompt);
}

util::Result<std::string> ChatTemplate::render_messages(const simdjson::dom::element& messages,
                                                        bool add_generation_prompt) const {
  if (messages.type() != simdjson::dom::element_type::ARRAY) return Error{"messages are not a JSON array"};
  Value list;
  try {
    list = from_json(messages);
  } catch (const TemplateError& e) {
    return Error{e.message};
  }
  return impl_->render(list, add_generation_prompt);
}

util::Result<std::string> ChatTemplate::render(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const {
  Array list;
  for (const ChatMessage& m : messages) {
    list.push_back(Value::object({{"role", Value::string(m.role)}, {"content", Value::string(m.content)}}));
  }
  return impl_->render(Value::array(std::move(list)), add_generation_prompt);
}

}  // namespace ringgate::tokenize
