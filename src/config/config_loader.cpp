#include "ringgate/config/config_loader.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "ringgate/config/gateway_schema.h"

#include "document_readers.h"
#include "yaml_field_reader.h"

namespace ringgate::config {

namespace {

using detail::MapFields;
using detail::position_of;
using detail::YamlFieldReader;

enum class DocumentKind { Gateway, ModelRewrite, InferencePool, InferenceObjective, Unknown };

DocumentKind kind_of(std::string_view kind) {
  if (kind == gateway_kind) return DocumentKind::Gateway;
  if (kind == model_rewrite_kind) return DocumentKind::ModelRewrite;
  if (kind == inference_pool_kind) return DocumentKind::InferencePool;
  if (kind == inference_objective_kind) return DocumentKind::InferenceObjective;
  return DocumentKind::Unknown;
}

bool api_version_fits(DocumentKind kind, std::string_view api_version) {
  switch (kind) {
    case DocumentKind::Gateway:
      return api_version == gateway_api_version;
    case DocumentKind::ModelRewrite:
    case DocumentKind::InferenceObjective:
      return api_version == inference_x_api_version;
    case DocumentKind::InferencePool:
      return api_version == inference_v1_api_version || api_version == inference_x_api_version;
    case DocumentKind::Unknown:
      break;
  }
  return false;
}

std::string expected_api_version(DocumentKind kind) {
  switch (kind) {
    case DocumentKind::Gateway:
      return std::string(gateway_api_version);
    case DocumentKind::ModelRewrite:
    case DocumentKind::InferenceObjective:
      return std::string(inference_x_api_version);
    case DocumentKind::InferencePool:
      return std::string(inference_v1_api_version) + " or " + std::string(inference_x_api_version);
    case DocumentKind::Unknown:
      break;
  }
  return {};
}

std::string position_text(SourcePosition p) { return "line " + std::to_string(p.line); }

// Everything that needs more than one document: one Gateway, one pool, poolRefs that
// name it, and no model matched twice.
class CrossDocumentChecks {
 public:
  CrossDocumentChecks(std::string file, std::vector<ConfigError>& errors, const LoadOptions& options)
      : reader_(std::move(file), errors), options_(options) {}

  void run(const ConfigSet& config, SourcePosition gateway_position) {
    check_pool(config, gateway_position);
    check_rewrites(config);
    check_objectives(config);
  }

 private:
  void check_pool(const ConfigSet& config, SourcePosition gateway_position) {
    if (!config.has_pool && !options_.pool_given_by_flags && config.pools.empty()) {
      SourcePosition at = config.has_gateway_document ? gateway_position : SourcePosition{1, 1};
      reader_.error_at(at, "",
                       std::string(config.has_gateway_document ? "Gateway: " : "") +
                           "missing pool: add `pool: {discovery: {static: [\"host:port\"]}}` (or "
                           "`kubernetes: {service, port}`) to the Gateway document, or give endpoints on the "
                           "command line");
    }
    if (config.has_pool)
      pool_name_ = config.gateway.pool.name;
    else if (options_.pool_given_by_flags)
      pool_name_ = options_.pool_name_from_flags;
    for (size_t i = 0; i < config.pools.size(); ++i) {
      const InferencePool& pool = config.pools[i];
      if (i > 0) {
        reader_.error_at(pool.position, "",
                         "InferencePool " + pool.metadata.name +
                             ": ringgate serves one pool; another "
                             "InferencePool is declared at " +
                             position_text(config.pools[0].position));
        continue;
      }
      if (!pool_name_.empty() && pool.metadata.name != pool_name_) {
        reader_.error_at(
            pool.position, "",
            "InferencePool " + pool.metadata.name + ": name must match the gateway's pool \"" + pool_name_ + "\"");
        continue;
      }
      pool_name_ = pool.metadata.name;
    }
  }

