#include "ringgate/control/access_log_writer.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "ringgate/util/json_text.h"

namespace ringgate::control {
namespace {

int64_t clock_ns(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Milliseconds with microsecond precision: "12.345".
void append_ms(std::string& out, uint64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%llu.%03llu", static_cast<unsigned long long>(ns / 1000000),
                static_cast<unsigned long long>(ns / 1000 % 1000));
  out += buf;
}

// RFC 3339 UTC with milliseconds: "2026-11-22T03:10:00.123Z".
void append_time(std::string& out, int64_t wall_ns) {
  const time_t seconds = time_t(wall_ns / 1000000000);
  tm utc;
  gmtime_r(&seconds, &utc);
  char buf[40];
  const size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", int(wall_ns / 1000000 % 1000));
  out += buf;
}

}  // namespace

AccessLogOpen AccessLogWriter::open(const std::string& path) {
  AccessLogOpen result;
  if (path.empty()) {
    result.error = "access log: empty path (use \"-\" for standard output)";
    return result;
  }
  if (path == "-") {
    result.writer.reset(new AccessLogWriter(STDOUT_FILENO, false, path));
    return result;
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    result.error = "access log: cannot open " + path + ": " + std::strerror(errno);
    return result;
  }
  result.writer.reset(new AccessLogWriter(fd, true, path));
  return result;
}

AccessLogWriter::AccessLogWriter(int fd, bool owns_fd, std::string path)
    : fd_(fd), owns_fd_(owns_fd), path_(std::move(path)) {
  buffer_.reserve(64 * 1024);
}

AccessLogWriter::~AccessLogWriter() {
  if (owns_fd_) ::close(fd_);
}

void AccessLogWriter::format(std::string& out, const metrics::AccessRecord& r, int64_t wall_offset_ns) {
  out += "{\"time\":\"";
  append_time(out, int64_t(r.end_ns) + wall_offset_ns);
  out += "\",\"request_id\":";
  util::append_json_string(out, r.request_id.view());
  out += ",\"model\":";
  util::append_json_string(out, r.model.view());
  out += ",\"target_model\":";
  util::append_json_string(out, r.target_model.view());
  out += ",\"endpoint\":";
  util::append_json_string(out, r.endpoint.view());
  out += ",\"status\":";
  util::append_uint(out, r.status);
  out += r.stream ? ",\"stream\":true" : ",\"stream\":false";
  out += r.http_version == 20   ? ",\"protocol\":\"HTTP/2\""
         : r.http_version == 10 ? ",\"protocol\":\"HTTP/1.0\""
                                : ",\"protocol\":\"HTTP/1.1\"";
  out += ",\"attempts\":";
  util::append_uint(out, r.attempts);
  if (r.migrations) {
    out += ",\"migrations\":";
    util::append_uint(out, r.migrations);
    out += ",\"migrated_from\":";
    util::append_json_string(out, r.first_endpoint.view());
    out += ",\"migration_reason\":";
    util::append_json_string(out, r.migration.view());
  }
  // How long it waited in the gateway before a model server got it (flow-control queue,
  // held for a server at zero): a cold start's "released" point. null: never sent.
  out += ",\"wait_ms\":";
  if (r.attempts)
    append_ms(out, r.wait_ns);
  else
    out += "null";
  out += ",\"ttft_ms\":";
  if (r.ttft_ns) append_ms(out, r.ttft_ns);
  else out += "null";
  out += ",\"duration_ms\":";
  append_ms(out, r.duration_ns);
  out += ",\"prompt_tokens\":";
  util::append_uint(out, r.prompt_tokens);
  out += ",\"completion_tokens\":";
  util::append_uint(out, r.completion_tokens);
  if (r.traced) {
    // The request's trace and SERVER span (tracing on), as OTLP/JSON spells ids: lower-case hex.
    char hex[32];
    util::hex_id(r.trace_id.data(), r.trace_id.size(), hex);
    out.append(",\"trace_id\":\"").append(hex, 32).append("\"");
    util::hex_id(r.span_id.data(), r.span_id.size(), hex);
    out.append(",\"span_id\":\"").append(hex, 16).append("\"");
  }
  if (r.request_id.truncated || r.model.truncated || r.target_model.truncated) out += ",\"truncated\":true";
  out += "}\n";
}

size_t AccessLogWriter::flush(std::span<const metrics::WorkerStats* const> workers) {
  buffer_.clear();
  const int64_t offset = clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC);
  size_t records = 0;
  for (const metrics::WorkerStats* w : workers) {
    if (w == nullptr || !w->access_log.enabled()) continue;
    records += w->access_log.drain([&](const metrics::AccessRecord& r) { format(buffer_, r, offset); });
  }
  size_t done = 0;
  while (done < buffer_.size()) {
    const ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {  // a full disk or a closed pipe: these lines are lost, the gateway goes on
      ++write_errors_;
      return records;
    }
    done += size_t(n);
  }
  written_ += records;
  return records;
}

}  // namespace ringgate::control
