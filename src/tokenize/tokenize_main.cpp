// ringgate-tokenize --tokenizer DIR
// Reads JSON lines on stdin and writes one line per input:
//   {"text": "...", "add_special": true|false}        → the token ids as a JSON array
//   {"messages": [...], "add_generation_prompt": bool} → {"text": "<rendered chat>"}
// or {"error": "..."} when that input cannot be done.
#include <simdjson.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "ringgate/tokenize/chat_template.h"
#include "ringgate/tokenize/tokenizer.h"
#include "ringgate/util/json_text.h"

namespace {

}  // namespace

int main(int argc, char** argv) {
  std::string dir;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--tokenizer") == 0 && i + 1 < argc) dir = argv[++i];
  }
  if (dir.empty()) {
    std::fprintf(stderr, "usage: ringgate-tokenize --tokenizer DIR < lines.jsonl\n");
    return 2;
  }
  auto tokenizer = ringgate::tokenize::Tokenizer::load(dir);
  if (!tokenizer) {
    std::fprintf(stderr, "ringgate-tokenize: %s\n", tokenizer.error().message.c_str());
    return 1;
  }
  auto chat = ringgate::tokenize::ChatTemplate::load(dir);
  std::ios::sync_with_stdio(false);
  simdjson::dom::parser parser;
  std::string line;
  std::vector<std::int32_t> ids;
  std::string out;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    simdjson::dom::element doc;
    std::string_view text;
    simdjson::dom::element messages;
    if (!parser.parse(line).get(doc) && !doc["messages"].get(messages)) {
      bool generation = false;
      if (doc["add_generation_prompt"].get(generation)) generation = false;
      out.clear();
      auto rendered = chat ? chat.value().render_messages(messages, generation)
                           : ringgate::util::Result<std::string>(chat.error());
      if (rendered) {
        out += "{\"text\":";
        ringgate::util::append_json_string(out, rendered.value());
      } else {
        out += "{\"error\":";
        ringgate::util::append_json_string(out, rendered.error().message);
      }
      out += "}\n";
      std::cout << out;
      continue;
    }
    if (parser.parse(line).get(doc) || doc["text"].get(text)) {
      std::cout << "{\"error\":\"bad input line\"}\n";
      continue;
    }
    bool add_special = false;
    if (doc["add_special"].get(add_special)) add_special = false;
    ids.clear();
    auto r = tokenizer.value().encode(text, add_special, ids);
    if (!r) {
      std::cout << "{\"error\":\"encode failed\"}\n";
      continue;
    }
    out.clear();
    out.push_back('[');
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (i) out.push_back(',');
      out += std::to_string(ids[i]);
    }
    out += "]\n";
    std::cout << out;
  }
  std::cout.flush();
  return 0;
}