  void check_pool_ref(const std::optional<PoolRef>& ref, const std::string& context) {
    if (!ref || pool_name_.empty() || ref->name == pool_name_) return;
    reader_.error_at(ref->position, "",
                     context + "spec.poolRef.name: unknown pool \"" + ref->name + "\" (this gateway's pool is \"" +
                         pool_name_ + "\")");
  }

  void check_rewrites(const ConfigSet& config) {
    std::map<std::string, SourcePosition, std::less<>> matched;
    std::optional<SourcePosition> catch_all;
    for (const ModelRewrite& rewrite : config.rewrites) {
      std::string context = "InferenceModelRewrite" +
                            (rewrite.metadata.name.empty() ? std::string() : " " + rewrite.metadata.name) + ": ";
      check_pool_ref(rewrite.pool, context);
      for (const RewriteRule& rule : rewrite.rules) {
        if (rule.exact_models.empty()) {
          if (catch_all) {
            reader_.error_at(rule.position, "",
                             context +
                                 "a second catch-all rule (no matches) would never be used; the "
                                 "first is at " +
                                 position_text(*catch_all));
          } else {
            catch_all = rule.position;
          }
        }
        for (const std::string& model : rule.exact_models) {
          auto [it, inserted] = matched.emplace(model, rule.position);
          if (!inserted)
            reader_.error_at(rule.position, "",
                             context + "model \"" + model + "\" is already matched by the rule at " +
                                 position_text(it->second) + " (a model may be matched by one rule only)");
        }
      }
    }
  }

  void check_objectives(const ConfigSet& config) {
    std::map<std::string, SourcePosition, std::less<>> names;
    for (const InferenceObjective& objective : config.objectives) {
      if (objective.metadata.name.empty()) continue;  // already reported as missing
      std::string context = "InferenceObjective " + objective.metadata.name + ": ";
      check_pool_ref(objective.pool, context);
      auto [it, inserted] = names.emplace(objective.metadata.name, objective.position);
      if (!inserted)
        reader_.error_at(objective.position, "",
                         context + "duplicate name (first at " + position_text(it->second) + ")");
    }
  }

  YamlFieldReader reader_;
  const LoadOptions& options_;
  std::string pool_name_;
};

}  // namespace

namespace detail {

// yaml-cpp 0.7's LoadAll loops forever, allocating all the while, on some malformed
// streams: a document whose first token the parser cannot use (a stray ',' for one) is
// reported as a null document without consuming that token, so the next "document"
// starts at the same place (jbeder/yaml-cpp#1040, fixed upstream by #1319, after 0.7).
// A first pass over the parse events catches a document that does not move the parser
// forward, so LoadAll only ever sees streams it can finish.
class DocumentProgressCheck : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override { start = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

  YAML::Mark start;
};

constexpr size_t max_documents = 10'000;

std::optional<std::string> read_config_text(const std::string& path, size_t max_bytes,
                                            std::vector<ConfigError>& errors) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    errors.push_back(ConfigError{path, {}, "cannot read: is a directory"});
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    errors.push_back(ConfigError{path, {}, std::string("cannot open: ") + std::strerror(errno)});
    return std::nullopt;
  }
  std::string text;
  char buffer[65536];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, size_t(in.gcount()));
    if (text.size() > max_bytes) {
      errors.push_back(ConfigError{path, {}, "file is larger than " + std::to_string(max_bytes) + " bytes; not a config"});
      return std::nullopt;
    }
  }
  if (in.bad()) {
    errors.push_back(ConfigError{path, {}, "read error"});
    return std::nullopt;
  }
  return text;
}

