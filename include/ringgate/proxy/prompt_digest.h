#pragma once
// What routing needs from a request body, computed while the body arrives: the
// body scanner reads model / stream / prompt text from each new run of bytes and
// the prompt's prefix chain is hashed from that text at once, so at the end of the
// body the decision needs no second pass over it (a 200 KB prompt is read once,
// while it is still in cache from its receive: a large body's pieces land in the
// body itself, see ClientConnection::arm_direct). A body the
// scanner does not understand is read whole by BodyReader afterwards, as before.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "ringgate/openai/body_scanner.h"
#include "ringgate/openai/request_body.h"
#include "ringgate/sched/prefix_hasher.h"

namespace ringgate::proxy {

// How a worker's digests hash: the routers' block size and media weights, and where the
// media parts of the bodies they understand are counted.
struct DigestOptions {
  DigestOptions(size_t block = 64, sched::MediaWeights weights = {}, openai::MediaPartCounters* count = nullptr)
      : block_bytes(block), media(weights), counters(count) {}
  size_t block_bytes;
  sched::MediaWeights media;
  openai::MediaPartCounters* counters;  // the worker's; null: not counted (dry runs, tests)
};

class PromptDigest final : public openai::TextSink {
 public:
  explicit PromptDigest(const DigestOptions& options)
      : chain_(options.block_bytes, sched::kDefaultMaxPrefixBlocks, options.media), counters_(options.counters) {}

  // A new body of a request to `route`, of about `expected_bytes` (its Content-Length,
  // or 0). Only a JSON body is scanned (a form is read whole by BodyReader).
  void begin(const openai::ApiRoute& route, size_t expected_bytes);
  bool begun() const { return begun_; }
  // `body` is the body received so far (it only ever grows): scans what is new.
  void advance(std::string_view body);
  // The whole body of a request to `route` is here (begin() was called with the same
  // route, or not at all): true when the scanner understood it; `fields` then has
  // model, model token and stream, and chain() the prompt's prefix chain.
  bool finish(const openai::ApiRoute& route, std::string_view body, openai::RequestFields& fields);
  std::span<const uint64_t> chain() const { return chain_.entries(); }
  // The prompt's root: the whole blocks up to the end of a chat's first user message
  // (0: not a chat, no user message, or a shorter one). Every turn of a conversation
  // has the same root blocks (sched::PickRequest::root_blocks).
  size_t root_blocks() const { return root_blocks_; }
  // The prompt's bytes (sched::PrefixChain::text_bytes).
  uint64_t prompt_bytes() const { return chain_.text_bytes(); }
  // Between requests: memory a long prompt needed goes back.
  void trim() { chain_.trim(); }

 private:
  void text(const char* data, size_t n) override { chain_.append(data, n); }
  void part_end() override { chain_.end_part(); }
  void media(const openai::MediaRecord& record) override { chain_.media(record.view()); }
  void message_end(bool user) override {
    if (!user || rooted_) return;
    rooted_ = true;
    root_blocks_ = chain_.blocks();  // a root shorter than a block has none: 0
  }

  openai::BodyScanner scanner_;
  sched::PrefixChain chain_;
  openai::MediaPartCounters* counters_;
  size_t scanned_ = 0;
  size_t root_blocks_ = 0;
  bool rooted_ = false;
  bool begun_ = false;
  bool json_ = false;  // the body is JSON: the scanner reads it
};

}  // namespace ringgate::proxy
