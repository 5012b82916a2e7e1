#pragma once
// Static entries (pool.discovery.static[]; --endpoint's localhost) whose host is a name: what each name
// resolved to the last time it resolved, and the endpoints that makes: one per address, on
// the entry's port. A leaf gateway's admin name is resolved likewise and paired with each
// api address (docs/multi-cluster.md#static-entries-by-name). A failed resolution keeps the
// last good set. Pure bookkeeping: gateway::StaticResolver resolves (off the control
// thread) and feeds the answers in.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ringgate/control/endpoint_pool.h"

namespace ringgate::control {

// Addresses one name may make (hostile input: a DNS answer's length is not ours to pick);
// the first ones of the answer are kept.
inline constexpr size_t kMaxAddressesPerName = 64;

// An IPv4 or IPv6 literal: used as it is, never resolved.
bool is_ip_literal(std::string_view host);

// getaddrinfo(AF_UNSPEC, SOCK_STREAM): the name's addresses as literals, in the answer's
// order, each once; nullopt when it does not resolve. Blocks: never on the control
// thread or a worker.
std::optional<std::vector<std::string>> resolve_host(const std::string& name);

class StaticResolution {
 public:
  // The entries as configured. Answers for names still used are kept (a reload does not
  // forget them); the others are dropped.
  void set_entries(std::vector<DesiredEndpoint> entries);
  // The names to resolve (api hosts and leaf admin hosts that are not IP literals), each once.
  std::vector<std::string> names() const;
  // Takes an answer for `name` (nullopt: it failed, the last good set stays, counted).
  // Returns whether its set of addresses changed. At most kMaxAddressesPerName are kept.
  bool apply(const std::string& name, const std::optional<std::vector<std::string>>& answer);
  // Every entry, a named one once per address its name has (none while it never resolved).
  std::vector<DesiredEndpoint> endpoints() const;
  // Whether every name has resolved at least once.
  bool all_resolved() const;
  uint64_t failures() const { return failures_; }
  uint64_t truncated() const { return truncated_; }  // answers cut to kMaxAddressesPerName

 private:
  std::vector<DesiredEndpoint> entries_;
  std::unordered_map<std::string, std::vector<std::string>> last_good_;  // name -> sorted addresses
  uint64_t failures_ = 0, truncated_ = 0;
};

}  // namespace ringgate::control
