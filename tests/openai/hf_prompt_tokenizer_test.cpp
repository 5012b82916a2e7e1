// The gateway's model tokenizer for precise prefix scoring: the ids vLLM computes
// (completions: prompt + special tokens; chat: template rendered with the generation
// prompt, no added special tokens), the bound on how much is tokenized, and the
// requests it cannot read (counted, left to the approximate index).
#include "ringgate/openai/hf_prompt_tokenizer.h"

#include <doctest/doctest.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <vector>

using ringgate::openai::HfPromptTokenizer;

namespace {

// The fields the bodies below use: a prompt or chat messages.
constexpr ringgate::openai::TextFields kPromptOrChat = ringgate::openai::kPromptField | ringgate::openai::kMessagesField;

const std::string kModels = RINGGATE_TEST_MODELS;
const std::string kQwen3 = kModels + "/tokenizer-qwen3/models";
const std::string kLlama = kModels + "/tokenizer-llama3_1/models";

// A fresh HfPromptTokenizer (its own counts) per call; loading takes ~0.3 s.
std::shared_ptr<HfPromptTokenizer> load(const std::string& dir, size_t max_bytes = 1u << 20) {
  auto r = HfPromptTokenizer::load(dir, max_bytes);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
  return r.value();
}
std::shared_ptr<HfPromptTokenizer> shared(const std::string& dir) {
  static std::map<std::string, std::shared_ptr<HfPromptTokenizer>> loaded;
  auto& t = loaded[dir];
  if (!t) t = load(dir);
  return t;
}

std::vector<uint32_t> ids_of(const HfPromptTokenizer& t, std::string_view body) {
  std::vector<uint32_t> ids;
  REQUIRE(t.encode(kPromptOrChat, body, ids));
  return ids;
}

// What ringgate-tokenize computes for a text / a conversation (the library it runs).
std::vector<uint32_t> reference(const std::string& dir, std::string_view text, bool add_special) {
  static std::map<std::string, ringgate::tokenize::Tokenizer> loaded;  // loading takes ~0.3 s
  auto it = loaded.find(dir);
  if (it == loaded.end()) {
    auto t = ringgate::tokenize::Tokenizer::load(dir);
    REQUIRE(t.ok());
    it = loaded.emplace(dir, t.value()).first;
  }
  std::vector<std::int32_t> ids;
  REQUIRE(it->second.encode(text, add_special, ids).ok());
  return {ids.begin(), ids.end()};
}
std::string rendered(const std::string& dir, std::string_view messages) {
  auto c = ringgate::tokenize::ChatTemplate::load(dir);
  REQUIRE(c.ok());
  auto r = c.value().render_json(messages, true);
  REQUIRE(r.ok());
  return r.value();
}

constexpr std::string_view kMessages =
    R"([{"role":"system","content":"Be brief."},{"role":"user","content":"Hello world"}])";

}  // namespace

TEST_CASE("completions: the prompt with special tokens; chat: the rendered template without") {
  for (const std::string& dir : {kQwen3, kLlama}) {
    CAPTURE(dir);
    auto t = shared(dir);
    CHECK(t->has_chat_template());
    CHECK(ids_of(*t, R"({"model":"m","prompt":"Hello world"})") == reference(dir, "Hello world", true));
    CHECK(ids_of(*t, R"({"prompt":["Hello world","other"]})") == reference(dir, "Hello world", true));
    const std::string body = std::string(R"({"model":"m","messages":)") + std::string(kMessages) + "}";
    CHECK(ids_of(*t, body) == reference(dir, rendered(dir, kMessages), false));
  }
}

TEST_CASE("pinned ids, as ringgate-tokenize prints them") {
  // printf '{"text":"Hello world","add_special":true}\n' | ringgate-tokenize --tokenizer DIR
  CHECK(ids_of(*shared(kLlama), R"({"prompt":"Hello world"})") == std::vector<uint32_t>{128000, 9906, 1917});
  CHECK(ids_of(*shared(kQwen3), R"({"prompt":"Hello world"})") == std::vector<uint32_t>{9707, 1879});
  // The rendered chat, encoded without special tokens: Llama's template writes BOS once.
  const auto chat = ids_of(*shared(kLlama), std::string(R"({"messages":)") + std::string(kMessages) + "}");
  REQUIRE(chat.size() > 2);
  CHECK(chat[0] == 128000);
  CHECK(chat[1] != 128000);
  CHECK(ids_of(*shared(kQwen3), std::string(R"({"messages":)") + std::string(kMessages) + "}") ==
        std::vector<uint32_t>{151644, 8948, 198, 3430, 9814, 13, 151645, 198, 151644, 872, 198, 9707, 1879, 151645, 198, 151644, 77091, 198});
}

