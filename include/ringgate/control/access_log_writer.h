#pragma once
// The structured access log's writer, on the control thread: drains every worker's
// AccessLogRing and appends one JSON line per request to the log file (or standard
// output) with one write() per flush. Called about every 100 ms and once more at
// shutdown; nothing here runs on the request path.
//
// A line: {"time":"2026-11-22T03:10:00.123Z","request_id":"…","model":"my-chat",
//   "target_model":"facebook/opt-125m","endpoint":"10.0.0.1:8000","status":200,
//   "stream":true,"attempts":1,"ttft_ms":12.345,"duration_ms":456.789,
//   "prompt_tokens":31,"completion_tokens":22}
// ttft_ms is null when no response byte reached the client, endpoint "" when no
// model server was tried, token counts 0 when the response reported no usage.
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "ringgate/metrics/access_log_ring.h"
#include "ringgate/metrics/gateway_stats.h"

namespace ringgate::control {

class AccessLogWriter;

struct AccessLogOpen {
  std::unique_ptr<AccessLogWriter> writer;  // null on error
  std::string error;
};

class AccessLogWriter {
 public:
  // "-" = standard output; otherwise the file is created if needed and appended to.
  static AccessLogOpen open(const std::string& path);
  ~AccessLogWriter();
  AccessLogWriter(const AccessLogWriter&) = delete;
  AccessLogWriter& operator=(const AccessLogWriter&) = delete;

  // Drains the rings of `workers` (null entries skipped) and writes their lines.
  // Returns the number of records written.
  size_t flush(std::span<const metrics::WorkerStats* const> workers);

  uint64_t records_written() const { return written_; }
  uint64_t write_errors() const { return write_errors_; }
  const std::string& path() const { return path_; }

  // One record as its JSON line (with the trailing newline), `wall_offset_ns` =
  // CLOCK_REALTIME − CLOCK_MONOTONIC. Exposed for tests.
  static void format(std::string& out, const metrics::AccessRecord& r, int64_t wall_offset_ns);

 private:
  AccessLogWriter(int fd, bool owns_fd, std::string path);
  int fd_;
  bool owns_fd_;
  std::string path_;
  std::string buffer_;
  uint64_t written_ = 0, write_errors_ = 0;
};

}  // namespace ringgate::control
