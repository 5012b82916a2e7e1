#include "ringgate/control/static_resolution.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <unordered_set>

namespace ringgate::control {

bool is_ip_literal(std::string_view host) {
  if (host.empty() || host.size() >= INET6_ADDRSTRLEN) return false;
  char text[INET6_ADDRSTRLEN];
  host.copy(text, host.size());
  text[host.size()] = '\0';
  unsigned char bytes[sizeof(in6_addr)];
  return inet_pton(AF_INET, text, bytes) == 1 || inet_pton(AF_INET6, text, bytes) == 1;
}

std::optional<std::vector<std::string>> resolve_host(const std::string& name) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_family = AF_UNSPEC;
  addrinfo* found = nullptr;
  if (getaddrinfo(name.c_str(), nullptr, &hints, &found) != 0 || !found) return std::nullopt;
  std::vector<std::string> out;
  std::unordered_set<std::string> seen;
  for (addrinfo* a = found; a; a = a->ai_next) {
    char text[INET6_ADDRSTRLEN] = {};
    const void* bytes = nullptr;
    if (a->ai_family == AF_INET)
      bytes = &reinterpret_cast<const sockaddr_in*>(a->ai_addr)->sin_addr;
    else if (a->ai_family == AF_INET6)
      bytes = &reinterpret_cast<const sockaddr_in6*>(a->ai_addr)->sin6_addr;
    if (!bytes || !inet_ntop(a->ai_family, bytes, text, sizeof text)) continue;
    if (seen.insert(text).second) out.emplace_back(text);
  }
  freeaddrinfo(found);
  if (out.empty()) return std::nullopt;
  return out;
}

void StaticResolution::set_entries(std::vector<DesiredEndpoint> entries) {
  entries_ = std::move(entries);
  std::unordered_map<std::string, std::vector<std::string>> kept;
  for (const std::string& name : names())
    if (auto it = last_good_.find(name); it != last_good_.end()) kept.emplace(name, std::move(it->second));
  last_good_ = std::move(kept);
}

std::vector<std::string> StaticResolution::names() const {
  std::vector<std::string> out;
  std::unordered_set<std::string_view> seen;
  auto add = [&](const std::string& host) {
    if (!host.empty() && !is_ip_literal(host) && seen.insert(host).second) out.push_back(host);
  };
  for (const DesiredEndpoint& e : entries_) {
    add(e.host);
    if (e.gateway) add(e.admin_host);
  }
  return out;
}

bool StaticResolution::apply(const std::string& name, const std::optional<std::vector<std::string>>& answer) {
  if (!answer || answer->empty()) {
    ++failures_;
    return false;
  }
  std::vector<std::string> addresses;
  std::unordered_set<std::string_view> seen;
  for (const std::string& a : *answer) {
    if (!seen.insert(a).second) continue;
    if (addresses.size() == kMaxAddressesPerName) {
      ++truncated_;
      break;
    }
    addresses.push_back(a);
  }
  std::sort(addresses.begin(), addresses.end());
  auto [it, inserted] = last_good_.try_emplace(name);
  if (!inserted && it->second == addresses) return false;
  it->second = std::move(addresses);
  return true;
}

bool StaticResolution::all_resolved() const {
  for (const std::string& name : names())
    if (!last_good_.contains(name)) return false;
  return true;
}

std::vector<DesiredEndpoint> StaticResolution::endpoints() const {
  std::vector<DesiredEndpoint> out;
  const std::vector<std::string> kNone;
  auto addresses_of = [&](const std::string& host) -> const std::vector<std::string>& {
    auto it = last_good_.find(host);
    return it == last_good_.end() ? kNone : it->second;
  };
  for (const DesiredEndpoint& e : entries_) {
    if (is_ip_literal(e.host)) {
      if (!e.gateway || e.admin_host.empty() || is_ip_literal(e.admin_host)) {
        out.push_back(e);
        continue;
      }
    }
    // One address when the host is a literal, else each its name has.
    const std::vector<std::string> literal{e.host};
    const std::vector<std::string>& api = is_ip_literal(e.host) ? literal : addresses_of(e.host);
    for (size_t i = 0; i < api.size(); ++i) {
      DesiredEndpoint d = e;
      d.host = api[i];
      if (e.gateway && !e.admin_host.empty() && !is_ip_literal(e.admin_host)) {
        // The admin address on the same host as this api address: the same name's address,
        // else the admin name's address on that IP, else its i-th (round the list).
        const std::vector<std::string>& admin = addresses_of(e.admin_host);
        if (e.admin_host == e.host)
          d.admin_host = api[i];
        else if (admin.empty())
          continue;  // not resolved yet: unreadable, left out until it is
        else if (std::binary_search(admin.begin(), admin.end(), api[i]))
          d.admin_host = api[i];
        else
          d.admin_host = admin[i % admin.size()];
      }
      out.push_back(std::move(d));
    }
  }
  return out;
}

}  // namespace ringgate::control
