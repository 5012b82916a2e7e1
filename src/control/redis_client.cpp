#include "ringgate/control/redis_client.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <memory>

namespace ringgate::control {
namespace {

// hiredis's default reply functions are static in hiredis.c; these build the same
// redisReply objects (freeReplyObject frees them) after the bounds say yes.
redisReply* new_reply(const redisReadTask* task, int type) {
  auto* r = static_cast<redisReply*>(calloc(1, sizeof(redisReply)));
  if (!r) return nullptr;
  r->type = type;
  if (task->parent) {
    auto* parent = static_cast<redisReply*>(task->parent->obj);
    parent->element[task->idx] = r;
  }
  return r;
}

redisReplyObjectFunctions bounded_functions(void* (*s)(const redisReadTask*, char*, size_t),
                                            void* (*a)(const redisReadTask*, int),
                                            void* (*i)(const redisReadTask*, long long),
                                            void* (*n)(const redisReadTask*)) {
  redisReplyObjectFunctions f{};
  f.createString = s;
  f.createArray = a;
  f.createInteger = i;
  f.createNil = n;
  f.freeObject = freeReplyObject;
  return f;
}

// The password file's first line (a trailing newline is not part of the secret).
bool read_password(const std::string& path, size_t max_bytes, std::string& out, std::string& error) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = "passwordFile " + path + ": " + strerror(errno);
    return false;
  }
  out.assign(max_bytes + 1, '\0');
  size_t have = 0;
  while (have < out.size()) {
    ssize_t n = read(fd, out.data() + have, out.size() - have);
    if (n <= 0) break;
    have += size_t(n);
  }
  close(fd);
  if (have > max_bytes) {
    error = "passwordFile " + path + ": longer than " + std::to_string(max_bytes) + " bytes";
    return false;
  }
  out.resize(have);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return true;
}

}  // namespace

RedisClient::RedisClient(EpollLoop& loop, RedisOptions options)
    : loop_(loop), options_(std::move(options)), backoff_(options_.backoff_initial, options_.backoff_max) {}

RedisClient::~RedisClient() {
  if (ctx_) redisAsyncFree(ctx_);  // pending callbacks run with null; ev_cleanup unregisters
}

bool RedisClient::admit(const redisReadTask* task) {
  int depth = 0;
  for (const redisReadTask* t = task->parent; t; t = t->parent) ++depth;
  if (depth > options_.limits.max_depth) {
    refusal_ = "reply nested deeper than " + std::to_string(options_.limits.max_depth);
    return false;
  }
  if (!task->parent) {
    // hiredis 0.14 asserts when a reply arrives with no command waiting for it.
    if (awaiting_ <= 0) {
      refusal_ = "reply to no command";
      return false;
    }
    --awaiting_;
  }
  return true;
}

void* RedisClient::create_string(const redisReadTask* task, char* str, size_t len) {
  auto* self = static_cast<RedisClient*>(task->privdata);
  if (!self || !self->admit(task)) return nullptr;
  if (len > self->options_.limits.max_reply_bytes) {
    self->refusal_ = "string of " + std::to_string(len) + " bytes";
    return nullptr;
  }
  redisReply* r = new_reply(task, task->type);
  if (!r) return nullptr;
  r->str = static_cast<char*>(malloc(len + 1));
  if (!r->str) return nullptr;  // attached to its parent (freed with it) or leaked at worst once
  memcpy(r->str, str, len);
  r->str[len] = '\0';
  r->len = len;
  return r;
}

void* RedisClient::create_array(const redisReadTask* task, int elements) {
  auto* self = static_cast<RedisClient*>(task->privdata);
  if (!self || !self->admit(task)) return nullptr;
  if (elements < 0 || elements > self->options_.limits.max_elements) {
    self->refusal_ = "array of " + std::to_string(elements) + " elements";
    return nullptr;
  }
  redisReply* r = new_reply(task, REDIS_REPLY_ARRAY);
  if (!r) return nullptr;
  if (elements > 0) {
    r->element = static_cast<redisReply**>(calloc(size_t(elements), sizeof(redisReply*)));
    if (!r->element) return nullptr;
  }
  r->elements = size_t(elements);
  return r;
}

