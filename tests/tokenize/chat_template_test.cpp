#include "ringgate/tokenize/chat_template.h"

#include <doctest/doctest.h>

#include <string>

using namespace ringgate::tokenize;

namespace {

std::string render(std::string_view source, std::string_view messages = "[]", bool generation = false) {
  auto t = ChatTemplate::parse(source, "<s>", "</s>");
  REQUIRE_MESSAGE(t.ok(), (t.ok() ? "" : t.error().message));
  auto r = t.value().render_json(messages, generation);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
  return r.value();
}

std::string render_error(std::string_view source, std::string_view messages = "[]") {
  auto t = ChatTemplate::parse(source);
  if (!t) return t.error().message;
  auto r = t.value().render_json(messages, false);
  return r ? std::string() : r.error().message;
}

}  // namespace

TEST_CASE("ChatTemplate: loops, loop variables, conditions") {
  const char* msgs = R"([{"role":"user","content":"a"},{"role":"assistant","content":"b"}])";
  CHECK(render("{% for m in messages %}{{ loop.index }}{{ m.role }}{% if loop.first %}F{% elif loop.last %}L{% endif %}{% endfor %}",
               msgs) == "1userF2assistantL");
  CHECK(render("{% for m in messages[::-1] %}{{ m['content'] }}{% endfor %}", msgs) == "ba");
  CHECK(render("{{ messages|length - 1 }}", msgs) == "1");
  CHECK(render("{{ bos_token }}{% if add_generation_prompt %}G{% endif %}", msgs, true) == "<s>G");
  CHECK(render("{{ 'x' if messages[5] is defined else 'y' }}", msgs) == "y");
}

TEST_CASE("ChatTemplate: set is scoped to its loop; a namespace carries out of it") {
  const char* msgs = R"([{"role":"user","content":"a"},{"role":"user","content":"b"}])";
  CHECK(render("{% set x = 0 %}{% for m in messages %}{% set x = x + 1 %}{% endfor %}{{ x }}", msgs) == "0");
  CHECK(render("{% set ns = namespace(n=0) %}{% for m in messages %}{% set ns.n = ns.n + 1 %}{% endfor %}{{ ns.n }}",
               msgs) == "2");
}

TEST_CASE("ChatTemplate: whitespace control as the reference (trim_blocks, lstrip_blocks, '-')") {
  CHECK(render("{% if true %}\nA\n{% endif %}\n") == "A\n");
  CHECK(render("  {% if true %}A{% endif %}") == "A");
  CHECK(render("x  {{- 'y' -}}  z") == "xyz");
  CHECK(render("x {# note -#}  y") == "x y");
}

TEST_CASE("ChatTemplate: strings and filters as the reference renders them") {
  CHECK(render("{{ '  a \\n'|trim }}|{{ '\\nab\\n'.lstrip('\\n') }}|{{ 'a</t>b'.split('</t>')[-1] }}") == "a|ab\n|b");
  // The reference's strip family ignores its argument and strips all whitespace.
  CHECK(render("{{ '\\t x'.lstrip('\\n') }}") == "x");
  CHECK(render("{{ {'a': [1, 'x', none]}|tojson }}") == R"({"a": [1, "x", null]})");
  CHECK(render("{{ 'n=' + 3 }}{{ none }}{{ true }}") == "n=3true");
  CHECK(render("{{ 'c' in 'abc' }}{{ 'z' not in 'abc' }}") == "truetrue");
}

TEST_CASE("ChatTemplate: what the subset cannot do, or the template refuses, is an error value") {
  CHECK(render_error("{{ raise_exception('roles must alternate') }}").find("roles must alternate") != std::string::npos);
  CHECK_FALSE(render_error("{% macro m() %}{% endmacro %}").empty());
  CHECK_FALSE(render_error("{{ x | wordwrap }}").empty());
  CHECK_FALSE(render_error("{% if true %}").empty());
  CHECK_FALSE(render_error("{{ 'a' + none }}").empty());
  CHECK_FALSE(render_error("{{ messages }}", "{not json").empty());
}

TEST_CASE("ChatTemplate: hostile templates and conversations stay bounded") {
  // Deep nesting is refused at parse time instead of exhausting the stack.
  std::string deep;
  for (int i = 0; i < 10'000; ++i) deep += "(";
  CHECK_FALSE(render_error("{{ " + deep + " }}").empty());
  std::string nested_ifs;
  for (int i = 0; i < 1000; ++i) nested_ifs += "{% if true %}";
  CHECK_FALSE(render_error(nested_ifs).empty());
  // A loop that would run forever in output size stops at the bound.
  std::string many = "[";
  for (int i = 0; i < 2000; ++i) many += std::string(i ? "," : "") + "{\"role\":\"user\",\"content\":\"x\"}";
  many += "]";
  CHECK_FALSE(render_error("{% for a in messages %}{% for b in messages %}{% for c in messages %}{{ c.content }}{% endfor %}{% endfor %}{% endfor %}",
                           many).empty());
}

TEST_CASE("ChatTemplate: render() with plain messages, and load() of a model's config") {
  auto t = ChatTemplate::load(std::string(RINGGATE_TEST_MODELS) + "/tokenizer-llama3_1/models");
  REQUIRE_MESSAGE(t.ok(), (t.ok() ? "" : t.error().message));
  auto r = t.value().render({{"user", "  Hi  "}}, true);
  REQUIRE(r.ok());
  CHECK(r.value() ==
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n");
  CHECK_FALSE(ChatTemplate::load("/nonexistent").ok());
}