TEST_CASE("a long prompt: only the first max bytes, its ids a prefix of the whole prompt's") {
  std::string text;
  for (int i = 0; text.size() < 20000; ++i)
    text += "line " + std::to_string(i) + ": naïve Straße 東京 🙂 tokens   and\tspaces" + (i % 3 ? "\n" : "\n\n  ");
  for (const std::string& dir : {kQwen3, kLlama, kModels + "/tokenizer-gemma3/models",
                                 kModels + "/tokenizer-deepseek_v3/models"}) {
    CAPTURE(dir);
    if (!std::filesystem::exists(dir + "/tokenizer.json")) continue;
    auto t = load(dir, 4096);
    std::string json = "{\"prompt\":\"";
    for (char c : text) json += c == '\n' ? std::string("\\n") : c == '\t' ? std::string("\\t") : std::string(1, c);
    json += "\"}";
    const auto cut = ids_of(*t, json);
    const auto whole = reference(dir, text, true);
    REQUIRE(cut.size() > 100);
    CHECK(cut.size() < whole.size() / 3);
    CHECK(std::equal(cut.begin(), cut.end(), whole.begin()));
    CHECK(t->counts().truncated == 1);
    // One long line after a short header with newlines: cut near the bound (at a word),
    // not after the header, and still a prefix of the whole prompt's ids.
    std::string line = "header\n\n";
    for (int i = 0; line.size() < 20000; ++i) line += "word" + std::to_string(i % 97) + " naïve, ";
    const auto cut_line = ids_of(*t, "{\"prompt\":\"" + std::string("header\\n\\n") + line.substr(8) + "\"}");
    const auto whole_line = reference(dir, line, true);
    CHECK(cut_line.size() > 300);  // ~2 KB of words at least, not the header's few ids
    CHECK(cut_line.size() < whole_line.size() / 3);
    CHECK(std::equal(cut_line.begin(), cut_line.end(), whole_line.begin()));
  }
}

// Answers the tokenizer's question as told, and keeps what it was asked with.
struct ScriptedProbe final : ringgate::openai::TokenProbe {
  explicit ScriptedProbe(bool more) : more(more) {}
  bool wants_more(std::span<const uint32_t> ids, std::size_t whole) override {
    ++asked;
    lead.assign(ids.begin(), ids.end());
    whole_ids = whole;
    return more;
  }
  bool more;
  int asked = 0;
  std::vector<uint32_t> lead;
  std::size_t whole_ids = 0;
};

