// ringgate-tokenize --tokenizer DIR
// Reads JSON lines {"text": "...", "add_special": true|false} on stdin and writes one
// line per input: the token ids as a JSON array, or {"error": "..."}.
#include <simdjson.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "ringgate/tokenize/tokenizer.h"

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
  std::ios::sync_with_stdio(false);
  simdjson::dom::parser parser;
  std::string line;
  std::vector<std::int32_t> ids;
  std::string out;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    simdjson::dom::element doc;
    std::string_view text;
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
