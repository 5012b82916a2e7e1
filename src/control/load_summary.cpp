#include "ringgate/control/load_summary.h"

#include <algorithm>
#include <cmath>
#include <fstream>

#include <simdjson.h>

#include "ringgate/util/json_text.h"

namespace ringgate::control {

namespace {

util::Error refuse(std::string why) { return util::Error{"load summary refused: " + std::move(why), 0}; }

// A finite number in [0, hi], or false.
bool read_number(simdjson::ondemand::value v, double hi, double& out) {
  double d = 0;
  if (v.get_double().get(d)) return false;
  if (!std::isfinite(d) || d < 0 || d > hi) return false;
  out = d;
  return true;
}

void append_number(std::string& out, double v) {
  char buf[32];
  const int n = std::snprintf(buf, sizeof buf, "%.6g", std::isfinite(v) ? v : 0.0);
  out.append(buf, size_t(std::max(n, 0)));
}

}  // namespace

util::Result<LoadSummary> parse_load_summary(std::string_view body, const LoadSummaryLimits& limits) {
  if (body.size() > limits.max_bytes) return refuse("larger than " + std::to_string(limits.max_bytes) + " bytes");
  simdjson::ondemand::parser parser;
  simdjson::padded_string json(body);
  simdjson::ondemand::document doc;
  simdjson::ondemand::object root;
  if (parser.iterate(json).get(doc) || doc.get_object().get(root)) return refuse("not a JSON object");
  LoadSummary out;
  bool has_version = false, has_models = false, has_age = false;
  for (auto field : root) {
    std::string_view key;
    simdjson::ondemand::value value;
    if (field.unescaped_key().get(key) || field.value().get(value)) return refuse("not JSON");
    if (key == "version") {
      int64_t v = 0;
      if (value.get_int64().get(v) || v != 1) return refuse("version is not 1");
      has_version = true;
    } else if (key == "draining") {
      if (value.get_bool().get(out.draining)) return refuse("draining is not a bool");
    } else if (key == "ageMs") {
      double age = 0;
      if (!read_number(value, 1e12, age)) return refuse("ageMs is not a number of milliseconds");
      out.age_ms = uint64_t(age);
      has_age = true;
    } else if (key == "waiting" || key == "running" || key == "held") {
      double& target = key == "waiting" ? out.waiting : key == "running" ? out.running : out.held;
      if (!read_number(value, limits.max_count, target))
        return refuse(std::string(key) + " is not a count in 0.." + std::to_string(uint64_t(limits.max_count)));
    } else if (key == "kvUsage") {
      if (!read_number(value, 1.0, out.kv_usage)) return refuse("kvUsage is not in 0..1");
    } else if (key == "saturation") {
      if (!read_number(value, limits.max_count, out.saturation)) return refuse("saturation is not a number");
    } else if (key == "models") {
      simdjson::ondemand::array models;
      if (value.get_array().get(models)) return refuse("models is not an array");
      has_models = true;
      for (auto item : models) {
        if (out.models.size() == limits.max_models)
          return refuse("more than " + std::to_string(limits.max_models) + " models");
        simdjson::ondemand::object model;
        if (item.get_object().get(model)) return refuse("a model is not an object");
        LeafModel m;
        bool has_name = false, has_ready = false;
        for (auto mf : model) {
          std::string_view mkey;
          simdjson::ondemand::value mv;
          if (mf.unescaped_key().get(mkey) || mf.value().get(mv)) return refuse("not JSON");
          if (mkey == "name") {
            std::string_view name;
            if (mv.get_string().get(name) || name.empty()) return refuse("a model's name is not a string");
            if (name.size() > limits.max_name_bytes)
              return refuse("a model's name is longer than " + std::to_string(limits.max_name_bytes) + " bytes");
            m.name.assign(name);
            has_name = true;
          } else if (mkey == "ready") {
            double ready = 0;
            if (!read_number(mv, limits.max_count, ready)) return refuse("a model's ready is not a count");
            m.ready = uint32_t(std::min(ready, 4e9));
            has_ready = true;
          }
        }
        if (!has_name || !has_ready) return refuse("a model lacks name or ready");
        out.models.push_back(std::move(m));
      }
    }
    // Other keys: a newer leaf's, ignored.
  }
  if (!has_version || !has_models || !has_age) return refuse("version, ageMs or models missing");
  if (out.age_ms > limits.max_age_ms)
    return refuse("stale: its figures are " + std::to_string(out.age_ms) + " ms old (more than " +
                  std::to_string(limits.max_age_ms) + ")");
  return out;
}

util::Result<std::string> read_admin_key_file(const std::string& path) {
  constexpr size_t kMaxKeyBytes = 512;
  std::ifstream in(path, std::ios::binary);
  if (!in) return util::Error{"adminKeyFile " + path + " cannot be read", 0};
  std::string text(kMaxKeyBytes + 2, '\0');
  in.read(text.data(), std::streamsize(text.size()));
  text.resize(size_t(in.gcount()));
  text = text.substr(0, text.find_first_of("\r\n"));
  if (text.size() > kMaxKeyBytes) return util::Error{"adminKeyFile " + path + ": a key longer than 512 bytes", 0};
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.pop_back();
  if (text.empty()) return util::Error{"adminKeyFile " + path + " holds no key", 0};
  for (char c : text)
    if (c < 0x21 || c > 0x7e) return util::Error{"adminKeyFile " + path + ": a character a header cannot carry", 0};
  return text;
}

std::string render_load_summary(const LoadSummaryInputs& in) {
  std::string body = "{\"version\":1,\"draining\":";
  body += in.draining ? "true" : "false";
  double waiting = 0, running = 0, kv = 0;
  size_t routable = 0;
  sched::Clock::duration oldest{0};
  if (in.snapshot) {
    for (const sched::EndpointState& e : in.snapshot->endpoints()) {
      if (!e.routable) continue;
      ++routable;
      if (e.has_metrics) {
        waiting += e.metrics.all.waiting;
        running += e.metrics.all.running;
        kv += e.metrics.all.kv_cache_usage;
        oldest = std::max(oldest, in.now - e.scraped_at);
      }
    }
  }
  const auto age_ms = std::chrono::duration_cast<std::chrono::milliseconds>(oldest).count();
  body += ",\"ageMs\":" + std::to_string(std::max<int64_t>(0, age_ms));
  body += ",\"waiting\":";
  append_number(body, waiting);
  body += ",\"running\":";
  append_number(body, running);
  body += ",\"kvUsage\":";
  append_number(body, routable ? std::clamp(kv / double(routable), 0.0, 1.0) : 0.0);
  body += ",\"saturation\":";
  append_number(body, in.saturation);
  body += ",\"held\":";
  append_number(body, in.held);
  body += ",\"models\":[";
  if (in.snapshot) {
    const auto names = in.snapshot->model_names();
    for (size_t i = 0; i < names.size(); ++i) {
      if (i) body += ',';
      body += "{\"name\":";
      util::append_json_string(body, names[i]);
      body += ",\"ready\":" + std::to_string(in.snapshot->endpoints_for(names[i]).routable.size()) + "}";
    }
  }
  body += "]}\n";
  return body;
}

}  // namespace ringgate::control
