// One client connection: HTTP/1.1 request parsing with http::RequestParser (keep-alive,
// Content-Length and chunked bodies, pipelined requests answered in order,
// one at a time) and buffered, non-blocking response writing, including
// chunked streaming for SSE.
#pragma once

#include "ringgate/http/request_parser.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ringgate::sim {

struct HttpRequest {
  llhttp_method_t method = HTTP_GET;
  std::string path;  // without the query string
  std::string body;
  std::string return_error;  // the X-Return-Error header, if any
  std::string content_type;  // the Content-Type header, if any
  std::string request_id;    // the X-Request-Id header, if any (becomes the completion id, as in vLLM)
  std::string data_parallel_rank;  // the X-data-parallel-rank header, if any (the engine to run on)
  std::string traceparent;         // the W3C traceparent header, if any (--otlp-traces-endpoint)
};

// Work a request left running (a simulated sequence). Destroying it before it
// finished must cancel it: that is how a vanished client frees its sequence.
class InFlight {
 public:
  virtual ~InFlight() = default;
};

class HttpSession;

class RequestHandler {
 public:
  // Answers with session.respond(...) now, or leaves an InFlight that
  // answers later (respond, or begin_stream ... end_stream).
  virtual void handle(HttpSession& session, HttpRequest& request) = 0;

 protected:
  ~RequestHandler() = default;
};

// What the event loop must do with the connection after a call.
enum class SessionState { open, close };

class HttpSession {
 public:
  static constexpr size_t kMaxHeaderBytes = 64 * 1024;
  static constexpr size_t kMaxBodyBytes = 32 * 1024 * 1024;

  // `touched` collects the fds of sessions that have output or finished a
  // response since the loop last called after_events() on them.
  HttpSession(int fd, RequestHandler& handler, std::vector<int>& touched);
  ~HttpSession();
  HttpSession(const HttpSession&) = delete;
  HttpSession& operator=(const HttpSession&) = delete;

  int fd() const { return fd_; }

  // Reads everything the socket has and dispatches complete requests.
  SessionState on_readable();
  // Drops a finished InFlight, dispatches pipelined requests, writes output.
  // Call it for every fd in `touched` and after on_readable().
  SessionState after_events();
  bool wants_write() const { return out_offset_ < out_.size(); }
  bool idle() const { return !responding_ && !wants_write(); }
  // When the client last sent bytes or a response last completed.
  uint64_t last_activity_ns() const { return last_activity_ns_; }
  // Ask to close once the current response (if any) is written.
  void close_when_idle() { close_after_response_ = true; }

  // Response API for handlers. Exactly one response per request.
  // `extra_headers`: complete "name: value\r\n" lines.
  void respond(int status, std::string_view content_type, std::string_view body,
               std::string_view extra_headers = {});
  void begin_stream(int status, std::string_view content_type);
  // One more "name: value\r\n" line for the next response's head only (the sim's x-sim-engine).
  void add_response_header(std::string_view line) { next_headers_ += line; }
  void stream_data(std::string_view data);  // one HTTP chunk, written as soon as the loop flushes
  void end_stream();
  // Closes the connection once what was written is sent, the response left
  // unfinished: a server dying mid-response (--fail-mid-stream-rate). The
  // in-flight work is then destroyed, as on a client's disconnect.
  void drop_connection() {
    drop_ = true;
    touch();
  }
  // Keeps `work` alive until the response finishes (or the client leaves).
  void set_in_flight(std::unique_ptr<InFlight> work) { in_flight_ = std::move(work); }

 private:
  void parse_pending();
  void dispatch();
  void append_head(int status, std::string_view content_type, std::string_view extra_headers);
  void response_complete();
  void touch();
  void fail_request(int status, std::string_view message);
  SessionState flush();

  int fd_;
  RequestHandler& handler_;
  std::vector<int>& touched_list_;
  bool touched_ = false;
  http::RequestParser parser_;  // limits: kMaxHeaderBytes, kMaxBodyBytes

  std::string in_;          // bytes read but not yet parsed
  HttpRequest request_;     // the request being parsed
  bool continue_sent_ = false;  // "100 Continue" went out for the request being read

  std::string out_;
  size_t out_offset_ = 0;
  std::unique_ptr<InFlight> in_flight_;
  std::string next_headers_;    // add_response_header's lines, for the next head
  bool responding_ = false;     // a request was dispatched and its response is not complete
  bool keep_alive_ = true;      // of the request being answered
  bool http_1_0_ = false;       // of the request being answered: no chunked encoding, stream until close
  bool raw_stream_ = false;     // the current stream is unframed (HTTP/1.0)
  bool close_after_response_ = false;
  bool broken_ = false;         // write failure or unusable input: close now
  bool drop_ = false;           // close once the output is flushed, the response unfinished
  bool peer_closed_ = false;
  uint64_t last_activity_ns_ = 0;
};

}  // namespace ringgate::sim
