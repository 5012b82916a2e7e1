// What an entry of the Responses API id table (proxy/response_table.h) costs in resident
// memory, with the allocator the gateway links (mimalloc): fills a table with N entries
// of K-byte ids and reads RSS (/proc/self/statm) before and after. One K per process (a
// freed table's pages stay with the allocator and would be reused by the next one).
//   ./build/perf/response_table_rss 256 [N]
// prints "K=256 N=200000 rss_per_entry=... counted_per_entry=...": counted_per_entry
// (ResponseTable::entry_bytes, what responses.maxBytes bounds) must not be below it.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "ringgate/proxy/response_table.h"

namespace {
long rss_bytes() {
  long pages = 0, resident = 0;
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
  std::fclose(f);
  return resident * sysconf(_SC_PAGESIZE);
}
}  // namespace

int main(int argc, char** argv) {
  using ringgate::proxy::ResponseTable;
  const size_t k = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 256;
  const size_t n = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 200'000;
  if (k < 16 || k > ResponseTable::kMaxIdBytes || n == 0) {
    std::fprintf(stderr, "usage: response_table_rss K(16..256) [N]\n");
    return 2;
  }
  ResponseTable table({n, size_t(1) << 40});
  std::string id;
  id.reserve(ResponseTable::kMaxIdBytes);
  const long before = rss_bytes();
  for (size_t i = 0; i < n; ++i) {
    id = "resp_" + std::to_string(i);
    id.resize(k, 'x');
    table.learn(id, i);
  }
  const long after = rss_bytes();
  if (table.size() != n || table.evictions() != 0) return 1;
  std::printf("K=%zu N=%zu rss_per_entry=%.1f counted_per_entry=%zu\n", k, n, double(after - before) / double(n),
              ResponseTable::entry_bytes(k));
  return 0;
}
