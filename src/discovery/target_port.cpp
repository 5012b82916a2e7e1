#include "ringgate/discovery/target_port.h"

#include <charconv>

namespace ringgate::discovery {

Result<TargetPort> parse_target_port(std::string_view text) {
  if (text.empty()) return Error{"target port is empty: give a port number or a port name"};
  bool all_digits = true;
  for (char c : text) all_digits = all_digits && c >= '0' && c <= '9';
  if (all_digits) {
    int number = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (ec != std::errc{} || end != text.data() + text.size() || number < 1 || number > 65535)
      return Error{"target port " + std::string(text) + " is out of range 1..65535"};
    return TargetPort{"", number};
  }
  bool letter = false;
  bool valid = text.size() <= 15 && text.front() != '-' && text.back() != '-';
  for (std::size_t i = 0; i < text.size() && valid; ++i) {
    char c = text[i];
    bool lower = c >= 'a' && c <= 'z';
    letter = letter || lower;
    valid = lower || (c >= '0' && c <= '9') || (c == '-' && text.substr(i, 2) != "--");
  }
  if (!valid || !letter)
    return Error{"target port name \"" + std::string(text) +
                 "\" is not a valid port name (at most 15 lowercase letters, digits and '-')"};
  return TargetPort{std::string(text), 0};
}

}  // namespace ringgate::discovery
