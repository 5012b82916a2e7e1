#include "ringgate/openai/hf_prompt_tokenizer.h"

#include <simdjson.h>
#include <sys/stat.h>

#include <algorithm>
#include <mutex>

#include "prompt_source.h"

namespace ringgate::openai {
namespace {

// What identifies a loaded tokenizer: its directory, bound, and both files as they are.
struct FileStamp {
  int64_t size = -1, mtime_ns = 0;
  uint64_t inode = 0;
  bool operator==(const FileStamp&) const = default;
};
struct LoadKey {
  std::string dir;
  std::size_t max_prompt_bytes = 0, token_cache_bytes = 0;
  FileStamp tokenizer, config;
  bool operator==(const LoadKey&) const = default;
};

FileStamp stamp_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  return {int64_t(st.st_size), int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec, uint64_t(st.st_ino)};
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }
bool is_ascii_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

}  // namespace

util::Result<std::shared_ptr<HfPromptTokenizer>> HfPromptTokenizer::load(const std::string& dir,
                                                                         std::size_t max_prompt_bytes,
                                                                         std::size_t token_cache_bytes) {
  auto files = tokenize::ModelFiles::load(dir);
  if (!files) return util::Error{"tokenizer " + files.error().message};
  return std::shared_ptr<HfPromptTokenizer>(
      new HfPromptTokenizer(std::move(files.value()), max_prompt_bytes, token_cache_bytes));
}

util::Result<std::shared_ptr<HfPromptTokenizer>> HfPromptTokenizer::load_shared(const std::string& dir,
                                                                                std::size_t max_prompt_bytes,
                                                                                std::size_t token_cache_bytes) {
  // Entries only point at live tokenizers: at most one per configured directory that
  // some loaded config still holds (dead ones are dropped on every call).
  static std::mutex mutex;
  static std::vector<std::pair<LoadKey, std::weak_ptr<HfPromptTokenizer>>> live;
  LoadKey key{dir, max_prompt_bytes, token_cache_bytes, stamp_of(dir + "/tokenizer.json"),
              stamp_of(dir + "/tokenizer_config.json")};
  std::lock_guard lock(mutex);
  std::erase_if(live, [](const auto& entry) { return entry.second.expired(); });
  for (const auto& [k, weak] : live)
    if (k == key)
      if (auto alive = weak.lock()) return alive;
  auto loaded = load(dir, max_prompt_bytes, token_cache_bytes);
  if (loaded) live.emplace_back(std::move(key), loaded.value());
  return loaded;
}

HfPromptTokenizer::HfPromptTokenizer(tokenize::ModelFiles files, std::size_t max_prompt_bytes,
                                     std::size_t token_cache_bytes)
    : files_(std::move(files)), max_prompt_bytes_(max_prompt_bytes), cache_(token_cache_bytes) {}

std::size_t HfPromptTokenizer::cut_point(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return text.size();
  if (max_bytes == 0) return 0;
  // Only in the second half of the bound: the last good place may lie far back (a chat
  // template's header ends in newlines, and a long message of one line follows it), and
  // cutting there would score the prompt by almost none of its text.
  const std::size_t floor = max_bytes / 2;
  // After a newline that a non-space follows: every supported pre-tokenizer ends a
  // piece there whatever comes next, and no added token spans it.
  for (std::size_t i = text.rfind('\n', max_bytes - 1); i != std::string_view::npos && i + 1 > floor && i > 0;
       i = text.rfind('\n', i - 1)) {
    if (!is_space(text[i + 1])) return i + 1;
  }
  // Before a space between a non-space and a letter (" word" is one piece).
  for (std::size_t i = text.rfind(' ', max_bytes); i != std::string_view::npos && i >= floor && i > 0;
       i = text.rfind(' ', i - 1)) {
    if (i + 1 < text.size() && !is_space(text[i - 1]) && is_ascii_letter(text[i + 1])) return i;
  }
  // No such place: a UTF-8 character boundary (the margin absorbs the difference).
  std::size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return cut;
}

bool HfPromptTokenizer::tokenize(std::string_view region, bool add_special, std::vector<uint32_t>& ids) const {
  thread_local std::vector<std::int32_t> scratch;
  scratch.clear();
  if (!files_.tokenizer.encode(region, add_special, scratch)) return false;
  ids.resize(scratch.size());
  for (std::size_t i = 0; i < scratch.size(); ++i) ids[i] = static_cast<uint32_t>(scratch[i]);
  return true;
}

bool HfPromptTokenizer::encode_text(std::string_view text, bool add_special, std::vector<uint32_t>& ids,
                                    bool counted, TokenProbe* probe) const {
  const std::size_t cut = cut_point(text, max_prompt_bytes_);
  const std::string_view region = text.substr(0, cut);
  const bool truncated = cut < text.size();
  // Ids just before a cut may differ from the whole prompt's (a merge across it).
  const auto drop_margin = [](std::size_t n) { return n > kCutMarginTokens ? n - kCutMarginTokens : 0; };
  if (!cache_.find(region, add_special, ids)) {
    if (probe != nullptr && region.size() > kProbeMinBytes) {
      const std::string_view lead = text.substr(0, cut_point(text, kProbeBytes));
      if (!tokenize(lead, add_special, ids)) {
        count(encode_failed_, counted);
        return false;
      }
      const std::size_t whole = ids.size() * region.size() / std::max<std::size_t>(lead.size(), 1);
      ids.resize(drop_margin(ids.size()));
      if (!probe->wants_more(ids, truncated ? drop_margin(whole) : whole)) {
        count(probed_, counted);
        count(tokenized_, counted);
        return !ids.empty();
      }
    }
    if (!tokenize(region, add_special, ids)) {
      count(encode_failed_, counted);
      return false;
    }
    cache_.insert(region, add_special, ids);  // the region's ids, before the margin below
  }
  if (truncated) {
    ids.resize(drop_margin(ids.size()));
    count(truncated_, counted);
  }
  count(tokenized_, counted);
  return !ids.empty();
}

bool HfPromptTokenizer::encode(TextFields fields, std::string_view body, std::vector<uint32_t>& ids, bool counted,
                               TokenProbe* probe, std::vector<kvevents::MediaPlaceholder>* media) const {
  ids.clear();
  if (media) media->clear();  // a model's chat template renders no placeholder runs of the sim's
  thread_local simdjson::dom::parser parser;
  simdjson::dom::object doc;
  PromptSource prompt;
  if (parser.parse(body.data(), body.size()).get(doc) || !find_prompt(doc, fields, prompt)) {
    count(no_prompt_, counted);
    return false;
  }
  if (!prompt.chat) return encode_text(prompt.text, true, ids, counted, probe);
  if (!files_.chat) {
    count(template_failed_, counted);
    return false;
  }
  auto rendered = files_.chat->render_messages(prompt.messages, true);
  if (!rendered) {
    count(template_failed_, counted);
    return false;
  }
  return encode_text(rendered.value(), false, ids, counted, probe);
}

PromptTokenizerCounts HfPromptTokenizer::counts() const {
  return {tokenized_.load(std::memory_order_relaxed),       truncated_.load(std::memory_order_relaxed),
          probed_.load(std::memory_order_relaxed),          no_prompt_.load(std::memory_order_relaxed),
          template_failed_.load(std::memory_order_relaxed), encode_failed_.load(std::memory_order_relaxed)};
}

}  // namespace ringgate::openai
