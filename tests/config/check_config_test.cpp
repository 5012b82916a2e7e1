#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>

#include "ringgate/config/check_config.h"

using namespace ringgate::config;

namespace {

std::string write_temp(std::string_view text) {
  char path[] = "/tmp/ringgate-check-config-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  REQUIRE(write(fd, text.data(), text.size()) == ssize_t(text.size()));
  close(fd);
  return path;
}

}  // namespace

TEST_CASE("a good file: exit 0 and a one-line summary") {
  std::ostringstream out;
  const std::string path = RINGGATE_SOURCE_DIR "/deploy/examples/ringgate.yaml";
  CHECK(check_config_main(path, out) == 0);
  CHECK(out.str() == path +
                         ": OK: 1 Gateway (pool vllm, 7 static endpoints: 2 prefill, 1 decode, 4 both), "
                         "disaggregation on (nonCachedTokens 512, prefillTimeout 30s), 2 InferenceModelRewrite "
                         "(2 rules, 2 aliases), 0 InferencePool, 1 InferenceObjective\n");
}

TEST_CASE("a bad file: exit 1 and FILE:LINE:COL: message per error") {
  const std::string path = write_temp(
      "apiVersion: ringgate.io/v1\nkind: Gateway\nworkers: -1\n"
      "pool: {discovery: {static: [\"h:1\"]}}\ntimeouts: {drain: 5}\n");
  std::ostringstream out;
  CHECK(check_config_main(path, out) == 1);
  CHECK(out.str() == path + ":3:10: Gateway: workers: value -1 is out of range (0 to 1024)\n" + path +
                         ":5:19: Gateway: timeouts.drain: missing unit in duration \"5\" (expected e.g. \"500ms\", "
                         "\"5s\", \"1m30s\")\n" +
                         path + ": 2 errors\n");
  unlink(path.c_str());
}

TEST_CASE("an unreadable file: exit 1 and why") {
  std::ostringstream out;
  CHECK(check_config_main("/nonexistent/x.yaml", out) == 1);
  CHECK(out.str() == "/nonexistent/x.yaml: cannot open: No such file or directory\n/nonexistent/x.yaml: 1 error\n");
}