TEST_CASE("a long prompt not cached: the probe sees its first KiB's ids first, and may stop there") {
  std::string text;
  for (int i = 0; text.size() < 40000; ++i)
    text += "para " + std::to_string(i) + ": naïve Straße 東京 🙂 words   and\tspaces" + (i % 4 ? "\n" : "\n\n");
  const auto prompt_body = [](std::string_view t) {
    std::string json = "{\"prompt\":\"";
    for (char c : t) json += c == '\n' ? std::string("\\n") : c == '\t' ? std::string("\\t") : std::string(1, c);
    return json + "\"}";
  };
  const std::string body = prompt_body(text);
  for (const std::string& dir : {kQwen3, kLlama}) {
    CAPTURE(dir);
    auto t = load(dir, 32768);
    std::vector<uint32_t> full, ids;
    REQUIRE(t->encode(kPromptOrChat, body, full));  // no probe: the whole region, and now cached
    const auto whole = reference(dir, text.substr(0, HfPromptTokenizer::cut_point(text, 32768)), true);

    auto fresh = load(dir, 32768);
    ScriptedProbe stop(false);
    REQUIRE(fresh->encode(kPromptOrChat, body, ids, true, &stop));
    CHECK(stop.asked == 1);
    CHECK(ids == stop.lead);
    // The lead's ids are the whole prompt's first ids, ~4 KiB of them.
    REQUIRE(ids.size() > 400);
    CHECK(ids.size() < whole.size() / 5);
    CHECK(std::equal(ids.begin(), ids.end(), whole.begin()));
    // The estimate of the whole: within a fifth of the ids the region gives.
    CHECK(double(stop.whole_ids) > 0.8 * double(full.size()));
    CHECK(double(stop.whole_ids) < 1.2 * double(full.size()));
    CHECK(fresh->counts().probed == 1);
    CHECK(fresh->counts().tokenized == 1);
    CHECK(fresh->cache_stats().entries == 0);  // nothing of the region was tokenized

    ScriptedProbe more(true);
    REQUIRE(fresh->encode(kPromptOrChat, body, ids, true, &more));
    CHECK(more.asked == 1);
    CHECK(ids == full);
    CHECK(fresh->counts().probed == 1);
    // Cached now: no probe is asked, the ids come from the cache.
    ScriptedProbe unasked(false);
    REQUIRE(fresh->encode(kPromptOrChat, body, ids, true, &unasked));
    CHECK(unasked.asked == 0);
    CHECK(ids == full);
    // A prompt of at most kProbeMinBytes is tokenized whole, unasked.
    REQUIRE(fresh->encode(kPromptOrChat, prompt_body(text.substr(0, 8000)), ids, true, &unasked));
    CHECK(unasked.asked == 0);
    CHECK(ids == reference(dir, text.substr(0, 8000), true));
  }
}

TEST_CASE("token cache: a prompt whose tokenized text was seen before gets the ids tokenizing would give") {
  // Three bodies over an 8 KiB bound: a and b share their first 8 KiB (the cut falls
  // there for both: the next turn of one conversation), c is that text alone (no cut,
  // so all its ids count, where a and b drop the margin before the cut).
  std::string head;
  for (int i = 0; head.size() < 8000; ++i) head += "turn " + std::to_string(i) + ": naïve Straße 東京 🙂 and more words\n";
  const auto body = [](std::string_view text) {
    std::string json = "{\"prompt\":\"";
    for (char c : text) json += c == '\n' ? std::string("\\n") : std::string(1, c);
    return json + "\"}";
  };
  // No cut past the head: no newline, and no " word" (a cut after a newline wins anyway).
  const std::string a = head + "Question one? " + std::string(900, 'x') + "\nthe end";
  const std::string b = head + "Question two. " + std::string(700, 'y');
  REQUIRE(HfPromptTokenizer::cut_point(a, 8192) == head.size());
  REQUIRE(HfPromptTokenizer::cut_point(b, 8192) == head.size());
  const std::string c = a.substr(0, HfPromptTokenizer::cut_point(a, 8192));
  for (const std::string& dir : {kQwen3, kLlama}) {
    CAPTURE(dir);
    // No token cache (0 bytes): what tokenizing gives. One load for all of them: a load is
    // most of this test's time under the sanitizers.
    auto uncached = HfPromptTokenizer::load(dir, 8192, 0);
    REQUIRE(uncached.ok());
    auto fresh = [&](const std::string& text) { return ids_of(*uncached.value(), body(text)); };
    auto t = HfPromptTokenizer::load(dir, 8192);
    REQUIRE(t.ok());
    const auto& cached = *t.value();
    CHECK(ids_of(cached, body(a)) == fresh(a));
    CHECK(cached.cache_stats().misses == 1);
    CHECK(ids_of(cached, body(b)) == fresh(b));
    CHECK(ids_of(cached, body(c)) == fresh(c));
    CHECK(ids_of(cached, body(a)) == fresh(a));
    CHECK(fresh(c).size() == fresh(a).size() + ringgate::openai::kCutMarginTokens);
    const auto s = cached.cache_stats();
    CHECK(s.hits == 3);
    CHECK(s.misses == 1);
    CHECK(s.entries == 1);
    // Chat: the rendered text is the key; the same conversation hits.
    const std::string chat = std::string(R"({"messages":[{"role":"system","content":")") + std::string(5000, 'w') +
                             R"("},{"role":"user","content":"hi"}]})";
    const auto first = ids_of(cached, chat);
    CHECK(ids_of(cached, chat) == first);
    CHECK(cached.cache_stats().hits == 4);
    CHECK(cached.counts().tokenized == 6);
  }
}

