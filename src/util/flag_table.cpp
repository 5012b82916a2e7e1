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
  auto apply = [&](const FlagSpec& spec, std::string_view written, std::string_view value) -> std::optional<FlagError> {
    std::string detail = on_flag(spec, value);
    if (detail.empty()) return std::nullopt;
    return error(FlagErrorKind::BadValue, written, value, std::move(detail));
  };
  auto is_flag = [&](std::string_view a) {
    return a.starts_with("--") || (rules.single_dash && a.size() > 1 && a[0] == '-');
  };
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    // "-name" looks up "--name"; errors name the flag as written.
    std::string long_form;
    if (rules.single_dash && arg.size() > 1 && arg[0] == '-' && arg[1] != '-') long_form = "-" + std::string(arg);
    std::string_view lookup = long_form.empty() ? arg : std::string_view(long_form);
    if (!lookup.starts_with("--")) {
      if (rules.skipped == nullptr) return error(FlagErrorKind::NotAFlag, arg);
      rules.skipped->push_back(error(FlagErrorKind::NotAFlag, arg));
      continue;
    }
    std::string_view written = arg;
    std::string_view name = lookup;
    std::string_view value;
    bool has_inline = false;
    if (const size_t eq = lookup.find('='); eq != std::string_view::npos) {
      name = lookup.substr(0, eq);
      value = lookup.substr(eq + 1);
      written = arg.substr(0, arg.find('='));
      has_inline = true;
    }
    const FlagSpec* spec = find_flag(table, name);
    if (spec == nullptr) {
      if (rules.skipped == nullptr) return error(FlagErrorKind::UnknownFlag, written);
      if (!has_inline && i + 1 < args.size() && !is_flag(args[i + 1])) value = args[++i];
      rules.skipped->push_back(error(FlagErrorKind::UnknownFlag, written, value));
      continue;
    }
    if (spec->value_hint.empty() && spec->boolean) {
      if (!has_inline && i + 1 < args.size() && (args[i + 1] == "true" || args[i + 1] == "false")) value = args[++i];
      if (auto e = apply(*spec, written, value)) return e;
      continue;
    }
    if (spec->value_hint.empty()) {
      if (has_inline) return error(FlagErrorKind::UnexpectedValue, written, value);
      if (auto e = apply(*spec, written, {})) return e;
      continue;
    }
    auto next_is_value = [&] {
      return i + 1 < args.size() &&
             (rules.value_may_start_with_dashes || !std::string_view(args[i + 1]).starts_with("--"));
    };
    if (!has_inline) {
      if (!next_is_value()) return error(FlagErrorKind::MissingValue, written);
      value = args[++i];
    }
    if (auto e = apply(*spec, written, value)) return e;
    while (spec->many_values && i + 1 < args.size() && !std::string_view(args[i + 1]).starts_with("--")) {
      if (auto e = apply(*spec, written, args[++i])) return e;
    }
  }
  return std::nullopt;
}

std::string flag_help(std::span<const FlagSpec> table, size_t column) {
  std::string out;
  for (const FlagSpec& f : table) {
    std::string left = "  " + std::string(f.name);
    if (!f.value_hint.empty()) left += " " + std::string(f.value_hint);
    else if (f.boolean) left += "[=true|false]";
    if (left.size() < column) left.resize(column, ' ');
    else left += "  ";
    out += left + std::string(f.help) + "\n";
  }
  return out;
}

}  // namespace ringgate::util
