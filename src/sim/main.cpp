// ringgate-sim: a vLLM simulator. See src/sim/README.md.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <variant>
#include <vector>

#include "ringgate/sim/model_tokenizer.h"
#include "ringgate/sim/options.h"
#include "ringgate/sim/server_loop.h"

using namespace ringgate::sim;

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  ParsedOptions parsed = parse_options(args);
  if (std::holds_alternative<HelpRequested>(parsed)) {
    std::fputs(options_help().c_str(), stdout);
    return 0;
  }
  if (auto* error = std::get_if<OptionsError>(&parsed)) {
    std::fprintf(stderr, "ringgate-sim: error: %s\n", error->message.c_str());
    return 2;
  }
  SimOptions& options = std::get<SimOptions>(parsed);
  // As vLLM: PYTHONHASHSEED seeds the block hashes' NONE_HASH; unset, it is random.
  if (const char* seed = std::getenv("PYTHONHASHSEED")) options.python_hash_seed = seed;
  else if (options.kv_events.publishing())
    std::fprintf(stderr, "ringgate-sim: warning: PYTHONHASHSEED is not set: block hashes in KV events "
                         "are not reproducible (set it to match a gateway's precise prefix scorer)\n");

  // As vLLM's envs: bool(int(os.getenv("VLLM_ENABLE_RESPONSES_API_STORE", "0"))).
  if (const char* store = std::getenv("VLLM_ENABLE_RESPONSES_API_STORE"); store && std::atoi(store) != 0)
    options.enable_responses_store = true;

  if (!options.tokenizer_dir.empty()) {
    auto tokenizer = ModelTokenizer::load(options.tokenizer_dir);
    if (!tokenizer) {
      std::fprintf(stderr, "ringgate-sim: error: %s\n", tokenizer.error().message.c_str());
      return 2;
    }
    options.tokenizer = std::move(tokenizer.value());
  }

  ServerLoop loop(options);
  if (std::string error = loop.start(); !error.empty()) {
    std::fprintf(stderr, "ringgate-sim: error: %s\n", error.c_str());
    return 1;
  }
  if (options.startup_delay_s > 0) {
    std::fprintf(stderr, "ringgate-sim: starting up: %s bound, refusing connections for %.3g s\n",
                 loop.address().c_str(), options.startup_delay_s);
    if (!loop.wait_until_ready()) {
      std::fprintf(stderr, "ringgate-sim: stopped while starting up\n");
      return 0;
    }
  }
  if (std::string error = loop.begin_listening(); !error.empty()) {
    std::fprintf(stderr, "ringgate-sim: error: %s\n", error.c_str());
    return 1;
  }
  std::fprintf(stderr,
               "ringgate-sim: serving %s (%zu LoRA adapters) on %s: max-num-seqs %u, kv-blocks %u x %u tokens, "
               "mode %s\n",
               options.served_model_names.front().c_str(), options.loras.size(), loop.address().c_str(),
               options.max_num_seqs, options.kv_blocks, options.block_size,
               options.mode == OutputMode::echo ? "echo" : "random");
  if (options.data_parallel_size > 1)
    std::fprintf(stderr, "ringgate-sim: data parallel: %s of %u ranks\n",
                 options.data_parallel_rank ? ("rank " + std::to_string(*options.data_parallel_rank)).c_str() : "all",
                 options.data_parallel_size);
  std::string kv;
  if (const KvEventPublisher* p = loop.kv_events()) {
    kv = ",\"kv_events\":\"" + p->endpoint() + "\"";
    if (!p->replay_endpoint().empty()) kv += ",\"kv_replay\":\"" + p->replay_endpoint() + "\"";
    // Several engines behind this port: every rank's endpoints, rank by rank.
    if (loop.engine_count() > 1) {
      std::string pubs, replays;
      for (size_t i = 0; i < loop.engine_count(); ++i) {
        pubs += std::string(i ? "," : "") + "\"" + loop.kv_events(i)->endpoint() + "\"";
        replays += std::string(i ? "," : "") + "\"" + loop.kv_events(i)->replay_endpoint() + "\"";
      }
      kv += ",\"kv_events_by_rank\":[" + pubs + "]";
      if (!p->replay_endpoint().empty()) kv += ",\"kv_replay_by_rank\":[" + replays + "]";
    }
  }
  std::printf("{\"event\":\"listening\",\"api\":\"%s\"%s}\n", loop.address().c_str(), kv.c_str());
  std::fflush(stdout);
  return loop.run();
}
