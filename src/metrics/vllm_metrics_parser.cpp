#include "ringgate/metrics/vllm_metrics_parser.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>

namespace ringgate::metrics {
namespace {

// The metrics we read. Anything else is syntax-checked and skipped.
enum class Metric {
  Other,
  Waiting,
  Running,
  KvUsage,
  KvUsageLegacy,
  LoraInfo,
  CacheConfig,
  PrefixQueries,
  PrefixHits,
  PrefixQueriesLegacy,
  PrefixHitsLegacy,
};

Metric classify(std::string_view name) {
  if (name.size() < 5 || name.compare(0, 5, "vllm:") != 0) return Metric::Other;
  name.remove_prefix(5);
  if (name == "num_requests_waiting") return Metric::Waiting;
  if (name == "num_requests_running") return Metric::Running;
  if (name == "kv_cache_usage_perc") return Metric::KvUsage;
  if (name == "gpu_cache_usage_perc") return Metric::KvUsageLegacy;
  if (name == "lora_requests_info") return Metric::LoraInfo;
  if (name == "cache_config_info") return Metric::CacheConfig;
  if (name == "prefix_cache_queries_total" || name == "prefix_cache_queries") return Metric::PrefixQueries;
  if (name == "prefix_cache_hits_total" || name == "prefix_cache_hits") return Metric::PrefixHits;
  if (name == "gpu_prefix_cache_queries_total" || name == "gpu_prefix_cache_queries")
    return Metric::PrefixQueriesLegacy;
  if (name == "gpu_prefix_cache_hits_total" || name == "gpu_prefix_cache_hits") return Metric::PrefixHitsLegacy;
  return Metric::Other;
}

bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':'; }
bool is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }
bool is_blank(char c) { return c == ' ' || c == '\t'; }

bool parse_u64(std::string_view s, uint64_t& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

// Prometheus float: Go ParseFloat syntax incl. NaN, +Inf, -Inf, leading '+'.
bool parse_value(std::string_view s, double& out) {
  if (s.empty()) return false;
  bool negative = false;
  if (s[0] == '+' || s[0] == '-') {
    negative = s[0] == '-';
    s.remove_prefix(1);
    if (s.empty() || s[0] == '+' || s[0] == '-') return false;
  }
  auto lower_eq = [](std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
      if ((a[i] | 0x20) != b[i]) return false;
    return true;
  };
  if (lower_eq(s, "nan")) {
    out = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  if (lower_eq(s, "inf") || lower_eq(s, "infinity")) {
    out = negative ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
    return true;
  }
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (p != s.data() + s.size()) return false;
  if (ec == std::errc::result_out_of_range)
    v = std::numeric_limits<double>::infinity();
  else if (ec != std::errc())
    return false;
  out = negative ? -v : v;
  return true;
}

// The labels we care about for one sample, as raw (still escaped) views.
struct Labels {
  std::string_view model_name, max_lora, running, waiting, block_size, num_gpu_blocks, num_cpu_blocks, engine;
  bool has_engine = false;
  bool model_name_escaped = false, running_escaped = false, waiting_escaped = false;
};

class LineParser {
 public:
  LineParser(std::string_view line, size_t line_no) : s_(line), line_no_(line_no) {}

  ParseResult fail(std::string_view message) const {
    ParseResult r;
    r.ok = false;
    r.error = ParseError{line_no_, pos_ + 1, message};
    return r;
  }
  ParseResult refuse(std::string_view message) const {
    ParseResult r = fail(message);
    r.over_limit = true;
    return r;
  }

  void skip_blanks() {
    while (pos_ < s_.size() && is_blank(s_[pos_])) ++pos_;
  }
  bool at_end() const { return pos_ >= s_.size(); }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }

  bool name(std::string_view& out) {
    size_t start = pos_;
    if (at_end() || !is_name_start(s_[pos_])) return false;
    while (pos_ < s_.size() && is_name_char(s_[pos_])) ++pos_;
    out = s_.substr(start, pos_ - start);
    return true;
  }

  // After the opening quote; out = raw contents, escaped = had a backslash.
  bool quoted(std::string_view& out, bool& escaped) {
    size_t start = pos_;
    escaped = false;
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (c == '"') {
        out = s_.substr(start, pos_ - start);
        ++pos_;
        return true;
      }
      if (c == '\\') {
        escaped = true;
        if (pos_ + 1 >= s_.size()) return false;
        pos_ += 2;
        continue;
      }
      ++pos_;
    }
    return false;
  }

  // Reads up to the next blank; the value or the timestamp token.
  std::string_view token() {
    size_t start = pos_;
    while (pos_ < s_.size() && !is_blank(s_[pos_])) ++pos_;
    return s_.substr(start, pos_ - start);
  }

  size_t pos_ = 0;
  std::string_view s_;
  size_t line_no_;
};

void unescape(std::string_view raw, std::string& out) {
  out.clear();
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '\\' && i + 1 < raw.size()) {
      char n = raw[++i];
      out.push_back(n == 'n' ? '\n' : n);
    } else {
      out.push_back(c);
    }
  }
}

