#pragma once
// --otlp-traces-endpoint (as vLLM's): one SERVER span per completion request, named
// llm_request with vLLM's attributes, under the request's traceparent when it has one,
// POSTed as OTLP/HTTP protobuf to the endpoint (the full URL, e.g.
// http://127.0.0.1:4318/v1/traces) by a thread of its own: the sim's loop never waits
// on the collector. A bounded queue (spans beyond it are dropped); a failed POST is not
// retried (a test tool: the gateway's exporter is the careful one).
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "ringgate/util/trace_context.h"

namespace ringgate::sim {

struct SimSpan {
  util::TraceParent parent;  // from the request's traceparent
  bool has_parent = false;
  std::string request_id, model;
  uint64_t start_unix_ns = 0, end_unix_ns = 0, first_token_unix_ns = 0;
  uint32_t prompt_tokens = 0, completion_tokens = 0;
  bool error = false;
};

class SimTraceExporter {
 public:
  // `url`: http://host:port/path. ok() false (error() says why) for any other form.
  SimTraceExporter(std::string_view url, std::string service_name);
  ~SimTraceExporter();
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  void record(SimSpan span);

 private:
  void run();
  void post(const std::string& body);

  std::string host_, path_, service_name_, error_;
  uint16_t port_ = 80;
  util::TraceIdSource ids_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<SimSpan> queue_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace ringgate::sim
