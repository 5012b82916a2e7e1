// libFuzzer target: an HTTP/2 session (http::H2Session on libnghttp2) fed arbitrary bytes
// after the client preface, in random splits, with a stream owner that answers every
// complete request with a small body (so that HEADERS and DATA go out between the
// reads). Nothing may crash, hang or read out of bounds; the limits hold for every
// request the session hands over. Seeds (tests/http/corpus/fuzz_h2_session): a request
// with a body, CONTINUATION, trailers, a PING flood, RST_STREAMs, WINDOW_UPDATE overflow.
// A first byte with its high bit set runs the session as the EPP's gRPC port does
// (H2Limits::stream_bodies, answers ending in trailers); with its next bit, answers of
// 6,000 bytes leave through an H2Gather (as the proxy's connections send them): every
// payload it names lies within its buffer and after output the session wrote.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ringgate/http/h2_session.h"

namespace {

using ringgate::http::H2Limits;
using ringgate::http::H2Session;
using ringgate::http::H2Stream;

struct Owner final : ringgate::http::H2Streams {
  H2Session* session = nullptr;
  H2Limits limits;
  size_t answer_bytes = 0;  // 0: a small JSON answer
  std::map<int32_t, std::unique_ptr<H2Stream>> streams;
  std::vector<std::unique_ptr<H2Stream>> closed;  // freed between reads, as H2Connection does

  H2Stream* h2_open(int32_t id) override {
    auto& s = streams[id];
    s = std::make_unique<H2Stream>();
    return s.get();
  }
  void h2_request(H2Stream& s) override {
    if (s.request.body.size() > limits.request.max_body_bytes) std::abort();
    if (s.header_bytes > limits.request.max_header_bytes && s.refused_status != 431) std::abort();
    if (answer_bytes > 0)
      s.out.assign(answer_bytes, 'x');
    else
      s.out = "{\"ok\":true}";
    s.answer_ended = true;
    if (limits.stream_bodies) s.trailers = trailers();  // gRPC's status after the body
    const ringgate::http::Header fields[] = {{"content-type", "application/json"}};
    session->submit_head(s, s.refused_status ? s.refused_status : 200, fields, false);
  }
  // stream_bodies: the body comes after the head was reported, never before.
  void h2_body(H2Stream& s, const char*, size_t) override {
    if (!s.reported) std::abort();
  }
  void h2_body_end(H2Stream& s) override {
    if (!s.reported) std::abort();
  }
  static std::span<const ringgate::http::Header> trailers() {
    static const ringgate::http::Header kFields[] = {{"grpc-status", "0"}, {"grpc-message", "ok"}};
    return kFields;
  }
  void h2_sent(H2Stream&) override {}
  void h2_closed(H2Stream& s, uint32_t) override {
    auto it = streams.find(s.id);
    closed.push_back(std::move(it->second));
    streams.erase(it);
  }
};

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): libFuzzer names its entry point
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  Owner owner;
  owner.limits.max_concurrent_streams = 8;
  owner.limits.max_resets_per_second = 16;
  owner.limits.max_continuation_frames = 4;
  owner.limits.max_control_frames_per_second = 16;
  owner.limits.request.max_header_bytes = 1024;
  owner.limits.request.max_body_bytes = 4096;
  owner.limits.stream_bodies = (data[0] & 0x80) != 0;  // gRPC's way: bodies handed over, trailers
  std::string out;
  ringgate::http::H2Gather gather;
  uint64_t now_ms = 1000;
  H2Session session(owner.limits, owner, out, &now_ms);
  owner.session = &session;
  if ((data[0] & 0x40) != 0) {
    owner.answer_bytes = 6000;
    session.gather_into(&gather);
  }
  auto sent = [&] {  // what a sendmsg would take: every payload within its buffer, in order
    size_t after = 0;
    for (const auto& p : gather.payloads) {
      if (p.buffer >= gather.lent || p.at + p.len > gather.buffers[p.buffer].size() || p.after < after ||
          p.after > out.size())
        std::abort();
      after = p.after;
    }
    out.clear();
    gather.release(owner.streams.size());
  };
  const size_t step = 1 + data[0] % 97;  // the first byte picks the split size
  std::string input(ringgate::http::kH2Preface);
  input.append(reinterpret_cast<const char*>(data + 1), size - 1);
  for (size_t at = 0; at < input.size(); at += step) {
    const size_t n = input.size() - at < step ? input.size() - at : step;
    if (!session.receive(input.data() + at, n)) break;
    if (!session.send()) break;
    sent();
    owner.closed.clear();
    now_ms += 7;
  }
  session.send();
  sent();
  return 0;
}