void assign_label(std::string& dst, std::string_view raw, bool escaped) {
  if (escaped)
    unescape(raw, dst);
  else
    dst.assign(raw);
}

// One sample of a prefix-cache counter. Engines of one model add up; the deprecated
// name counts only while the new one is absent (a page serving both would count twice).
void add_prefix_counter(double& sum, CounterSource& source, bool legacy, double value) {
  if (legacy) {
    if (source == CounterSource::Current) return;
    source = CounterSource::Legacy;
  } else {
    if (source == CounterSource::Legacy) sum = 0;
    source = CounterSource::Current;
  }
  sum += value;
}

// One sample of a load gauge or prefix counter into `m` (a model's or an engine's sums).
void accumulate(ModelLoad& m, Metric metric, double value) {
  switch (metric) {
    case Metric::Waiting:
      m.waiting += value;
      m.has_waiting = true;
      break;
    case Metric::Running:
      m.running += value;
      m.has_running = true;
      break;
    case Metric::KvUsage:
      if (!m.has_kv_cache_usage || m.kv_cache_usage_is_legacy) {
        m.kv_cache_usage = value;
      } else {
        m.kv_cache_usage = std::max(m.kv_cache_usage, value);
      }
      m.has_kv_cache_usage = true;
      m.kv_cache_usage_is_legacy = false;
      break;
    case Metric::KvUsageLegacy:
      if (m.has_kv_cache_usage && !m.kv_cache_usage_is_legacy) break;  // new gauge wins
      m.kv_cache_usage = m.has_kv_cache_usage ? std::max(m.kv_cache_usage, value) : value;
      m.has_kv_cache_usage = true;
      m.kv_cache_usage_is_legacy = true;
      break;
    case Metric::PrefixQueries:
    case Metric::PrefixQueriesLegacy:
      add_prefix_counter(m.prefix_cache_queries, m.prefix_queries_source, metric == Metric::PrefixQueriesLegacy, value);
      m.has_prefix_cache = true;
      break;
    case Metric::PrefixHits:
    case Metric::PrefixHitsLegacy:
      add_prefix_counter(m.prefix_cache_hits, m.prefix_hits_source, metric == Metric::PrefixHitsLegacy, value);
      m.has_prefix_cache = true;
      break;
    default:
      break;
  }
}

}  // namespace

std::string ParseResult::describe() const {
  if (ok) return "ok";
  std::string s = "line " + std::to_string(error.line) + ", column " + std::to_string(error.column) + ": ";
  s.append(error.message);
  return s;
}

