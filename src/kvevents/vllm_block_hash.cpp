#include "ringgate/kvevents/vllm_block_hash.h"

#include <openssl/sha.h>

#include "ringgate/kvevents/cbor_writer.h"

namespace ringgate::kvevents {
namespace {

BlockDigest sha256_of(const std::string& data) {
  BlockDigest d;
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), d.data());
  return d;
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
  CborWriter w;
  w.array_header(3);  // (parent_block_hash, curr_block_token_ids_tuple, extra_keys)
  w.bytes(parent ? std::span<const uint8_t>(*parent) : std::span<const uint8_t>(none_hash_));
  w.array_header(tokens.size());
  for (uint32_t t : tokens) w.unsigned_int(t);
  if (lora_name.empty()) {
    w.null();
  } else {
    w.array_header(1);
    w.text(lora_name);
  }
  return sha256_of(w.data());
}

void VllmBlockHasher::hash_prompt(std::span<const uint32_t> tokens, uint32_t block_size, std::string_view lora_name,
                                  std::vector<uint64_t>& out, size_t max_blocks) const {
  if (block_size == 0) return;
  BlockDigest parent{};
  bool first = true;
  for (size_t off = 0, n = 0; off + block_size <= tokens.size() && n < max_blocks; off += block_size, ++n) {
    BlockDigest d = hash_block(first ? nullptr : &parent, tokens.subspan(off, block_size), lora_name);
    out.push_back(external_block_hash(d));
    parent = d;
    first = false;
  }
}

}  // namespace ringgate::kvevents
