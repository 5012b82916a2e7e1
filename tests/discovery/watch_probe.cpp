// watch_probe: runs the real EndpointSliceWatch against an API server and
// prints one JSON line on stdout per published change,
//   {"endpoints":[{"address","port","ready","serving","terminating","routable","pod","zone"}…]}
// and one per reported error, {"error":"…","status":N}. Exits 0 on SIGTERM/SIGINT,
// 2 on bad flags or configuration. For integration tests.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "ringgate/discovery/endpointslice_watch.h"

namespace rd = ringgate::discovery;

namespace {

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buffer[8];
          std::snprintf(buffer, sizeof buffer, "\\u%04x", static_cast<unsigned char>(c));
          out += buffer;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

void print_line(const std::string& line) {
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

void print_endpoints(const std::vector<rd::DiscoveredEndpoint>& endpoints) {
  std::string line = "{\"endpoints\":[";
  for (std::size_t i = 0; i < endpoints.size(); ++i) {
    const rd::DiscoveredEndpoint& e = endpoints[i];
    if (i) line += ',';
    line += "{\"address\":" + json_string(e.address) + ",\"port\":" + std::to_string(e.port) +
            ",\"ready\":" + (e.ready ? "true" : "false") + ",\"serving\":" + (e.serving ? "true" : "false") +
            ",\"terminating\":" + (e.terminating ? "true" : "false") +
            ",\"routable\":" + (rd::is_routable(e) ? "true" : "false") + ",\"pod\":" + json_string(e.pod_name) +
            ",\"zone\":" + json_string(e.zone) + "}";
  }
  print_line(line + "]}");
}

int usage(const char* problem) {
  std::fprintf(stderr,
               "watch_probe: %s\n"
               "usage: watch_probe (--api-url URL [--ca-file F] [--token-file F] | --in-cluster [--sa-dir D])\n"
               "                   [--namespace NS] --service SVC --port NAME|NUMBER\n"
               "                   [--watch-timeout S] [--watch-idle-timeout-ms N] [--backoff-initial-ms N] [--backoff-max-ms N]\n",
               problem);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string api_url, ca_file, token_file, sa_dir, port_text;
  bool in_cluster = false;
  rd::EndpointSliceWatchOptions options;
  for (int i = 1; i < argc; ++i) {
    std::string_view flag = argv[i];
    if (flag == "--in-cluster") {
      in_cluster = true;
      continue;
    }
    if (i + 1 >= argc) return usage(("missing value for " + std::string(flag)).c_str());
    const char* value = argv[++i];
    if (flag == "--api-url") api_url = value;
    else if (flag == "--ca-file") ca_file = value;
    else if (flag == "--token-file") token_file = value;
    else if (flag == "--sa-dir") sa_dir = value;
    else if (flag == "--namespace") options.namespace_name = value;
    else if (flag == "--service") options.service = value;
    else if (flag == "--port") port_text = value;
    else if (flag == "--watch-timeout") options.watch_timeout_seconds = std::atoi(value);
    else if (flag == "--watch-idle-timeout-ms") options.watch_idle_timeout = std::chrono::milliseconds(std::atoi(value));
    else if (flag == "--backoff-initial-ms") options.backoff_initial = std::chrono::milliseconds(std::atoi(value));
    else if (flag == "--backoff-max-ms") options.backoff_max = std::chrono::milliseconds(std::atoi(value));
    else return usage(("unknown flag " + std::string(flag)).c_str());
  }
  if (in_cluster == !api_url.empty()) return usage("give exactly one of --api-url and --in-cluster");

  auto api = in_cluster ? rd::in_cluster_config(sa_dir) : rd::api_url_config(api_url);
  if (!api) return usage(api.error().message.c_str());
  if (!ca_file.empty()) api.value().ca_file = ca_file;
  if (!token_file.empty()) api.value().token_file = token_file;
  auto port = rd::parse_target_port(port_text);
  if (!port) return usage(port.error().message.c_str());
  options.port = port.value();

  // Block the stop signals before the watcher thread exists so only sigwait sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  rd::EndpointSliceWatchCallbacks callbacks;
  callbacks.on_change = print_endpoints;
  callbacks.on_error = [](const rd::Error& error) {
    print_line("{\"error\":" + json_string(error.message) + ",\"status\":" + std::to_string(error.http_status) + "}");
  };
  rd::EndpointSliceWatch watch(api.value(), options, callbacks);
  if (auto started = watch.start(); !started) return usage(started.error().message.c_str());

  int received = 0;
  sigwait(&stop_signals, &received);
  watch.stop();
  return 0;
}
