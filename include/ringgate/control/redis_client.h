#pragma once
// A Redis connection driven by the control thread's epoll loop: hiredis's async API
// with an adapter onto EpollLoop, so nothing here blocks and no worker ever touches it.
// It reconnects with backoff, sends AUTH (password read from a file on each connect,
// so a rotated secret is picked up) and PING, and counts as up once both answered.
// Replies are hostile input: hiredis's reader is given our own reply-object functions
// that refuse arrays longer than max_elements, strings longer than max_reply_bytes,
// nesting deeper than max_depth and replies nobody asked for (hiredis 0.14 asserts
// on those); unparsed bytes buffered beyond max_reply_bytes drop the connection.
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "ringgate/control/epoll_loop.h"
#include "ringgate/discovery/backoff.h"

namespace ringgate::control {

struct RedisLimits {
  size_t max_reply_bytes = size_t(1) << 20;  // one string, and unparsed bytes buffered
  int max_elements = 65536;                  // one array
  int max_depth = 2;                         // arrays of arrays of scalars
  size_t max_password_bytes = 4096;          // passwordFile
  size_t max_pending = 64;                   // commands awaiting a reply
};

struct RedisOptions {
  std::string host;
  uint16_t port = 0;
  std::string password_file;  // empty: no AUTH
  std::chrono::milliseconds command_timeout{1000};  // a reply (or the connect) later than this: reconnect
  std::chrono::milliseconds backoff_initial{100};
  std::chrono::milliseconds backoff_max{2000};  // well inside "resync within 5 s"
  RedisLimits limits;
};

struct RedisCounters {
  uint64_t connects = 0;           // connections that became up
  uint64_t connect_failures = 0;   // refused, unreachable, AUTH/PING failed
  uint64_t timeouts = 0;           // a reply later than command_timeout
  uint64_t refused_replies = 0;    // over a bound, or nobody asked
  uint64_t disconnects = 0;        // up connections lost
  uint64_t error_replies = 0;      // -ERR answers to our commands
};

class RedisClient final : public EpollHandler {
 public:
  using Clock = std::chrono::steady_clock;
  // reply: null when the command failed (connection lost, timeout, refused reply).
  using Callback = std::function<void(const redisReply* reply)>;

  RedisClient(EpollLoop& loop, RedisOptions options);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Control thread, every turn: connects when due, times out a silent server.
  void tick(Clock::time_point now);
  bool up() const { return ctx_ && up_; }
  // Sends a command when up (false otherwise, or when max_pending are awaiting).
  bool command(const std::vector<std::string>& args, Callback callback);
  size_t pending() const { return sent_at_.size(); }
  const RedisCounters& counters() const { return counters_; }
  const std::string& last_error() const { return last_error_; }
  const RedisOptions& options() const { return options_; }

  void on_event(uint32_t events) override;

 private:
  struct Request {
    RedisClient* client;
    Callback callback;
  };
  void connect(Clock::time_point now);
  void fail(std::string why, Clock::time_point now);  // drop the connection, schedule a retry
  bool send(const std::vector<std::string>& args, Callback callback);
  void update_events();
  static void on_reply(redisAsyncContext* ac, void* reply, void* privdata);
  static void ev_add_read(void* p);
  static void ev_del_read(void* p);
  static void ev_add_write(void* p);
  static void ev_del_write(void* p);
  static void ev_cleanup(void* p);
  static void* create_string(const redisReadTask* task, char* str, size_t len);
  static void* create_array(const redisReadTask* task, int elements);
  static void* create_integer(const redisReadTask* task, long long value);
  static void* create_nil(const redisReadTask* task);
  bool admit(const redisReadTask* task);  // a reply object may be made for this task

  EpollLoop& loop_;
  RedisOptions options_;
  discovery::Backoff backoff_;
  redisAsyncContext* ctx_ = nullptr;
  int fd_ = -1;
  bool registered_ = false, want_read_ = false, want_write_ = false;
  bool up_ = false;
  int awaiting_ = 0;  // commands sent whose reply has not begun
  std::deque<Clock::time_point> sent_at_;  // per pending command, in order
  Clock::time_point next_connect_{};
  RedisCounters counters_;
  std::string last_error_;
  std::string refusal_;  // why admit() refused, for last_error_
};

}  // namespace ringgate::control