void* RedisClient::create_integer(const redisReadTask* task, long long value) {
  auto* self = static_cast<RedisClient*>(task->privdata);
  if (!self || !self->admit(task)) return nullptr;
  redisReply* r = new_reply(task, REDIS_REPLY_INTEGER);
  if (r) r->integer = value;
  return r;
}

void* RedisClient::create_nil(const redisReadTask* task) {
  auto* self = static_cast<RedisClient*>(task->privdata);
  if (!self || !self->admit(task)) return nullptr;
  return new_reply(task, REDIS_REPLY_NIL);
}

void RedisClient::ev_add_read(void* p) {
  auto* self = static_cast<RedisClient*>(p);
  self->want_read_ = true;
  self->update_events();
}
void RedisClient::ev_del_read(void* p) {
  auto* self = static_cast<RedisClient*>(p);
  self->want_read_ = false;
  self->update_events();
}
void RedisClient::ev_add_write(void* p) {
  auto* self = static_cast<RedisClient*>(p);
  self->want_write_ = true;
  self->update_events();
}
void RedisClient::ev_del_write(void* p) {
  auto* self = static_cast<RedisClient*>(p);
  self->want_write_ = false;
  self->update_events();
}
// hiredis frees the context (ours or its own decision: EOF, error): forget it.
void RedisClient::ev_cleanup(void* p) {
  auto* self = static_cast<RedisClient*>(p);
  if (self->registered_) self->loop_.remove(self->fd_);
  self->registered_ = self->want_read_ = self->want_write_ = false;
  self->fd_ = -1;
  self->ctx_ = nullptr;
}

void RedisClient::update_events() {
  if (fd_ < 0) return;
  uint32_t events = (want_read_ ? EPOLLIN : 0u) | (want_write_ ? EPOLLOUT : 0u);
  if (!registered_) {
    registered_ = loop_.add(fd_, events, this);
  } else {
    loop_.modify(fd_, events, this);
  }
}

void RedisClient::on_reply(redisAsyncContext*, void* reply, void* privdata) {
  auto* request = static_cast<Request*>(privdata);
  RedisClient* self = request->client;
  if (!self->sent_at_.empty()) self->sent_at_.pop_front();
  const auto* r = static_cast<const redisReply*>(reply);
  if (r && r->type == REDIS_REPLY_ERROR) ++self->counters_.error_replies;
  if (request->callback) request->callback(r);
  delete request;
}

