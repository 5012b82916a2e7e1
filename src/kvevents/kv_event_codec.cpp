#include <msgpack.hpp>

#include "ringgate/kvevents/kv_event.h"

namespace ringgate::kvevents {
namespace {

using Packer = msgpack::packer<msgpack::sbuffer>;

void pack_hashes(Packer& p, const std::vector<uint64_t>& hashes) {
  p.pack_array(uint32_t(hashes.size()));
  for (uint64_t h : hashes) p.pack_uint64(h);
}

void pack_optional_string(Packer& p, const std::optional<std::string>& s) {
  if (!s) {
    p.pack_nil();
    return;
  }
  p.pack_str(uint32_t(s->size()));
  p.pack_str_body(s->data(), uint32_t(s->size()));
}

void pack_tag(Packer& p, std::string_view tag) {
  p.pack_str(uint32_t(tag.size()));
  p.pack_str_body(tag.data(), uint32_t(tag.size()));
}

struct EventPacker {
  Packer& p;
  void operator()(const BlockStored& e) const {
    // msgspec's omit_defaults leaves trailing nils out: lora_name and extra_keys only when set.
    const bool extra = !e.extra_keys.empty();
    p.pack_array(extra ? 9 : e.lora_name ? 8 : 7);
    pack_tag(p, "BlockStored");
    pack_hashes(p, e.block_hashes);
    if (e.parent_block_hash) p.pack_uint64(*e.parent_block_hash);
    else p.pack_nil();
    p.pack_array(uint32_t(e.token_ids.size()));
    for (uint32_t t : e.token_ids) p.pack_uint32(t);
    p.pack_uint32(e.block_size);
    if (e.lora_id) p.pack_int64(*e.lora_id);
    else p.pack_nil();
    pack_optional_string(p, e.medium);
    if (!extra && !e.lora_name) return;
    pack_optional_string(p, e.lora_name);
    if (!extra) return;
    p.pack_array(uint32_t(e.extra_keys.size()));
    for (const BlockExtraKeys& keys : e.extra_keys) {
      if (keys.empty()) {
        p.pack_nil();
        continue;
      }
      p.pack_array(uint32_t(keys.size()));
      for (const std::string& k : keys) pack_tag(p, k);
    }
  }
  void operator()(const BlockRemoved& e) const {
    p.pack_array(3);
    pack_tag(p, "BlockRemoved");
    pack_hashes(p, e.block_hashes);
    pack_optional_string(p, e.medium);
  }
  void operator()(const AllBlocksCleared&) const {
    p.pack_array(1);
    pack_tag(p, "AllBlocksCleared");
  }
};

// Reading: every step checks the type it needs; a wrong type is a refusal.
using Object = msgpack::object;

bool read_hash(const Object& o, const KvEventLimits& limits, uint64_t& out) {
  switch (o.type) {
    case msgpack::type::POSITIVE_INTEGER:
      out = o.via.u64;
      return true;
    case msgpack::type::NEGATIVE_INTEGER:  // Python hash() values of older releases
      out = uint64_t(o.via.i64);
      return true;
    case msgpack::type::BIN:
    case msgpack::type::STR: {
      const uint32_t n = o.via.bin.size;
      if (n == 0 || n > limits.max_hash_bytes) return false;
      // The low 64 bits of the big-endian number, as maybe_convert_block_hash takes them.
      uint64_t v = 0;
      for (uint32_t i = n > 8 ? n - 8 : 0; i < n; ++i) v = (v << 8) | uint8_t(o.via.bin.ptr[i]);
      out = v;
      return true;
    }
    default:
      return false;
  }
}

std::string read_hashes(const Object& o, const KvEventLimits& limits, std::vector<uint64_t>& out) {
  if (o.type != msgpack::type::ARRAY) return "block_hashes is not an array";
  if (o.via.array.size > limits.max_hashes_per_event) return "too many block hashes in one event";
  out.resize(o.via.array.size);
  for (uint32_t i = 0; i < o.via.array.size; ++i)
    if (!read_hash(o.via.array.ptr[i], limits, out[i])) return "a block hash is not an integer or 1-32 bytes";
  return "";
}

std::string read_optional_string(const Object& o, const KvEventLimits& limits, std::optional<std::string>& out,
                                 std::string_view name = "medium") {
  if (o.type == msgpack::type::NIL) {
    out.reset();
    return "";
  }
  if (o.type != msgpack::type::STR) return std::string(name) + " is not a string";
  if (o.via.str.size > limits.max_string_bytes) return std::string(name) + " is too long";
  out.emplace(o.via.str.ptr, o.via.str.size);
  return "";
}

// One extra key: a string (an identifier, the LoRA name, the cache salt), bytes (a prompt
// embedding's hash), or the [identifier, offset] pair of releases before 0.18.
std::string read_extra_key(const Object& o, const KvEventLimits& limits, std::string& out) {
  const Object* k = &o;
  if (o.type == msgpack::type::ARRAY) {
    if (o.via.array.size != 2 || o.via.array.ptr[1].type != msgpack::type::POSITIVE_INTEGER)
      return "an extra key pair is not [identifier, offset]";
    k = &o.via.array.ptr[0];
  }
  std::string_view key;
  if (k->type == msgpack::type::STR)
    key = {k->via.str.ptr, k->via.str.size};
  else if (k->type == msgpack::type::BIN)
    key = {k->via.bin.ptr, k->via.bin.size};
  else
    return "an extra key is not a string";
  if (key.size() > limits.max_extra_key_bytes) return "an extra key is too long";
  out.assign(key);
  return "";
}

// extra_keys: nil, or one entry per stored block, each nil or a list of keys.
std::string read_extra_keys(const Object& o, size_t blocks, const KvEventLimits& limits,
                            std::vector<BlockExtraKeys>& out) {
  if (o.type == msgpack::type::NIL) return "";
  if (o.type != msgpack::type::ARRAY) return "extra_keys is not an array";
  if (o.via.array.size > blocks) return "more extra_keys entries than block hashes";
  size_t total = 0;
  for (uint32_t i = 0; i < o.via.array.size; ++i) {
    const Object& block = o.via.array.ptr[i];
    if (block.type == msgpack::type::NIL) continue;
    if (block.type != msgpack::type::ARRAY) return "a block's extra keys are not an array";
    if (block.via.array.size > limits.max_extra_keys_per_block) return "too many extra keys for one block";
    total += block.via.array.size;
    if (total > limits.max_extra_keys_per_event) return "too many extra keys in one event";
  }
  out.resize(o.via.array.size);
  for (uint32_t i = 0; i < o.via.array.size; ++i) {
    const Object& block = o.via.array.ptr[i];
    if (block.type == msgpack::type::NIL) continue;
    out[i].resize(block.via.array.size);
    for (uint32_t j = 0; j < block.via.array.size; ++j)
      if (auto err = read_extra_key(block.via.array.ptr[j], limits, out[i][j]); !err.empty()) return err;
  }
  return "";
}

bool read_int(const Object& o, int64_t& out) {
  if (o.type == msgpack::type::POSITIVE_INTEGER) {
    if (o.via.u64 > uint64_t(INT64_MAX)) return false;
    out = int64_t(o.via.u64);
    return true;
  }
  if (o.type == msgpack::type::NEGATIVE_INTEGER) {
    out = o.via.i64;
    return true;
  }
  return false;
}

std::string read_event(const Object& o, const KvEventLimits& limits, KvEvent& out) {
  if (o.type != msgpack::type::ARRAY || o.via.array.size == 0) return "an event is not a tagged array";
  const Object* f = o.via.array.ptr;
  const uint32_t n = o.via.array.size;
  if (f[0].type != msgpack::type::STR) return "an event tag is not a string";
  std::string_view tag(f[0].via.str.ptr, f[0].via.str.size);
  if (tag == "BlockStored") {
    // 6 fields before `medium` existed (vLLM 0.9); later releases append more.
    if (n < 6) return "BlockStored has too few fields";
    BlockStored e;
    if (auto err = read_hashes(f[1], limits, e.block_hashes); !err.empty()) return err;
    if (f[2].type != msgpack::type::NIL) {
      uint64_t parent = 0;
      if (!read_hash(f[2], limits, parent)) return "parent_block_hash is not a hash";
      e.parent_block_hash = parent;
    }
    if (f[3].type != msgpack::type::ARRAY) return "token_ids is not an array";
    if (f[3].via.array.size > limits.max_tokens_per_event) return "too many token ids in one event";
    e.token_ids.resize(f[3].via.array.size);
    for (uint32_t i = 0; i < f[3].via.array.size; ++i) {
      const Object& t = f[3].via.array.ptr[i];
      if (t.type != msgpack::type::POSITIVE_INTEGER || t.via.u64 > UINT32_MAX) return "a token id is not a uint32";
      e.token_ids[i] = uint32_t(t.via.u64);
    }
    if (f[4].type != msgpack::type::POSITIVE_INTEGER || f[4].via.u64 == 0 || f[4].via.u64 > UINT32_MAX)
      return "block_size is not a positive integer";
    e.block_size = uint32_t(f[4].via.u64);
    if (f[5].type != msgpack::type::NIL) {
      int64_t lora = 0;
      if (!read_int(f[5], lora)) return "lora_id is not an integer";
      e.lora_id = lora;
    }
    if (n >= 7)
      if (auto err = read_optional_string(f[6], limits, e.medium); !err.empty()) return err;
    if (n >= 8)
      if (auto err = read_optional_string(f[7], limits, e.lora_name, "lora_name"); !err.empty()) return err;
    if (n >= 9)
      if (auto err = read_extra_keys(f[8], e.block_hashes.size(), limits, e.extra_keys); !err.empty()) return err;
    out = std::move(e);
    return "";
  }
  if (tag == "BlockRemoved") {
    if (n < 2) return "BlockRemoved has too few fields";
    BlockRemoved e;
    if (auto err = read_hashes(f[1], limits, e.block_hashes); !err.empty()) return err;
    if (n >= 3)
      if (auto err = read_optional_string(f[2], limits, e.medium); !err.empty()) return err;
    out = std::move(e);
    return "";
  }
  if (tag == "AllBlocksCleared") {
    out = AllBlocksCleared{};
    return "";
  }
  return "unknown event tag";
}

}  // namespace

std::string encode_kv_event_batch(const KvEventBatch& batch) {
  msgpack::sbuffer buffer;
  Packer p(buffer);
  p.pack_array(batch.data_parallel_rank ? 3 : 2);  // omit_defaults: a None rank is left out
  p.pack_double(batch.ts);
  p.pack_array(uint32_t(batch.events.size()));
  for (const KvEvent& e : batch.events) std::visit(EventPacker{p}, e);
  if (batch.data_parallel_rank) p.pack_int64(*batch.data_parallel_rank);
  return std::string(buffer.data(), buffer.size());
}

std::string decode_kv_event_batch(std::string_view payload, const KvEventLimits& limits, KvEventBatch& out) {
  if (payload.size() > limits.max_payload_bytes) return "payload too large";
  msgpack::object_handle handle;
  try {
    // The limits stop a small hostile payload from declaring huge containers.
    const size_t array_limit = std::max(limits.max_tokens_per_event, limits.max_events);
    // Strings: tags, medium, lora_name, extra keys; bytes: hashes, an extra key (a prompt
    // embedding's hash). Depth 8: batch, events, event, extra_keys, a block's keys, a pair.
    const size_t str_limit = std::max(limits.max_string_bytes, limits.max_extra_key_bytes);
    const size_t bin_limit = std::max(limits.max_hash_bytes, limits.max_extra_key_bytes);
    msgpack::unpack_limit unpack_limit(array_limit, 16, str_limit, bin_limit, 0, 8);
    size_t offset = 0;
    handle = msgpack::unpack(payload.data(), payload.size(), offset, nullptr, nullptr, unpack_limit);
    if (offset != payload.size()) return "trailing bytes after the batch";
  } catch (const std::exception& e) {
    return std::string("not a msgpack value: ") + e.what();
  }
  const Object& root = handle.get();
  if (root.type != msgpack::type::ARRAY || root.via.array.size < 2) return "batch is not an array [ts, events, ...]";
  const Object* f = root.via.array.ptr;
  KvEventBatch batch;
  if (f[0].type == msgpack::type::FLOAT64 || f[0].type == msgpack::type::FLOAT32) batch.ts = f[0].via.f64;
  else if (f[0].type == msgpack::type::POSITIVE_INTEGER) batch.ts = double(f[0].via.u64);
  else if (f[0].type == msgpack::type::NEGATIVE_INTEGER) batch.ts = double(f[0].via.i64);
  else return "ts is not a number";
  if (f[1].type != msgpack::type::ARRAY) return "events is not an array";
  if (f[1].via.array.size > limits.max_events) return "too many events in one batch";
  batch.events.resize(f[1].via.array.size);
  for (uint32_t i = 0; i < f[1].via.array.size; ++i)
    if (auto err = read_event(f[1].via.array.ptr[i], limits, batch.events[i]); !err.empty()) return err;
  if (root.via.array.size >= 3 && f[2].type != msgpack::type::NIL) {
    int64_t rank = 0;
    if (!read_int(f[2], rank)) return "data_parallel_rank is not an integer";
    batch.data_parallel_rank = rank;
  }
  out = std::move(batch);
  return "";
}

}  // namespace ringgate::kvevents