std::optional<YAML::Node> load_one_document(std::string_view text, const std::string& file, std::string_view kind,
                                            std::vector<ConfigError>& errors) {
  try {
    if (auto stuck = find_stuck_document(text, file)) {
      errors.push_back(std::move(*stuck));
      return std::nullopt;
    }
    std::vector<YAML::Node> documents = YAML::LoadAll(std::string(text));
    std::optional<YAML::Node> root;
    size_t count = 0;
    for (const YAML::Node& d : documents) {
      if (d.IsNull()) continue;
      if (++count == 1) root = d;
    }
    if (count == 1) return root;
    errors.push_back(ConfigError{file, {1, 1}, std::string(kind) + (count == 0 ? ": the file is empty" : ": expected one document")});
  } catch (const YAML::Exception& e) {
    SourcePosition at;
    if (!e.mark.is_null()) at = {e.mark.line + 1, e.mark.column + 1};
    errors.push_back(ConfigError{file, at, "invalid YAML: " + e.msg});
  }
  return std::nullopt;
}

std::optional<ConfigError> find_stuck_document(std::string_view text, const std::string& file) {
  std::istringstream in{std::string(text)};
  YAML::Parser parser(in);
  DocumentProgressCheck check;
  std::optional<int> previous_start;
  for (size_t documents = 0; parser.HandleNextDocument(check); ++documents) {
    if (previous_start && *previous_start == check.start.pos) {
      std::string what = "invalid YAML: a document cannot start here";
      if (check.start.pos >= 0 && size_t(check.start.pos) < text.size() &&
          std::isprint(static_cast<unsigned char>(text[size_t(check.start.pos)])))
        what = std::string("invalid YAML: unexpected '") + text[size_t(check.start.pos)] + "'";
      return ConfigError{file, {check.start.line + 1, check.start.column + 1}, what};
    }
    if (documents == max_documents)
      return ConfigError{file,
                         {check.start.line + 1, check.start.column + 1},
                         "more than " + std::to_string(max_documents) + " documents; not a config"};
    previous_start = check.start.pos;
  }
  return std::nullopt;
}

}  // namespace detail

