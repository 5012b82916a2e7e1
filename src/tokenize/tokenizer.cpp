#include "ringgate/tokenize/tokenizer.h"

#include <simdjson.h>

#include <fstream>
#include <sstream>
#include <unordered_map>

#include "ringgate/tokenize/added_tokens.h"
#include "ringgate/tokenize/bpe_model.h"
#include "ringgate/tokenize/normalizer.h"
#include "ringgate/tokenize/split_regex.h"
#include "ringgate/tokenize/utf8.h"

namespace ringgate::tokenize {

namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;
using util::Error;

// GPT-2's pattern, which a ByteLevel pre-tokenizer with use_regex applies. The
// reference runs it as a native JavaScript regex, where \s is JavaScript's (with
// U+FEFF, without U+0085): spelled out so PCRE2 matches alike.
constexpr std::string_view kJsSpace =
    "\\x{9}-\\x{d}\\x{20}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}"
    "\\x{3000}\\x{feff}";

std::string gpt2_pattern() {
  std::string s(kJsSpace);
  return "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" + s + "\\p{L}\\p{N}]+|[" + s + "]+(?![^" + s +
         "])|[" + s + "]+";
}

struct PreStep {
  SplitRegex regex;
  SplitMode mode = SplitMode::Isolated;
};

struct Scratch {
  std::string repaired;
  std::string normalized;
  std::string normalize_tmp;
  std::vector<Span> spans;
  std::vector<Span> spans_next;
  BpeScratch bpe;
};

Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

std::string_view type_of(element e) {
  std::string_view t;
  if (e["type"].get(t)) return {};
  return t;
}

bool get_bool(element e, const char* key, bool fallback) {
  bool b;
  if (e[key].get(b)) return fallback;
  return b;
}

}  // namespace

struct Tokenizer::Impl {
  Normalizer normalizer;
  std::vector<PreStep> pre_steps;
  BpeModel model;
  TokenTrie unnormalized;  // added tokens matched in the raw text
  TokenTrie normalized;    // added tokens matched in the normalized text
  TokenMap added;          // content (and normalized content) → id
  std::vector<std::int32_t> prefix;  // post-processor, add_special
  std::vector<std::int32_t> suffix;
  bool byte_level = false;

  util::Result<void> parse_normalizer(element e);
  util::Result<void> parse_pre_tokenizer(element e, bool& byte_level);
  util::Result<void> parse_post_processor(element e);
  util::Result<void> encode_section(std::string_view section, Scratch& s, std::vector<std::int32_t>& ids) const;
  util::Result<void> encode_piece(std::string_view buffer, Span piece, Scratch& s,
                                  std::vector<std::int32_t>& ids) const;
};

util::Result<void> Tokenizer::Impl::parse_normalizer(element e) {
  if (e.is_null()) return {};
  normalizer.set_present(true);
  std::string_view type = type_of(e);
  if (type == "Sequence") {
    array list;
    if (e["normalizers"].get(list)) return Error{"normalizer Sequence without normalizers"};
    for (element child : list) {
      auto r = parse_normalizer(child);
      if (!r) return r;
    }
    return {};
  }
  if (type == "NFC") {
    normalizer.add({Normalizer::Kind::Nfc, {}, {}});
    return {};
  }
  if (type == "Replace") {
    std::string_view pattern, content;
    if (e["pattern"]["String"].get(pattern) || e["content"].get(content)) {
      return Error{"normalizer Replace: only a String pattern is supported"};
    }
    normalizer.add({Normalizer::Kind::Replace, std::string(pattern), std::string(content)});
    return {};
  }
  if (type == "Prepend") {
    std::string_view prepend;
    if (e["prepend"].get(prepend)) return Error{"normalizer Prepend without prepend"};
    normalizer.add({Normalizer::Kind::Prepend, {}, std::string(prepend)});
    return {};
  }
  return Error{"normalizer '" + std::string(type) + "' is not supported"};
}

