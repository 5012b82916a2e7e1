// H2Session against libnghttp2's own client, in memory: what send() writes per call.
#include "ringgate/http/h2_session.h"

#include <doctest/doctest.h>
#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <string>

namespace {

using ringgate::http::H2Limits;
using ringgate::http::H2Session;
using ringgate::http::H2Stream;

// Answers every request at once with `answer_bytes` of body, whole.
struct Answering final : ringgate::http::H2Streams {
  H2Session* session = nullptr;
  size_t answer_bytes = 0;
  std::map<int32_t, std::unique_ptr<H2Stream>> streams;

  H2Stream* h2_open(int32_t id) override {
    auto& st = streams[id];
    st = std::make_unique<H2Stream>();
    st->id = id;
    return st.get();
  }
  void h2_request(H2Stream& st) override {
    st.out.assign(answer_bytes, 'x');
    for (size_t i = 0; i < st.out.size(); i += 97)
      st.out[i] = char('a' + (st.id + i) % 26);  // a byte out of place shows
    st.answer_ended = true;
    session->submit_head(st, 200, {}, false);
  }
  void h2_sent(H2Stream&) override {}
  void h2_closed(H2Stream& st, uint32_t) override { streams.erase(st.id); }
};

// The client: what it sends, the body bytes and the streams it saw end.
struct Client {
  nghttp2_session* session = nullptr;
  std::string to_server;
  size_t body_bytes = 0;
  std::map<int32_t, std::string> bodies;
  int closed = 0;

  Client() {
    nghttp2_session_callbacks* cbs = nullptr;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_send_callback(cbs, [](nghttp2_session*, const uint8_t* d, size_t n, int, void* u) {
      static_cast<Client*>(u)->to_server.append(reinterpret_cast<const char*>(d), n);
      return ssize_t(n);
    });
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(
        cbs, [](nghttp2_session*, uint8_t, int32_t id, const uint8_t* d, size_t n, void* u) {
          static_cast<Client*>(u)->body_bytes += n;
          static_cast<Client*>(u)->bodies[id].append(reinterpret_cast<const char*>(d), n);
          return 0;
        });
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, [](nghttp2_session*, int32_t, uint32_t, void* u) {
      ++static_cast<Client*>(u)->closed;
      return 0;
    });
    nghttp2_session_client_new(&session, cbs, this);
    nghttp2_session_callbacks_del(cbs);
    const nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1u << 24}};
    nghttp2_submit_settings(session, NGHTTP2_FLAG_NONE, settings, 1);
    nghttp2_session_set_local_window_size(session, NGHTTP2_FLAG_NONE, 0, 1 << 30);
  }
  ~Client() { nghttp2_session_del(session); }

  void get(int n) {
    auto nv = [](const char* name, const char* value) {
      return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name)),
                        reinterpret_cast<uint8_t*>(const_cast<char*>(value)), strlen(name), strlen(value),
                        NGHTTP2_NV_FLAG_NONE};
    };
    const nghttp2_nv head[] = {nv(":method", "GET"), nv(":scheme", "http"), nv(":path", "/v1/models"),
                               nv(":authority", "localhost")};
    for (int i = 0; i < n; ++i) nghttp2_submit_request(session, nullptr, head, 4, nullptr, nullptr);
  }
};

}  // namespace

TEST_CASE("send(room) writes DATA while the output holds less than room: one frame past it at most") {
  constexpr size_t kRoom = 20000, kFrame = 9 + 16384, kStreams = 8, kAnswer = 100000;
  uint64_t now = 0;
  std::string out;
  Answering streams;
  streams.answer_bytes = kAnswer;
  H2Session server(H2Limits{}, streams, out, &now);
  streams.session = &server;
  Client client;
  client.get(int(kStreams));

  size_t largest = 0, sends = 0;
  for (int turn = 0; turn < 1000 && client.closed < int(kStreams); ++turn) {
    REQUIRE(nghttp2_session_send(client.session) == 0);
    REQUIRE(server.receive(client.to_server.data(), client.to_server.size()));
    client.to_server.clear();
    REQUIRE(server.send(kRoom));
    largest = std::max(largest, out.size());
    sends += !out.empty();
    REQUIRE(nghttp2_session_mem_recv(client.session, reinterpret_cast<const uint8_t*>(out.data()), out.size()) ==
            ssize_t(out.size()));
    out.clear();
  }
  CHECK(client.closed == int(kStreams));
  CHECK(client.body_bytes == kStreams * kAnswer);
  CHECK(largest <= kRoom + kFrame + 1024);  // (+ HEADERS and control frames)
  CHECK(largest >= kRoom);
  CHECK(sends >= kStreams * kAnswer / (kRoom + kFrame));
}

