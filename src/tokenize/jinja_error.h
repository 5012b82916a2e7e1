#pragma once
// Private (chat templates): how the lexer, parser and renderer give up on a template.
#include <string>
#include <utility>

namespace ringgate::tokenize::jinja {

// Internal to rendering: unwinds a template that fails (raise_exception, a type
// error, a bound) to the API boundary, where it becomes an Error value.
struct TemplateError {
  std::string message;
};

[[noreturn]] inline void fail(std::string message) { throw TemplateError{std::move(message)}; }

}  // namespace ringgate::tokenize::jinja