util::Result<void> Tokenizer::Impl::parse_pre_tokenizer(element e, bool& byte_level) {
  if (e.is_null()) return {};
  std::string_view type = type_of(e);
  if (type == "Sequence") {
    array list;
    if (e["pretokenizers"].get(list)) return Error{"pre_tokenizer Sequence without pretokenizers"};
    for (element child : list) {
      auto r = parse_pre_tokenizer(child, byte_level);
      if (!r) return r;
    }
    return {};
  }
  if (type == "Split") {
    std::string_view pattern;
    bool literal = false;
    std::string pcre;
    if (!e["pattern"]["Regex"].get(pattern)) {
      auto rewritten = onig_to_pcre2(pattern);
      if (!rewritten) return rewritten.error();
      pcre = std::move(rewritten.value());
    } else if (!e["pattern"]["String"].get(pattern)) {
      literal = true;
      pcre = std::string(pattern);
    } else {
      return Error{"pre_tokenizer Split without a pattern"};
    }
    auto regex = SplitRegex::compile(pcre, literal);
    if (!regex) return regex.error();
    PreStep step{std::move(regex.value()), SplitMode::Isolated};
    std::string_view behavior;
    if (get_bool(e, "invert", false)) {
      step.mode = SplitMode::Matches;
    } else if (!e["behavior"].get(behavior) && behavior == "Removed" && !literal) {
      step.mode = SplitMode::Removed;
    }
    // Every other behavior splits as Isolated in the reference.
    pre_steps.push_back(std::move(step));
    return {};
  }
  if (type == "ByteLevel") {
    byte_level = true;
    if (get_bool(e, "add_prefix_space", false)) {
      return Error{"pre_tokenizer ByteLevel with add_prefix_space is not supported"};
    }
    if (get_bool(e, "use_regex", true)) {
      auto regex = SplitRegex::compile(gpt2_pattern());
      if (!regex) return regex.error();
      pre_steps.push_back(PreStep{std::move(regex.value()), SplitMode::Matches});
    }
    return {};
  }
  return Error{"pre_tokenizer '" + std::string(type) + "' is not supported"};
}

util::Result<void> Tokenizer::Impl::parse_post_processor(element e) {
  if (e.is_null()) return {};
  std::string_view type = type_of(e);
  if (type == "Sequence") {
    array list;
    if (e["processors"].get(list)) return Error{"post_processor Sequence without processors"};
    for (element child : list) {
      auto r = parse_post_processor(child);
      if (!r) return r;
    }
    return {};
  }
  if (type == "ByteLevel") return {};  // offsets only
  if (type == "TemplateProcessing") {
    array single;
    if (e["single"].get(single)) return Error{"TemplateProcessing without single"};
    bool seen_sequence = false;
    for (element item : single) {
      std::string_view name;
      element sequence;
      if (!item["Sequence"].get(sequence)) {
        seen_sequence = true;
        continue;
      }
      if (item["SpecialToken"]["id"].get(name)) return Error{"TemplateProcessing: unknown item"};
      array token_ids;
      if (e["special_tokens"][name]["ids"].get(token_ids)) {
        return Error{"TemplateProcessing: no ids for " + std::string(name)};
      }
      for (element id : token_ids) {
        int64_t v;
        if (id.get(v) || v < 0 || v > INT32_MAX) return Error{"TemplateProcessing: bad id"};
        (seen_sequence ? suffix : prefix).push_back(static_cast<std::int32_t>(v));
      }
    }
    return {};
  }
  return Error{"post_processor '" + std::string(type) + "' is not supported"};
}

util::Result<Tokenizer> Tokenizer::load(const std::string& dir) {
  std::string path = dir + "/tokenizer.json";
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{"cannot open " + path};
  in.seekg(0, std::ios::end);
  auto size = static_cast<std::size_t>(in.tellg());
  if (size > kMaxTokenizerJsonBytes) return Error{path + " is larger than the bound"};
  in.seekg(0);
  std::string text(size, '\0');
  if (!in.read(text.data(), static_cast<std::streamsize>(size))) return Error{"cannot read " + path};
  auto t = from_json(text);
  if (!t) return Error{path + ": " + t.error().message};
  return t;
}

