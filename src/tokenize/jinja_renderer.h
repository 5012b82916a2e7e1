#pragma once
// Private (chat templates): runs a parsed template over values, appending its text
// to an output string within the bounds of chat_template.h.
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "jinja_ast.h"
#include "jinja_value.h"

namespace ringgate::tokenize::jinja {

class Renderer {
 public:
  explicit Renderer(std::string& out);

  void set_global(const std::string& name, Value v);
  void run(const Body& body);

 private:
  void step();
  Value lookup(const std::string& name) const;
  void exec(const Stmt& s);
  void exec_for(const Stmt& s);
  static std::int64_t as_int(const Value& v, const char* what);
  Value attribute(const Value& obj, const std::string& name);
  Value index(const Value& obj, const Value& key);
  Value slice(const Value& obj, const Expr* a, const Expr* b, const Expr* c);
  Value call_method(const Value& self, const std::string& name, const Expr& call);
  Value call(const Expr& e);
  Value filter(const Expr& e);
  Value test(const Expr& e);
  Value arithmetic(const std::string& op, const Value& l, const Value& r);
  Value eval(const Expr& e);

  std::string& out_;
  std::vector<std::unordered_map<std::string, Value>> scopes_;
  std::size_t steps_ = 0;
};

}  // namespace ringgate::tokenize::jinja