LoadResult load_config_text(std::string_view text, std::string_view file_name, const LoadOptions& options) {
  LoadResult result;
  const std::string file(file_name);
  std::vector<ConfigError>& errors = result.errors;
  ConfigSet& config = result.config;

  std::vector<YAML::Node> documents;
  try {
    if (auto stuck = detail::find_stuck_document(text, file)) {
      errors.push_back(std::move(*stuck));
      return result;
    }
    documents = YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& e) {
    SourcePosition at;
    if (!e.mark.is_null()) at = {e.mark.line + 1, e.mark.column + 1};
    errors.push_back(ConfigError{file, at, "invalid YAML: " + e.msg});
    return result;
  } catch (const std::exception& e) {
    errors.push_back(ConfigError{file, {}, std::string("invalid YAML: ") + e.what()});
    return result;
  }

  SourcePosition gateway_position;
  size_t non_empty = 0;
  try {
    for (size_t i = 0; i < documents.size(); ++i) {
      const YAML::Node& doc = documents[i];
      if (doc.IsNull()) continue;  // a stray `---`
      ++non_empty;
      YamlFieldReader reader(file, errors);
      const std::string number = "document " + std::to_string(i + 1) + ": ";
      if (!doc.IsMap()) {
        reader.error(doc, "", number + "expected a map with apiVersion and kind");
        continue;
      }
      const YAML::Node kind_node = doc["kind"];
      const YAML::Node version_node = doc["apiVersion"];
      if (!kind_node.IsDefined()) {
        reader.error(doc, "",
                     number +
                         "missing required field 'kind' (Gateway, InferenceModelRewrite, "
                         "InferencePool or InferenceObjective)");
        continue;
      }
      if (!kind_node.IsScalar()) {
        reader.error(kind_node, "kind", "expected a string");
        continue;
      }
      const std::string kind_name = kind_node.Scalar();
      const DocumentKind kind = kind_of(kind_name);
      if (kind == DocumentKind::Unknown) {
        reader.error(kind_node, "kind",
                     "unknown kind \"" + kind_name +
                         "\" (expected Gateway, InferenceModelRewrite, InferencePool or InferenceObjective)");
        continue;
      }
      std::string api_version;
      if (!version_node.IsDefined()) {
        reader.error(doc, "", kind_name + ": missing required field 'apiVersion' (" + expected_api_version(kind) + ")");
      } else if (!version_node.IsScalar() || !api_version_fits(kind, version_node.Scalar())) {
        std::string got = version_node.IsScalar() ? "\"" + version_node.Scalar() + "\"" : "a non-string";
        reader.error(version_node, "apiVersion",
                     kind_name + " needs apiVersion " + expected_api_version(kind) + ", got " + got);
      } else {
        api_version = version_node.Scalar();
      }

      // Errors inside a GAIE document name it, so two rewrites can be told apart.
      std::string context = kind_name;
      if (kind != DocumentKind::Gateway) {
        // A missing key on a const node is an "invalid" node: test IsDefined first.
        const YAML::Node meta = doc["metadata"];
        if (meta.IsDefined() && meta.IsMap()) {
          const YAML::Node name = meta["name"];
          if (name.IsDefined() && name.IsScalar()) context += " " + name.Scalar();
        }
      }
      reader.set_context(context + ": ");

      const size_t allowed_before = reader.keys_allowed().size();
      switch (kind) {
        case DocumentKind::Gateway: {
          auto fields = reader.read_map(doc, "", gateway_schema::kRoot);
          if (!fields) break;
          if (config.has_gateway_document) {
            reader.error(kind_node, "",
                         "a second Gateway document; the first is at line " + std::to_string(gateway_position.line));
            break;
          }
          detail::GatewayDocument gateway = detail::read_gateway_document(reader, *fields);
          result.gateway_keys_allowed = reader.keys_allowed();
          config.gateway = std::move(gateway.config);
          config.has_pool = gateway.has_pool;
          config.has_gateway_document = true;
          gateway_position = position_of(doc);
          break;
        }
        case DocumentKind::ModelRewrite: {
          auto fields = reader.read_map(doc, "", {"apiVersion", "kind", "metadata", "spec", "status"});
          if (!fields) break;
          if (auto rewrite = detail::read_model_rewrite(reader, *fields))
            config.rewrites.push_back(std::move(*rewrite));
          break;
        }
        case DocumentKind::InferencePool: {
          auto fields = reader.read_map(doc, "", {"apiVersion", "kind", "metadata", "spec", "status"});
          if (!fields || api_version.empty()) break;  // the schema depends on the version
          if (auto pool = detail::read_inference_pool(reader, *fields, api_version))
            config.pools.push_back(std::move(*pool));
          break;
        }
        case DocumentKind::InferenceObjective: {
          auto fields = reader.read_map(doc, "", {"apiVersion", "kind", "metadata", "spec", "status"});
          if (!fields) break;
          if (auto objective = detail::read_inference_objective(reader, *fields))
            config.objectives.push_back(std::move(*objective));
          break;
        }
        case DocumentKind::Unknown:
          break;
      }
      std::set<std::string>& allowed = result.keys_allowed_by_kind[kind_name];
      for (size_t k = allowed_before; k < reader.keys_allowed().size(); ++k) allowed.insert(reader.keys_allowed()[k]);
    }
  } catch (const std::exception& e) {
    // yaml-cpp accessors should not throw on the paths used above; if one does,
    // report it rather than let it escape.
    errors.push_back(ConfigError{file, {}, std::string("internal error while reading the config: ") + e.what()});
  }

  if (non_empty == 0) {
    errors.push_back(ConfigError{file, {1, 1}, "the file has no documents (expected at least a Gateway)"});
  } else {
    CrossDocumentChecks(file, errors, options).run(config, gateway_position);
  }
  sort_by_position(errors);
  return result;
}

LoadResult load_config_file(const std::string& path, const LoadOptions& options) {
  LoadResult result;
  std::optional<std::string> text = detail::read_config_text(path, max_config_file_bytes, result.errors);
  if (!text) return result;
  return load_config_text(*text, path, options);
}

}  // namespace ringgate::config
