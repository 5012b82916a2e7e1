#pragma once
// Header fields as the parsers hand them over, and the proxy's rules about them.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ringgate::http {

struct Header {
  std::string name;   // lower-cased
  std::string value;  // without the whitespace around it (trim_field_value)
};

using Headers = std::vector<Header>;

inline char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? char(c | 0x20) : c; }

// Appends `text` lower-cased (ASCII: field names are tokens, RFC 9110 §5.1).
inline void append_lower(std::string& out, const char* text, size_t len) {
  const size_t old = out.size();
  out.resize(old + len);
  for (size_t i = 0; i < len; ++i) out[old + i] = ascii_lower(text[i]);
}

bool iequals(std::string_view a, std::string_view b);

// RFC 9110 §5.5: a field value excludes the optional whitespace (SP, HTAB) before and
// after it; whitespace inside it is part of it. Every parser hands values over trimmed,
// so what routes, what is traced and what is forwarded is the same value.
inline bool is_ows(char c) { return c == ' ' || c == '\t'; }
// A control byte (C0 or DEL) anywhere: such a value is not taken as an id or a label.
inline bool has_control_bytes(std::string_view s) {
  for (const char c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
  return false;
}
inline std::string_view trim_field_value(std::string_view value) {
  while (!value.empty() && is_ows(value.front())) value.remove_prefix(1);
  while (!value.empty() && is_ows(value.back())) value.remove_suffix(1);
  return value;
}
// The same in place: the string only shrinks (no allocation).
inline void trim_field_value(std::string& value) {
  const std::string_view kept = trim_field_value(std::string_view(value));
  if (kept.size() == value.size()) return;
  value.erase(0, size_t(kept.data() - value.data()));
  value.resize(kept.size());
}

// The value of the first field called `name` (lower-case), or empty.
std::string_view find_header(std::span<const Header> headers, std::string_view name);
// Whether a field called `name` (lower-case) is there, even with an empty value.
bool has_header(std::span<const Header> headers, std::string_view name);

// Hop-by-hop fields (RFC 9110 §7.6.1) plus those named in the message's own
// Connection header: never forwarded by a proxy.
bool is_hop_by_hop(std::string_view lower_name, std::string_view connection_value);

// obs-fold (RFC 9112 §5.2: a field line that begins with a space or a tab continues the
// previous one), seen from llhttp's field callbacks: llhttp 8 joins folded lines (the head's
// and the trailers'), so a piece of a field name or value that follows a line feed and
// blanks is a fold. `begin` is the start of the bytes being parsed; what came before them
// is remembered by after_feed(), so a fold split across reads is seen too. Only an empty
// value folded into blanks alone ("X:\r\n \r\n") reaches no callback, and reads as empty.
class FoldWatch {
 public:
  void reset() { tail_ = Tail::Other; }
  // Whether the piece [at, at + len) of a field line, within a read starting at `begin`,
  // continues a folded line.
  bool folded(const char* begin, const char* at, size_t len) const {
    size_t blanks = 0;
    while (blanks < len && is_blank(at[blanks])) ++blanks;
    const char* q = at;
    while (q > begin && is_blank(q[-1])) {
      --q;
      ++blanks;
    }
    if (q > begin) return q[-1] == '\n' && blanks > 0;
    return (tail_ == Tail::Lf && blanks > 0) || tail_ == Tail::BlanksAfterLf;
  }
  // After llhttp took `data` (or its first `len` bytes): where its last line stands.
  void after_feed(const char* data, size_t len) {
    size_t end = len, blanks = 0;
    while (end > 0 && is_blank(data[end - 1])) {
      --end;
      ++blanks;
    }
    if (end > 0) {
      tail_ = data[end - 1] != '\n' ? Tail::Other : blanks > 0 ? Tail::BlanksAfterLf : Tail::Lf;
    } else if (blanks > 0 && tail_ != Tail::Other) {
      tail_ = Tail::BlanksAfterLf;
    }
  }

 private:
  enum class Tail : uint8_t { Other, Lf, BlanksAfterLf };
  static bool is_blank(char c) { return c == ' ' || c == '\t'; }
  Tail tail_ = Tail::Other;
};

}  // namespace ringgate::http