util::Result<Tokenizer> Tokenizer::from_json(std::string_view json) {
  if (json.size() > kMaxTokenizerJsonBytes) return Error{"tokenizer.json is larger than the bound"};
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  element root;
  if (auto err = parser.parse(padded).get(root)) {
    return Error{std::string("tokenizer.json is not JSON: ") + simdjson::error_message(err)};
  }
  auto impl = std::make_shared<Impl>();

  element model;
  if (root["model"].get(model) || type_of(model) != "BPE") return Error{"only a BPE model is supported"};
  element dropout;
  double dropout_value = 0;
  if (!model["dropout"].get(dropout) && !dropout.is_null() && (dropout.get(dropout_value) || dropout_value != 0)) {
    return Error{"BPE dropout is not supported"};
  }
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    std::string_view v;
    if (!model[key].get(v) && !v.empty()) return Error{std::string("BPE ") + key + " is not supported"};
  }

  element norm;
  if (!root["normalizer"].get(norm)) {
    if (auto r = impl->parse_normalizer(norm); !r) return r.error();
  }
  bool byte_level = false;
  element pre;
  if (!root["pre_tokenizer"].get(pre)) {
    if (auto r = impl->parse_pre_tokenizer(pre, byte_level); !r) return r.error();
  }
  element post;
  if (!root["post_processor"].get(post)) {
    if (auto r = impl->parse_post_processor(post); !r) return r.error();
  }

  BpeModel::Options options;
  options.byte_level = byte_level;
  impl->byte_level = byte_level;
  options.ignore_merges = get_bool(model, "ignore_merges", false);
  options.byte_fallback = get_bool(model, "byte_fallback", false);
  std::string_view unk;
  if (!model["unk_token"].get(unk)) options.unk_token = std::string(unk);

  object vocab_json;
  if (model["vocab"].get(vocab_json)) return Error{"BPE model without vocab"};
  std::vector<std::pair<std::string, std::int32_t>> vocab;
  for (auto [key, value] : vocab_json) {
    int64_t id;
    if (value.get(id) || id < 0 || id > INT32_MAX) return Error{"vocab: bad id"};
    if (key.size() > kMaxTokenBytes) return Error{"vocab: token longer than the bound"};
    if (vocab.size() >= kMaxVocab) return Error{"vocab larger than the bound"};
    vocab.emplace_back(std::string(key), static_cast<std::int32_t>(id));
  }
  array merges_json;
  if (model["merges"].get(merges_json)) return Error{"BPE model without merges"};
  std::vector<std::pair<std::string, std::string>> merges;
  for (element m : merges_json) {
    if (merges.size() >= kMaxMerges) return Error{"merges larger than the bound"};
    std::string_view text;
    array pair;
    if (!m.get(text)) {
      // "a b": the reference takes the two first space-separated parts.
      std::size_t space = text.find(' ');
      if (space == std::string_view::npos) return Error{"merge without a space"};
      std::string_view right = text.substr(space + 1);
      right = right.substr(0, right.find(' '));
      merges.emplace_back(std::string(text.substr(0, space)), std::string(right));
    } else if (!m.get(pair)) {
      std::string_view l, r;
      if (pair.size() != 2 || pair.at(0).get(l) || pair.at(1).get(r)) return Error{"bad merge pair"};
      merges.emplace_back(std::string(l), std::string(r));
    } else {
      return Error{"bad merge"};
    }
  }
  std::string failed = impl->model.build(options, std::move(vocab), merges);
  if (!failed.empty()) return Error{failed};

  array added;
  if (!root["added_tokens"].get(added)) {
    std::string normalized, tmp;
    std::size_t count = 0;
    for (element token : added) {
      if (++count > kMaxAddedTokens) return Error{"added_tokens larger than the bound"};
      int64_t id;
      std::string_view content;
      if (token["id"].get(id) || id < 0 || id > INT32_MAX || token["content"].get(content)) {
        return Error{"added token without id or content"};
      }
      if (content.size() > kMaxTokenBytes) return Error{"added token longer than the bound"};
      if (get_bool(token, "lstrip", false) || get_bool(token, "rstrip", false) ||
          get_bool(token, "single_word", false)) {
        return Error{"added token with lstrip/rstrip/single_word is not supported"};
      }
      bool special = get_bool(token, "special", false);
      bool is_normalized = get_bool(token, "normalized", !special);
      auto token_id = static_cast<std::int32_t>(id);
      impl->model.add_token(content, token_id);
      impl->added.insert_or_assign(std::string(content), token_id);
      if (is_normalized && impl->normalizer.present()) {
        if (auto r = impl->normalizer.apply(content, normalized, tmp); !r) return r.error();
        impl->normalized.insert(normalized, token_id);
        impl->added.insert_or_assign(normalized, token_id);
      } else {
        impl->unnormalized.insert(content, token_id);
      }
    }
  }
  impl->unnormalized.freeze();
  impl->normalized.freeze();

  Tokenizer t;
  t.impl_ = std::move(impl);
  return t;
}

