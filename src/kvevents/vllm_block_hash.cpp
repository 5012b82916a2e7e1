#include "ringgate/kvevents/vllm_block_hash.h"

#include <openssl/evp.h>

#include <cstdlib>

#include "ringgate/kvevents/cbor_writer.h"

namespace ringgate::kvevents {
namespace {

// SHA-256 through one EVP context per thread, set up once. OpenSSL 3's one-shot
// SHA256() fetches the algorithm on every call (a read lock on the provider store and
// a reference count taken and dropped): with ~1000 blocks in a 64 KiB prompt that was
// a fifth of precise mode's CPU.
class Sha256 {
 public:
  Sha256() : md_(EVP_MD_fetch(nullptr, "SHA256", nullptr)), ctx_(EVP_MD_CTX_new()) {
    if (md_ == nullptr || ctx_ == nullptr) std::abort();  // no SHA-256 in libcrypto: nothing works
  }
  ~Sha256() {
    EVP_MD_CTX_free(ctx_);
    EVP_MD_free(md_);
  }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  BlockDigest digest(std::string_view data) {
    BlockDigest d;
    unsigned int length = 0;
    if (EVP_DigestInit_ex2(ctx_, md_, nullptr) != 1 || EVP_DigestUpdate(ctx_, data.data(), data.size()) != 1 ||
        EVP_DigestFinal_ex(ctx_, d.data(), &length) != 1 || length != d.size())
      std::abort();  // cannot fail for SHA-256 over memory
    return d;
  }

 private:
  EVP_MD* md_;
  EVP_MD_CTX* ctx_;
};

BlockDigest sha256_of(std::string_view data) {
  thread_local Sha256 sha;
  return sha.digest(data);
}

}  // namespace

uint64_t external_block_hash(const BlockDigest& digest) {
  uint64_t v = 0;
  for (size_t i = digest.size() - 8; i < digest.size(); ++i) v = (v << 8) | digest[i];
  return v;
}

VllmBlockHasher::VllmBlockHasher(std::string_view python_hash_seed) {
  CborWriter w;
  w.text(python_hash_seed);  // os.getenv returns a str: hashed as CBOR text
  none_hash_ = sha256_of(w.data());
}

BlockDigest VllmBlockHasher::hash_block(const BlockDigest* parent, std::span<const uint32_t> tokens,
                                        std::string_view lora_name) const {
  if (lora_name.empty()) return hash_block(parent, tokens, std::span<const std::string_view>());
  return hash_block(parent, tokens, std::span<const std::string_view>(&lora_name, 1));
}

BlockDigest VllmBlockHasher::hash_block(const BlockDigest* parent, std::span<const uint32_t> tokens,
                                        std::span<const std::string_view> extra_keys) const {
  thread_local CborWriter w;  // its buffer reused: one block is ~20-100 bytes
  w.clear();
  w.array_header(3);  // (parent_block_hash, curr_block_token_ids_tuple, extra_keys)
  w.bytes(parent ? std::span<const uint8_t>(*parent) : std::span<const uint8_t>(none_hash_));
  w.array_header(tokens.size());
  for (uint32_t t : tokens) w.unsigned_int(t);
  if (extra_keys.empty()) {
    w.null();
  } else {
    w.array_header(extra_keys.size());
    for (std::string_view k : extra_keys) w.text(k);
  }
  return sha256_of(w.data());
}

void VllmBlockHasher::hash_prompt(std::span<const uint32_t> tokens, uint32_t block_size, std::string_view lora_name,
                                  std::vector<uint64_t>& out, size_t max_blocks) const {
  hash_prompt(tokens, block_size, lora_name, {}, out, max_blocks);
}

void VllmBlockHasher::hash_prompt(std::span<const uint32_t> tokens, uint32_t block_size, std::string_view lora_name,
                                  std::span<const MediaPlaceholder> media, std::vector<uint64_t>& out,
                                  size_t max_blocks, std::vector<BlockExtraKeys>* keys) const {
  if (block_size == 0) return;
  thread_local std::vector<std::string_view> extra;
  BlockDigest parent{};
  bool first = true;
  size_t next_media = 0;
  for (size_t off = 0, n = 0; off + block_size <= tokens.size() && n < max_blocks; off += block_size, ++n) {
    block_extra_keys(off, off + block_size, lora_name, media, next_media, extra);
    BlockDigest d = hash_block(first ? nullptr : &parent, tokens.subspan(off, block_size), extra);
    out.push_back(external_block_hash(d));
    if (keys != nullptr) keys->emplace_back(extra.begin(), extra.end());
    parent = d;
    first = false;
  }
}

}  // namespace ringgate::kvevents
