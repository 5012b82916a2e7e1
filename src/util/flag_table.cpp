#include "ringgate/util/flag_table.h"

namespace ringgate::util {

namespace {

const FlagSpec* find_flag(std::span<const FlagSpec> table, std::string_view name) {
  for (const FlagSpec& f : table)
    if (f.name == name) return &f;
  return nullptr;
}

FlagError error(FlagErrorKind kind, std::string_view flag, std::string_view value = {},
                std::string detail = {}) {
  return FlagError{kind, std::string(flag), std::string(value), std::move(detail)};
}

}  // namespace

std::optional<FlagError> parse_flags(std::span<const std::string> args, std::span<const FlagSpec> table,
                                     const FlagHandler& on_flag, FlagParseRules rules) {
  auto apply = [&](const FlagSpec& spec, std::string_view value) -> std::optional<FlagError> {
    std::string detail = on_flag(spec, value);
    if (detail.empty()) return std::nullopt;
    return error(FlagErrorKind::BadValue, spec.name, value, std::move(detail));
  };
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (!arg.starts_with("--")) return error(FlagErrorKind::NotAFlag, arg);
    std::string_view name = arg;
    std::string_view value;
    bool has_inline = false;
    if (const size_t eq = arg.find('='); eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      has_inline = true;
    }
    const FlagSpec* spec = find_flag(table, name);
    if (spec == nullptr) return error(FlagErrorKind::UnknownFlag, name);
    if (spec->value_hint.empty()) {
      if (has_inline) return error(FlagErrorKind::UnexpectedValue, name, value);
      if (auto e = apply(*spec, {})) return e;
      continue;
    }
    auto next_is_value = [&] {
      return i + 1 < args.size() &&
             (rules.value_may_start_with_dashes || !std::string_view(args[i + 1]).starts_with("--"));
    };
    if (!has_inline) {
      if (!next_is_value()) return error(FlagErrorKind::MissingValue, name);
      value = args[++i];
    }
    if (auto e = apply(*spec, value)) return e;
    while (spec->many_values && i + 1 < args.size() && !std::string_view(args[i + 1]).starts_with("--")) {
      if (auto e = apply(*spec, args[++i])) return e;
    }
  }
  return std::nullopt;
}

std::string flag_help(std::span<const FlagSpec> table, size_t column) {
  std::string out;
  for (const FlagSpec& f : table) {
    std::string left = "  " + std::string(f.name);
    if (!f.value_hint.empty()) left += " " + std::string(f.value_hint);
    if (left.size() < column) left.resize(column, ' ');
    else left += "  ";
    out += left + std::string(f.help) + "\n";
  }
  return out;
}

}  // namespace ringgate::util