bool RedisClient::send(const std::vector<std::string>& args, Callback callback) {
  if (!ctx_ || sent_at_.size() >= options_.limits.max_pending) return false;
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (const std::string& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* request = new Request{this, std::move(callback)};
  if (redisAsyncCommandArgv(ctx_, on_reply, request, int(args.size()), argv.data(), lens.data()) != REDIS_OK) {
    delete request;
    return false;
  }
  ++awaiting_;
  sent_at_.push_back(Clock::now());
  return true;
}

bool RedisClient::command(const std::vector<std::string>& args, Callback callback) {
  return up() && send(args, std::move(callback));
}

void RedisClient::connect(Clock::time_point now) {
  up_ = false;
  awaiting_ = 0;
  sent_at_.clear();
  std::string password;
  if (!options_.password_file.empty() &&
      !read_password(options_.password_file, options_.limits.max_password_bytes, password, last_error_)) {
    ++counters_.connect_failures;
    next_connect_ = now + backoff_.next();
    return;
  }
  // An address literal or a name from /etc/hosts: hiredis resolves it with getaddrinfo,
  // which would block this thread on a slow DNS server (Kubernetes: use the Service IP).
  redisAsyncContext* ac = redisAsyncConnect(options_.host.c_str(), options_.port);
  if (!ac || ac->err) {
    last_error_ = ac ? ac->errstr : "out of memory";
    if (ac) redisAsyncFree(ac);
    ++counters_.connect_failures;
    next_connect_ = now + backoff_.next();
    return;
  }
  static redisReplyObjectFunctions functions =
      bounded_functions(create_string, create_array, create_integer, create_nil);
  ac->c.reader->fn = &functions;
  ac->c.reader->privdata = this;
  ac->data = this;
  ctx_ = ac;
  fd_ = ac->c.fd;
  ac->ev.data = this;
  ac->ev.addRead = ev_add_read;
  ac->ev.delRead = ev_del_read;
  ac->ev.addWrite = ev_add_write;
  ac->ev.delWrite = ev_del_write;
  ac->ev.cleanup = ev_cleanup;
  redisAsyncSetDisconnectCallback(ac, [](const redisAsyncContext* c, int status) {
    auto* self = static_cast<RedisClient*>(c->data);
    if (status != REDIS_OK && c->errstr) self->last_error_ = c->errstr;
  });
  redisAsyncSetConnectCallback(ac, [](const redisAsyncContext* c, int status) {
    auto* self = static_cast<RedisClient*>(c->data);
    if (status != REDIS_OK && c->errstr) self->last_error_ = std::string("connect: ") + c->errstr;
  });
  auto failed = std::make_shared<bool>(false);
  if (!password.empty()) {
    send({"AUTH", password}, [this, failed](const redisReply* r) {
      if (r && r->type == REDIS_REPLY_STATUS) return;
      *failed = true;
      if (r) last_error_ = std::string("AUTH: ") + std::string(r->str ? r->str : "", r->len);
    });
  }
  send({"PING"}, [this, failed](const redisReply* r) {
    if (!r || *failed) return;
    if (r->type == REDIS_REPLY_STATUS && r->len == 4 && memcmp(r->str, "PONG", 4) == 0) {
      up_ = true;
      ++counters_.connects;
      backoff_.reset();
      last_error_.clear();
    } else {
      last_error_ = std::string("PING: ") + (r->str ? std::string(r->str, r->len) : "unexpected reply");
    }
  });
}

void RedisClient::fail(std::string why, Clock::time_point now) {
  if (up_) ++counters_.disconnects;
  else ++counters_.connect_failures;
  last_error_ = std::move(why);
  up_ = false;
  if (ctx_) redisAsyncFree(ctx_);  // pending callbacks see null; ev_cleanup clears ctx_
  ctx_ = nullptr;
  awaiting_ = 0;
  sent_at_.clear();
  next_connect_ = now + backoff_.next();
}

void RedisClient::on_event(uint32_t events) {
  if (!ctx_) return;
  const bool error = events & (EPOLLERR | EPOLLHUP);
  if ((events & EPOLLOUT) || (error && want_write_)) redisAsyncHandleWrite(ctx_);
  if (ctx_ && ((events & EPOLLIN) || (error && want_read_))) {
    refusal_.clear();
    redisAsyncHandleRead(ctx_);
    if (!refusal_.empty()) ++counters_.refused_replies;
    // A bulk string arrives whole before hiredis hands it over: bound what it buffers.
    if (ctx_ && ctx_->c.reader->len - ctx_->c.reader->pos > options_.limits.max_reply_bytes) {
      ++counters_.refused_replies;
      fail("reply larger than " + std::to_string(options_.limits.max_reply_bytes) + " bytes", Clock::now());
      return;
    }
    if (!refusal_.empty() && ctx_) {
      fail("refused reply: " + refusal_, Clock::now());
      return;
    }
    if (!refusal_.empty()) last_error_ = "refused reply: " + refusal_;
  }
  if (!ctx_) {
    // hiredis dropped the connection (EOF, protocol error, refused reply, AUTH/connect failure).
    if (up_) ++counters_.disconnects;
    else ++counters_.connect_failures;
    up_ = false;
    awaiting_ = 0;
    sent_at_.clear();
    next_connect_ = Clock::now() + backoff_.next();
  }
}

void RedisClient::tick(Clock::time_point now) {
  if (!ctx_) {
    if (now >= next_connect_) connect(now);
    return;
  }
  if (!up_ && sent_at_.empty()) {
    // AUTH or PING answered, but not as they should: start over later.
    fail(last_error_.empty() ? "handshake failed" : last_error_, now);
    return;
  }
  if (!sent_at_.empty() && now - sent_at_.front() > options_.command_timeout) {
    ++counters_.timeouts;
    fail(std::string(up_ ? "no reply" : "no answer to connect/PING") + " within " +
             std::to_string(options_.command_timeout.count()) + " ms",
         now);
  }
}

}  // namespace ringgate::control
