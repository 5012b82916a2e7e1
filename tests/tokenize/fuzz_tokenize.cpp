// libFuzzer target: a tokenizer.json, a chat template and a prompt are all hostile
// input. The first byte picks what the rest is:
//   0: a prompt for Qwen3's tokenizer (ids in range, at most one token per byte of
//      the text it encodes: a malformed byte reads as U+FFFD, three bytes, and NFC can
//      lengthen a text up to 3x in UTF-8 (U+0F78 becomes U+0FB3 U+0F80); and the same
//      ids a second time: the word cache answers as the BPE does)
//   1: a tokenizer.json (load it; if it loads, encode a fixed text)
//   2: a chat template (parse it; if it parses, render a fixed conversation)
// None may crash, hang or read out of bounds; failures are error values.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "ringgate/tokenize/chat_template.h"
#include "ringgate/tokenize/tokenizer.h"
#include "ringgate/tokenize/utf8.h"

using namespace ringgate::tokenize;

namespace {

const Tokenizer& qwen() {
  static const Tokenizer t = [] {
    auto r = Tokenizer::load(std::string(RINGGATE_TEST_MODELS) + "/tokenizer-qwen3/models");
    if (!r) std::abort();
    return r.value();
  }();
  return t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 3) {
    case 0: {
      std::vector<std::int32_t> a, b;
      if (!qwen().encode(rest, false, a)) return 0;
      std::string repaired;
      utf8_repair(rest, repaired);
      if (a.size() > 3 * repaired.size()) std::abort();
      for (std::int32_t id : a) {
        if (id < 0 || id > 200'000) std::abort();
      }
      if (!qwen().encode(rest, false, b) || a != b) std::abort();
      break;
    }
    case 1: {
      auto t = Tokenizer::from_json(rest);
      if (t) {
        std::vector<std::int32_t> ids;
        (void)t.value().encode("Hello world, <|x|> 123 你好 😀", true, ids);
      }
      break;
    }
    case 2: {
      auto t = ChatTemplate::parse(rest, "<s>", "</s>");
      if (t) {
        (void)t.value().render({{"system", "Be brief."}, {"user", " Hi "}, {"assistant", "<think>x</think>y"}}, true);
        (void)t.value().render_json(R"([{"role":"user","content":[{"type":"text","text":"a"}]},{"role":"tool","content":null}])", false);
      }
      break;
    }
  }
  return 0;
}