ParseResult VllmMetricsParser::parse(std::string_view text, VllmMetrics& out) {
  out.clear();
  if (text.size() > limits_.max_page_bytes) {
    ParseResult r;
    r.ok = false;
    r.over_limit = true;
    r.error = ParseError{1, 1, "page larger than the scrape limit"};
    return r;
  }
  // Per-model legacy KV usage is only used when the new gauge is absent; keep
  // it aside per slot via the flag and resolve at the end.
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);

    LineParser p(line, line_no);
    p.skip_blanks();
    if (p.at_end() || p.peek() == '#') continue;  // blank, comment, HELP, TYPE

    std::string_view metric_name;
    if (!p.name(metric_name)) return p.fail("expected a metric name");
    Metric metric = classify(metric_name);

    Labels labels;
    size_t after_name = p.pos_;
    p.skip_blanks();
    bool blank_before_value = p.pos_ > after_name;
    if (p.peek() == '{') {
      ++p.pos_;
      for (size_t label_count = 0;; ++label_count) {
        if (label_count >= limits_.max_labels_per_sample) return p.refuse("too many labels in one sample");
        p.skip_blanks();
        if (p.peek() == '}') {
          ++p.pos_;
          break;
        }
        std::string_view label;
        if (!p.name(label)) return p.fail("expected a label name or '}'");
        p.skip_blanks();
        if (p.peek() != '=') return p.fail("expected '=' after label name");
        ++p.pos_;
        p.skip_blanks();
        if (p.peek() != '"') return p.fail("expected '\"' to open a label value");
        ++p.pos_;
        std::string_view value;
        bool escaped = false;
        if (!p.quoted(value, escaped)) return p.fail("unterminated label value");
        if (metric != Metric::Other) {
          if (value.size() > limits_.max_label_value_bytes) return p.refuse("label value too long");
          if (label == "model_name") {
            labels.model_name = value;
            labels.model_name_escaped = escaped;
          } else if (label == "max_lora")
            labels.max_lora = value;
          else if (label == "running_lora_adapters") {
            labels.running = value;
            labels.running_escaped = escaped;
          } else if (label == "waiting_lora_adapters") {
            labels.waiting = value;
            labels.waiting_escaped = escaped;
          } else if (label == "block_size")
            labels.block_size = value;
          else if (label == "num_gpu_blocks")
            labels.num_gpu_blocks = value;
          else if (label == "num_cpu_blocks")
            labels.num_cpu_blocks = value;
          else if (label == "engine") {
            labels.engine = value;
            labels.has_engine = true;
          }
        }
        p.skip_blanks();
        if (p.peek() == ',') {
          ++p.pos_;
          continue;
        }
        if (p.peek() == '}') {
          ++p.pos_;
          break;
        }
        return p.fail("expected ',' or '}' after label value");
      }
      blank_before_value = is_blank(p.peek());
      p.skip_blanks();
    }
    if (!blank_before_value) return p.fail("expected a blank before the value");
    double value = 0;
    if (!parse_value(p.token(), value)) return p.fail("invalid sample value");
    p.skip_blanks();
    if (!p.at_end()) {
      std::string_view ts = p.token();
      int64_t ignored = 0;
      auto [ptr, ec] = std::from_chars(ts.data(), ts.data() + ts.size(), ignored);
      if (ec != std::errc() || ptr != ts.data() + ts.size()) return p.fail("invalid timestamp");
      p.skip_blanks();
      if (!p.at_end()) return p.fail("unexpected text after the timestamp");
    }
    ++out.samples;
    if (metric == Metric::Other) continue;

    if (metric == Metric::LoraInfo) {
      if (!std::isfinite(value)) return p.refuse("non-finite vllm:lora_requests_info value");
      // Several series may exist (one per adapter-set change): keep the newest.
      if (out.lora.present && !(value > out.lora.updated_at)) continue;
      out.lora.present = true;
      out.lora.updated_at = value;
      uint64_t max_lora = 0;
      out.lora.max_lora = parse_u64(labels.max_lora, max_lora) ? uint32_t(std::min<uint64_t>(max_lora, UINT32_MAX)) : 0;
      assign_label(out.lora.running_adapters, labels.running, labels.running_escaped);
      assign_label(out.lora.waiting_adapters, labels.waiting, labels.waiting_escaped);
      size_t adapters = 0;
      for_each_adapter(out.lora.running_adapters, [&](std::string_view) { ++adapters; });
      for_each_adapter(out.lora.waiting_adapters, [&](std::string_view) { ++adapters; });
      if (adapters > limits_.max_adapters) return p.refuse("too many LoRA adapters in vllm:lora_requests_info");
      continue;
    }
    if (metric == Metric::CacheConfig) {
      out.cache.present = true;
      uint64_t v = 0;
      // Clamped: the prefix index sizes itself from these (2x the blocks of both tiers).
      out.cache.block_size = parse_u64(labels.block_size, v) ? std::min(v, limits_.max_block_size) : 0;
      v = 0;
      out.cache.num_gpu_blocks = parse_u64(labels.num_gpu_blocks, v) ? std::min(v, limits_.max_num_gpu_blocks) : 0;
      v = 0;  // ("None" where no offload tier is configured)
      out.cache.num_cpu_blocks = parse_u64(labels.num_cpu_blocks, v) ? std::min(v, limits_.max_num_cpu_blocks) : 0;
      continue;
    }

    std::string_view model = labels.model_name;
    if (labels.model_name_escaped) {
      unescape(model, label_scratch_);
      model = label_scratch_;
    }
    // A load signal must be a number: NaN or ±Inf would poison every average and
    // score it enters, so the page is refused rather than half-trusted.
    if (!std::isfinite(value)) return p.refuse("non-finite value for a vLLM load gauge");
    if (value < 0) value = 0;  // no negative queue, load or counter
    ModelLoad* slot = out.model_slot(model, limits_.max_models);
    if (slot == nullptr) return p.refuse("too many model_name values on one page");
    accumulate(*slot, metric, value);
    if (labels.has_engine) {
      // vLLM numbers its data-parallel engines; anything else is counted, not trusted.
      uint64_t engine = 0;
      if (parse_u64(labels.engine, engine) && engine < limits_.max_engines)
        accumulate(out.engine_slot(size_t(engine)), metric, value);
      else
        ++out.unreadable_engine_samples;
    }
  }

  // The all-models view.
  ModelLoad& all = out.all;
  for (const ModelLoad& m : out.models()) {
    all.waiting += m.waiting;
    all.running += m.running;
    all.has_waiting |= m.has_waiting;
    all.has_running |= m.has_running;
    if (m.has_kv_cache_usage) {
      all.kv_cache_usage = all.has_kv_cache_usage ? std::max(all.kv_cache_usage, m.kv_cache_usage) : m.kv_cache_usage;
      all.has_kv_cache_usage = true;
      all.kv_cache_usage_is_legacy |= m.kv_cache_usage_is_legacy;
    }
    all.prefix_cache_queries += m.prefix_cache_queries;
    all.prefix_cache_hits += m.prefix_cache_hits;
    all.has_prefix_cache |= m.has_prefix_cache;
  }
  return ParseResult{};
}

}  // namespace ringgate::metrics