TEST_CASE("cut points: after a newline a non-space follows, else before ' word', else a UTF-8 boundary; "
          "never in the first half of the bound") {
  CHECK(HfPromptTokenizer::cut_point("short", 100) == 5);
  CHECK(HfPromptTokenizer::cut_point("abcdef\ncd\n  ef gh", 10) == 7);
  CHECK(HfPromptTokenizer::cut_point("abc def ghi", 9) == 7);
  // The only newline cut (3) and no " word" in the second half: the bound itself.
  CHECK(HfPromptTokenizer::cut_point("ab\ncd\n  ef gh", 9) == 9);
  // A chat header, then one long line: a word boundary near the bound, not the header's end.
  std::string chat = "<|start_header_id|>user<|end_header_id|>\n\nHello";
  for (int i = 0; i < 50; ++i) chat += " word";
  CHECK(HfPromptTokenizer::cut_point(chat, 200) == 197);
  CHECK(HfPromptTokenizer::cut_point("ab\xC3\xA9\xC3\xA9", 3) == 2);
  CHECK(HfPromptTokenizer::cut_point("\n\n\n\n", 2) == 2);
}

TEST_CASE("what the tokenizer cannot read is counted and left to the approximate index") {
  auto t = load(kQwen3);
  std::vector<uint32_t> ids;
  CHECK_FALSE(t->encode(kPromptOrChat, R"({"prompt":[1,2,3]})", ids));  // token ids: no text
  CHECK_FALSE(t->encode(kPromptOrChat, "not json", ids));
  CHECK_FALSE(t->encode(kPromptOrChat, R"({"model":"m"})", ids));
  CHECK(t->counts().no_prompt == 3);
  // A message the template cannot render (content an object: Qwen3's calls a string method on it).
  CHECK_FALSE(t->encode(kPromptOrChat, R"({"messages":[{"role":"user","content":{"a":1}}]})", ids));
  CHECK(t->counts().template_failed == 1);
  CHECK(t->counts().tokenized == 0);

  // A directory with tokenizer.json but no chat template: completions only.
  const auto dir = std::filesystem::temp_directory_path() / "ringgate-hf-no-template";
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(kQwen3 + "/tokenizer.json", dir / "tokenizer.json",
                             std::filesystem::copy_options::overwrite_existing);
  auto bare = load(dir.string());
  CHECK_FALSE(bare->has_chat_template());
  CHECK_FALSE(bare->encode(kPromptOrChat, R"({"messages":[{"role":"user","content":"hi"}]})", ids));
  CHECK(bare->counts().template_failed == 1);
  CHECK(bare->encode(kPromptOrChat, R"({"prompt":"hi"})", ids));
  std::filesystem::remove_all(dir);

  auto missing = HfPromptTokenizer::load("/nonexistent/ringgate-tokenizer", 1024);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message.find("/nonexistent/ringgate-tokenizer") != std::string::npos);
}

TEST_CASE("load_shared: the same live tokenizer while its directory, bound and files are unchanged") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("ringgate-hf-shared-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const char* name : {"tokenizer.json", "tokenizer_config.json"}) fs::copy_file(fs::path(kQwen3) / name, dir / name);
  auto first = HfPromptTokenizer::load_shared(dir.string(), 4096);
  REQUIRE(first);
  auto again = HfPromptTokenizer::load_shared(dir.string(), 4096);
  REQUIRE(again);
  CHECK(again.value() == first.value());
  auto other_bound = HfPromptTokenizer::load_shared(dir.string(), 8192);
  REQUIRE(other_bound);
  CHECK(other_bound.value() != first.value());
  // A changed file is loaded again.
  fs::last_write_time(dir / "tokenizer_config.json",
                      fs::last_write_time(dir / "tokenizer_config.json") + std::chrono::seconds(5));
  auto changed = HfPromptTokenizer::load_shared(dir.string(), 4096);
  REQUIRE(changed);
  CHECK(changed.value() != first.value());
  CHECK(changed.value()->has_chat_template());
  // A directory without tokenizer.json is an error, every time.
  fs::remove(dir / "tokenizer.json");
  CHECK_FALSE(HfPromptTokenizer::load_shared(dir.string(), 4096));
  CHECK_FALSE(HfPromptTokenizer::load_shared(dir.string(), 4096));
  fs::remove_all(dir);
}
