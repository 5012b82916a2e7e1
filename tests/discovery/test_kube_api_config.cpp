// API URL parsing, in-cluster configuration, request paths.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "ringgate/discovery/endpointslice_paths.h"
#include "ringgate/discovery/kube_api_config.h"

using namespace ringgate::discovery;

TEST_CASE("API URLs") {
  auto plain = api_url_config("http://127.0.0.1:8001");
  REQUIRE(plain.ok());
  CHECK_FALSE(plain.value().tls);
  CHECK(plain.value().host == "127.0.0.1");
  CHECK(plain.value().port == 8001);
  CHECK(host_header(plain.value()) == "127.0.0.1:8001");

  auto v6 = api_url_config("https://[::1]:6443/");
  REQUIRE(v6.ok());
  CHECK(v6.value().tls);
  CHECK(v6.value().host == "::1");
  CHECK(host_header(v6.value()) == "[::1]:6443");

  CHECK(api_url_config("http://localhost").value().port == 80);
  CHECK_FALSE(api_url_config("ftp://x:1").ok());
  CHECK_FALSE(api_url_config("http://x:0").ok());
  CHECK_FALSE(api_url_config("http://x:99999").ok());
  CHECK_FALSE(api_url_config("http://x:80/api").ok());
  CHECK_FALSE(api_url_config("http://:80").ok());
  CHECK_FALSE(api_url_config("http://[::1").ok());
}

TEST_CASE("in-cluster configuration from env and a service-account dir") {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("rg-sa-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "token") << "abc.def\n";
  std::ofstream(dir / "ca.crt") << "-----BEGIN CERTIFICATE-----\n";
  std::ofstream(dir / "namespace") << "llm";

  ::unsetenv("KUBERNETES_SERVICE_HOST");
  ::unsetenv("KUBERNETES_SERVICE_PORT");
  auto outside = in_cluster_config(dir.string());
  REQUIRE_FALSE(outside.ok());
  CHECK(outside.error().message.find("KUBERNETES_SERVICE_HOST") != std::string::npos);

  ::setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
  ::setenv("KUBERNETES_SERVICE_PORT", "443", 1);
  auto inside = in_cluster_config(dir.string());
  REQUIRE(inside.ok());
  CHECK(inside.value().tls);
  CHECK(inside.value().host == "10.96.0.1");
  CHECK(inside.value().port == 443);
  CHECK(inside.value().namespace_name == "llm");
  CHECK(inside.value().token_file == (dir / "token").string());

  ::setenv("RINGGATE_SA_DIR", dir.string().c_str(), 1);
  CHECK(in_cluster_config().ok());
  ::unsetenv("RINGGATE_SA_DIR");

  ::setenv("KUBERNETES_SERVICE_PORT", "https", 1);
  CHECK_FALSE(in_cluster_config(dir.string()).ok());
  ::setenv("KUBERNETES_SERVICE_PORT", "443", 1);

  fs::remove(dir / "token");
  auto no_token = in_cluster_config(dir.string());
  REQUIRE_FALSE(no_token.ok());
  CHECK(no_token.error().message.find("token") != std::string::npos);
  fs::remove_all(dir);
  ::unsetenv("KUBERNETES_SERVICE_HOST");
  ::unsetenv("KUBERNETES_SERVICE_PORT");
}

TEST_CASE("list and watch paths") {
  CHECK(endpointslice_list_path("llm", "vllm") ==
        "/apis/discovery.k8s.io/v1/namespaces/llm/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dvllm");
  CHECK(endpointslice_watch_path("llm", "vllm", "42", 300) ==
        "/apis/discovery.k8s.io/v1/namespaces/llm/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dvllm"
        "&watch=1&allowWatchBookmarks=true&resourceVersion=42&timeoutSeconds=300");
  CHECK(endpointslice_watch_path("a", "b", "x y", 5).find("resourceVersion=x%20y&") != std::string::npos);
  CHECK(validate_object_name("service", "vllm-0").ok());
  CHECK_FALSE(validate_object_name("service", "Vllm").ok());
  CHECK_FALSE(validate_object_name("service", "a/b").ok());
  CHECK_FALSE(validate_object_name("namespace", "").ok());
  CHECK_FALSE(validate_object_name("namespace", "-x").ok());
}
