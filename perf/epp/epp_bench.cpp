// ext-proc cost per request as a C++ gRPC client (like Envoy's) sees it: one Process
// stream per request, in Envoy's order (request headers + body in FULL_DUPLEX_STREAMED
// mode → the pick and the body back; response headers + an SSE body → echoed; half-close
// → status). Sequential streams on one channel, after a warm-up; prints p50/p90/p99 of
// the decision (first message sent → last body chunk of the answer received) and of the
// whole stream. `--rate R` starts a stream every 1/R s (as many as the stream's own time
// allows); `--tls ROOT.pem` connects over TLS trusting that certificate;
// `--write-decision-body FILE` writes the decision's two messages as one gRPC request
// body and exits (perf/epp/decision_h2load.sh sends it with h2load). Run by
// perf/epp/epp_overhead.py and perf/epp/decision.py, or:
//   build/perf/epp_bench --epp 127.0.0.1:9002 --model facebook/opt-125m --requests 5000 [--rate 1000]
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "envoy/service/ext_proc/v3/external_processor.grpc.pb.h"

namespace extproc = envoy::service::ext_proc::v3;
using Mode = envoy::extensions::filters::http::ext_proc::v3::ProcessingMode;
using Clock = std::chrono::steady_clock;

namespace {

void add_header(extproc::HttpHeaders* h, const std::string& key, const std::string& value) {
  auto* v = h->mutable_headers()->add_headers();
  v->set_key(key);
  v->set_raw_value(value);
}

double pct(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, size_t(double(v.size()) * p))];
}

}  // namespace

int main(int argc, char** argv) {
  std::string address = "127.0.0.1:9002", model = "facebook/opt-125m";
  std::string root_pem_file, decision_body_file;
  int requests = 2000, warmup = 200;
  double rate = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--epp") address = argv[i + 1];
    else if (flag == "--model") model = argv[i + 1];
    else if (flag == "--requests") requests = std::atoi(argv[i + 1]);
    else if (flag == "--warmup") warmup = std::atoi(argv[i + 1]);
    else if (flag == "--rate")
      rate = std::atof(argv[i + 1]);
    else if (flag == "--tls")
      root_pem_file = argv[i + 1];
    else if (flag == "--write-decision-body")
      decision_body_file = argv[i + 1];
  }
  const std::string body = "{\"model\":\"" + model +
                           "\",\"prompt\":\"The quick brown fox jumps over the lazy dog. The quick brown fox "
                           "jumps over the lazy dog.\",\"max_tokens\":1,\"stream\":true}";
  const std::string sse =
      "data: {\"choices\":[{\"text\":\" a\"}]}\n\ndata: {\"choices\":[],\"usage\":{\"prompt_tokens\":20,"
      "\"completion_tokens\":1,\"total_tokens\":21}}\n\ndata: [DONE]\n\n";
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (!root_pem_file.empty()) {
    std::ifstream in(root_pem_file);
    std::stringstream pem;
    pem << in.rdbuf();
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = pem.str();
    credentials = grpc::SslCredentials(options);
  }
  // The decision's two messages: the request's headers, then its body.
  extproc::ProcessingRequest decision[2];
  auto* h = decision[0].mutable_request_headers();
  add_header(h, ":method", "POST");
  add_header(h, ":path", "/v1/completions");
  add_header(h, ":authority", "gateway");
  add_header(h, "content-type", "application/json");
  add_header(h, "content-length", std::to_string(body.size()));
  decision[0].mutable_protocol_config()->set_request_body_mode(Mode::FULL_DUPLEX_STREAMED);
  decision[0].mutable_protocol_config()->set_response_body_mode(Mode::FULL_DUPLEX_STREAMED);
  decision[1].mutable_request_body()->set_body(body);
  decision[1].mutable_request_body()->set_end_of_stream(true);
  if (!decision_body_file.empty()) {
    // Both as one gRPC request body (5-byte length-prefixed messages), for an HTTP/2 load
    // tool such as h2load: the decision without grpc++ on the client side.
    std::ofstream out(decision_body_file, std::ios::binary);
    for (const extproc::ProcessingRequest& m : decision) {
      const std::string bytes = m.SerializeAsString();
      const uint32_t n = uint32_t(bytes.size());
      const char prefix[5] = {0, char(n >> 24), char(n >> 16), char(n >> 8), char(n)};
      out.write(prefix, 5);
      out << bytes;
    }
    return out ? 0 : 1;
  }
  auto channel = grpc::CreateChannel(address, credentials);
  auto stub = extproc::ExternalProcessor::NewStub(channel);
  std::vector<double> decision_us, stream_us;
  const auto interval = std::chrono::nanoseconds(rate > 0 ? int64_t(1e9 / rate) : 0);
  auto next_start = Clock::now();
  for (int n = 0; n < warmup + requests; ++n) {
    if (rate > 0) {
      std::this_thread::sleep_until(next_start);
      next_start = std::max(next_start + interval, Clock::now() - interval);  // no burst after a stall
    }
    grpc::ClientContext ctx;
    const auto t0 = Clock::now();
    auto rw = stub->Process(&ctx);
    extproc::ProcessingRequest req = decision[0];
    extproc::ProcessingResponse resp;
    rw->Write(req);
    rw->Write(decision[1]);
    if (!rw->Read(&resp) || !resp.has_request_headers()) {
      std::fprintf(stderr, "no pick: %s\n", resp.DebugString().c_str());
      return 1;
    }
    while (rw->Read(&resp) && !resp.request_body().response().body_mutation().streamed_response().end_of_stream()) {
    }
    const auto t_decided = Clock::now();
    req.Clear();
    add_header(req.mutable_response_headers(), ":status", "200");
    add_header(req.mutable_response_headers(), "content-type", "text/event-stream");
    rw->Write(req);
    rw->Read(&resp);
    req.Clear();
    req.mutable_response_body()->set_body(sse);
    req.mutable_response_body()->set_end_of_stream(true);
    rw->Write(req);
    rw->Read(&resp);
    rw->WritesDone();
    const grpc::Status status = rw->Finish();
    const auto t1 = Clock::now();
    if (!status.ok()) {
      std::fprintf(stderr, "stream ended with %d %s\n", int(status.error_code()), status.error_message().c_str());
      return 1;
    }
    if (n < warmup) continue;
    decision_us.push_back(std::chrono::duration<double, std::micro>(t_decided - t0).count());
    stream_us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  std::printf("ext-proc decision      p50 %8.1f us   p90 %8.1f us   p99 %8.1f us   (n=%d, C++ client)\n",
              pct(decision_us, 0.5), pct(decision_us, 0.9), pct(decision_us, 0.99), requests);
  std::printf("ext-proc whole stream  p50 %8.1f us   p90 %8.1f us   p99 %8.1f us   (n=%d, C++ client)\n",
              pct(stream_us, 0.5), pct(stream_us, 0.9), pct(stream_us, 0.99), requests);
  return 0;
}