util::Result<void> Tokenizer::Impl::encode_piece(std::string_view buffer, Span piece, Scratch& s,
                                                 std::vector<std::int32_t>& ids) const {
  s.spans.clear();
  s.spans.push_back(piece);
  for (const PreStep& step : pre_steps) {
    s.spans_next.clear();
    for (Span span : s.spans) {
      auto r = step.regex.split(buffer, span, step.mode, s.spans_next);
      if (!r) return r;
    }
    s.spans.swap(s.spans_next);
  }
  for (Span span : s.spans) model.encode_word(buffer.substr(span.begin, span.size), s.bpe, ids);
  return {};
}

util::Result<void> Tokenizer::Impl::encode_section(std::string_view section, Scratch& s,
                                                   std::vector<std::int32_t>& ids) const {
  if (section.empty()) return {};
  if (auto it = added.find(section); it != added.end()) {
    ids.push_back(it->second);
    return {};
  }
  std::string_view text = section;
  if (!normalizer.identity()) {
    if (auto r = normalizer.apply(section, s.normalized, s.normalize_tmp); !r) return r;
    // Spans are 32-bit: a normalizer that grows text (Replace, NFC) must not overflow them.
    if (s.normalized.size() > UINT32_MAX / 2) return Error{"normalized text too long"};
    text = s.normalized;
  }
  std::size_t pos = 0;
  while (pos < text.size()) {
    TokenTrie::Match m = normalized.find(text, pos);
    if (m.begin > pos) {
      std::string_view sub = text.substr(pos, m.begin - pos);
      if (auto it = added.find(sub); it != added.end()) {
        ids.push_back(it->second);
      } else {
        auto r = encode_piece(text, Span{static_cast<std::uint32_t>(pos), static_cast<std::uint32_t>(m.begin - pos)},
                              s, ids);
        if (!r) return r;
      }
    }
    if (m.size == 0) break;
    ids.push_back(m.id);
    pos = m.begin + m.size;
  }
  return {};
}

util::Result<void> Tokenizer::encode(std::string_view text, bool add_special, std::vector<std::int32_t>& ids) const {
  Scratch& s = scratch();
  if (text.size() > UINT32_MAX / 2) return Error{"text too long"};
  if (!utf8_valid(text)) {
    utf8_repair(text, s.repaired);
    text = s.repaired;
  }
  if (add_special) ids.insert(ids.end(), impl_->prefix.begin(), impl_->prefix.end());
  std::size_t pos = 0;
  while (pos < text.size()) {
    TokenTrie::Match m = impl_->unnormalized.find(text, pos);
    if (m.begin > pos) {
      auto r = impl_->encode_section(text.substr(pos, m.begin - pos), s, ids);
      if (!r) return r;
    }
    if (m.size == 0) break;
    ids.push_back(m.id);
    pos = m.begin + m.size;
  }
  if (add_special) ids.insert(ids.end(), impl_->suffix.begin(), impl_->suffix.end());
  return {};
}

std::int32_t Tokenizer::token_id(std::string_view token) const {
  if (auto it = impl_->added.find(token); it != impl_->added.end()) return it->second;
  std::string bytes(token);
  if (impl_->byte_level && !byte_level_decode(token, bytes)) return -1;
  return impl_->model.token_id(bytes);
}

std::size_t Tokenizer::vocab_size() const { return impl_->model.vocab_size(); }

}  // namespace ringgate::tokenize
