// Writes docs/reference/configuration.md, metrics.md and llm-d-compatibility.md under the source
// directory given: `ninja -C build reference-docs` (a run_target in tests/docs/meson.build).
#include <cstdio>
#include <fstream>
#include <string>

#include "reference_docs.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s SOURCE_DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = std::string(argv[1]) + "/docs/reference/";
  const std::pair<std::string, std::string> pages[] = {
      {"configuration.md", ringgate::docs::configuration_reference()},
      {"metrics.md", ringgate::docs::metrics_reference()},
      {"llm-d-compatibility.md", ringgate::docs::llm_d_compatibility_reference()}};
  for (const auto& [name, text] : pages) {
    std::ofstream out(dir + name, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) {
      std::fprintf(stderr, "cannot write %s%s\n", dir.c_str(), name.c_str());
      return 1;
    }
    std::printf("wrote %s%s\n", dir.c_str(), name.c_str());
  }
  return 0;
}