TEST_CASE("send() without a room writes every answer at once") {
  uint64_t now = 0;
  std::string out;
  Answering streams;
  streams.answer_bytes = 100000;
  H2Session server(H2Limits{}, streams, out, &now);
  streams.session = &server;
  Client client;
  client.get(4);
  REQUIRE(nghttp2_session_send(client.session) == 0);
  REQUIRE(server.receive(client.to_server.data(), client.to_server.size()));
  REQUIRE(server.send());
  CHECK(out.size() > 4 * 100000);
}

TEST_CASE("with a gather, DATA payloads stay in the streams' buffers: the client reads the same bytes") {
  constexpr size_t kStreams = 6, kAnswer = 70000;
  uint64_t now = 0;
  std::string out;
  ringgate::http::H2Gather gather;
  Answering streams;  // (it frees a stream as soon as it closes: inside send())
  streams.answer_bytes = kAnswer;
  H2Session server(H2Limits{}, streams, out, &now);
  server.gather_into(&gather);
  streams.session = &server;
  Client client;
  client.get(int(kStreams));

  size_t gathered = 0;
  std::string wire;
  for (int turn = 0; turn < 100 && client.closed < int(kStreams); ++turn) {
    REQUIRE(nghttp2_session_send(client.session) == 0);
    REQUIRE(server.receive(client.to_server.data(), client.to_server.size()));
    client.to_server.clear();
    REQUIRE(server.send(100000));  // (a room: some of each send waits for the next)
    wire.clear();
    size_t from = 0;
    for (const auto& p : gather.payloads) {
      REQUIRE(p.buffer < gather.lent);
      wire.append(out, from, p.after - from).append(gather.buffers[p.buffer], p.at, p.len);
      from = p.after;
    }
    wire.append(out, from);
    gathered += gather.payload_bytes;
    out.clear();
    gather.release(kStreams);
    REQUIRE(nghttp2_session_mem_recv(client.session, reinterpret_cast<const uint8_t*>(wire.data()), wire.size()) ==
            ssize_t(wire.size()));
  }
  CHECK(client.closed == int(kStreams));
  CHECK(gathered == kStreams * kAnswer);  // every payload from 4 KiB up named, none copied
  for (int32_t id = 1; id < 2 * int32_t(kStreams); id += 2) {
    std::string want(kAnswer, 'x');
    for (size_t i = 0; i < want.size(); i += 97) want[i] = char('a' + (id + i) % 26);
    CHECK(client.bodies[id] == want);
  }
}

TEST_CASE("a released gather keeps `kept` spares, gives the worker's pool up to its limit, frees the rest") {
  ringgate::http::H2Gather gather;
  std::vector<std::string> pool;
  gather.pool = &pool;
  gather.pool_limit = 2;
  for (int i = 0; i < 6; ++i) {
    gather.add_buffer();
    gather.buffers.back().assign(i == 5 ? 100000 : 5000, 'x');  // the last past 64 KiB
  }
  gather.lent = 6;
  gather.release(3);
  CHECK(gather.buffers.size() == 3);
  CHECK(pool.size() == 2);  // of the three over, the two of 5,000 bytes (the one past 64 KiB freed)
  for (const std::string& b : pool) CHECK(b.capacity() < 64 * 1024);
  for (const std::string& b : gather.buffers) CHECK(b.empty());
  CHECK(gather.lent == 0);
  gather.buffers.clear();
  gather.add_buffer();  // a spare from the pool first
  CHECK(pool.size() == 1);
  CHECK(gather.buffers.back().capacity() >= 5000);
}
