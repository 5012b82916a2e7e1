#include "ringgate/discovery/kube_client.h"

#include <fstream>
#include <sstream>

#include "ringgate/discovery/kube_transport.h"
#include "ringgate/discovery/watch_event.h"
#include "ringgate/http/response_parser.h"

namespace ringgate::discovery {
namespace {

constexpr std::size_t kMaxErrorBody = 64 * 1024;

Result<std::string> read_token(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{"cannot read bearer token file " + path};
  std::ostringstream text;
  text << in.rdbuf();
  std::string token = text.str();
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' '))
    token.pop_back();
  if (token.empty()) return Error{"bearer token file " + path + " is empty"};
  for (char c : token)
    if (static_cast<unsigned char>(c) < 0x21 || c == 0x7f)
      return Error{"bearer token file " + path + " holds a control character or space"};
  return token;
}

std::string describe_failure(int status, const std::string& body) {
  std::string text = "HTTP " + std::to_string(status);
  if (auto parsed = parse_kube_status(body); parsed && !parsed.value().message.empty()) {
    const KubeStatus& status_object = parsed.value();
    if (!status_object.reason.empty()) text += " " + status_object.reason;
    text += ": " + status_object.message;
  } else if (!body.empty()) {
    text += ": " + body.substr(0, 200);
  }
  return text;
}

}  // namespace

KubeClient::KubeClient(KubeApiConfig config, const AbortSignal* abort)
    : config_(std::move(config)), abort_(abort) {}

Result<void> KubeClient::get(std::string_view target, const GetOptions& options, const BodySink& sink,
                             const std::function<void(int)>& on_status) const {
  const std::string what = "GET " + std::string(target) + " from " + host_header(config_);
  std::string request = "GET " + std::string(target) + " HTTP/1.1\r\nHost: " + host_header(config_) +
                        "\r\nUser-Agent: ringgate-discovery\r\nAccept: application/json\r\n";
  if (!config_.token_file.empty()) {
    auto token = read_token(config_.token_file);  // re-read each time: bound tokens rotate
    if (!token) return token.error();
    request += "Authorization: Bearer " + token.value() + "\r\n";
  }
  request += "Connection: close\r\n\r\n";

  auto connected = KubeTransport::connect(config_, options.connect_timeout, abort_);
  if (!connected) return Error{what + ": " + connected.error().message};
  KubeTransport& transport = *connected.value();
  if (auto sent = transport.write_all(request, options.idle_timeout); !sent)
    return Error{what + ": " + sent.error().message};

  // The gateway's strict HTTP/1.1 response parser; the head is bounded here (bytes
  // fed before it completed, one read at most past the limit), the body streams to the sink.
  http::ResponseParser parser;
  std::string piece;  // decoded body bytes of one read
  std::string error_body;
  std::size_t header_bytes = 0;
  bool status_reported = false;
  char buffer[16 * 1024];
  for (;;) {
    auto got = transport.read_some(buffer, sizeof buffer, options.idle_timeout);
    if (!got) return Error{what + ": " + got.error().message};
    bool complete = false;
    if (got.value() == 0) {
      complete = parser.finish() == http::ResponseState::Complete;
      if (!complete) {
        return Error{what + ": connection closed " +
                     (parser.head_complete() ? std::string("mid-response") : std::string("before a response"))};
      }
    } else {
      const bool head_was_complete = parser.head_complete();
      const http::ResponseFeed feed = parser.feed(buffer, got.value(), &piece);
      if (!head_was_complete && !parser.head_complete()) header_bytes += got.value();
      const std::string_view reason = parser.error() ? parser.error() : "";
      if (header_bytes > options.max_header_bytes ||
          (feed.state == http::ResponseState::Error && !parser.head_complete() &&
           reason.find("callback") != std::string_view::npos))
        return Error{what + ": response headers over " + std::to_string(options.max_header_bytes) + " bytes"};
      if (feed.state == http::ResponseState::Error)
        return Error{what + ": malformed HTTP response (" + std::string(reason) + ")"};
      complete = feed.state == http::ResponseState::Complete;
    }
    const int status = parser.status();
    if (parser.head_complete() && !status_reported) {
      status_reported = true;
      if (on_status) on_status(status);
    }
    if (!piece.empty()) {
      if (status >= 200 && status < 300) {
        if (!sink(piece)) return {};  // the sink has what it wanted
      } else if (error_body.size() < kMaxErrorBody) {
        error_body.append(piece, 0, std::min(piece.size(), kMaxErrorBody - error_body.size()));
      }
      piece.clear();
    }
    if (complete) {
      if (status >= 200 && status < 300) return {};
      return Error{what + ": " + describe_failure(status, error_body), status};
    }
  }
}

Result<std::string> KubeClient::get_body(std::string_view target, const GetOptions& options,
                                         std::size_t max_body_bytes) const {
  std::string body;
  bool too_large = false;
  auto done = get(target, options, [&](std::string_view piece) {
    if (body.size() + piece.size() > max_body_bytes) {
      too_large = true;
      return false;
    }
    body.append(piece);
    return true;
  });
  if (!done) return done.error();
  if (too_large)
    return Error{"GET " + std::string(target) + ": response body over " + std::to_string(max_body_bytes) + " bytes"};
  return body;
}

}  // namespace ringgate::discovery
