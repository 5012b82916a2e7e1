#include "ringgate/discovery/kube_client.h"

#include <llhttp.h>

#include <fstream>
#include <sstream>

#include "ringgate/discovery/kube_transport.h"
#include "ringgate/discovery/watch_event.h"

namespace ringgate::discovery {
namespace {

constexpr std::size_t kMaxErrorBody = 64 * 1024;

// What the llhttp callbacks see of one response.
struct ResponseState {
  const BodySink* sink = nullptr;
  const std::function<void(int)>* on_status = nullptr;
  std::size_t max_header_bytes = 0;
  std::size_t header_bytes = 0;
  int status = 0;
  bool headers_too_large = false;
  bool complete = false;
  bool stopped_by_sink = false;
  std::string error_body;
};

ResponseState& state_of(llhttp_t* parser) { return *static_cast<ResponseState*>(parser->data); }

int count_header_bytes(llhttp_t* parser, const char*, std::size_t length) {
  ResponseState& state = state_of(parser);
  state.header_bytes += length;
  if (state.header_bytes > state.max_header_bytes) {
    state.headers_too_large = true;
    return -1;
  }
  return 0;
}

int on_headers_complete(llhttp_t* parser) {
  ResponseState& state = state_of(parser);
  state.status = parser->status_code;
  if (*state.on_status) (*state.on_status)(state.status);
  return 0;
}

int on_body(llhttp_t* parser, const char* at, std::size_t length) {
  ResponseState& state = state_of(parser);
  if (state.status >= 200 && state.status < 300) {
    if (!(*state.sink)(std::string_view(at, length))) {
      state.stopped_by_sink = true;
      return HPE_PAUSED;
    }
  } else if (state.error_body.size() < kMaxErrorBody) {
    state.error_body.append(at, std::min(length, kMaxErrorBody - state.error_body.size()));
  }
  return 0;
}

int on_message_complete(llhttp_t* parser) {
  state_of(parser).complete = true;
  return HPE_PAUSED;  // one response per connection: ignore anything after it
}

const llhttp_settings_t& response_settings() {
  static const llhttp_settings_t settings = [] {
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_status = count_header_bytes;
    s.on_header_field = count_header_bytes;
    s.on_header_value = count_header_bytes;
    s.on_headers_complete = on_headers_complete;
    s.on_body = on_body;
    s.on_message_complete = on_message_complete;
    return s;
  }();
  return settings;
}

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

  ResponseState state;
  state.sink = &sink;
  state.on_status = &on_status;
  state.max_header_bytes = options.max_header_bytes;
  llhttp_t parser;
  llhttp_init(&parser, HTTP_RESPONSE, &response_settings());
  parser.data = &state;

  char buffer[16 * 1024];
  for (;;) {
    auto got = transport.read_some(buffer, sizeof buffer, options.idle_timeout);
    if (!got) return Error{what + ": " + got.error().message};
    llhttp_errno_t rc;
    if (got.value() == 0) {
      rc = llhttp_finish(&parser);
      if (!state.complete) {
        return Error{what + ": connection closed " +
                     (state.status ? std::string("mid-response") : std::string("before a response"))};
      }
    } else {
      rc = llhttp_execute(&parser, buffer, got.value());
    }
    if (state.stopped_by_sink) return {};
    if (state.headers_too_large)
      return Error{what + ": response headers over " + std::to_string(options.max_header_bytes) + " bytes"};
    if (rc != HPE_OK && rc != HPE_PAUSED)
      return Error{what + ": malformed HTTP response (" + llhttp_errno_name(rc) + ": " +
                   llhttp_get_error_reason(&parser) + ")"};
    if (state.complete) {
      if (state.status >= 200 && state.status < 300) return {};
      return Error{what + ": " + describe_failure(state.status, state.error_body), state.status};
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
