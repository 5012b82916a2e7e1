#include "ringgate/http/multipart_form.h"

#include <string.h>

#include <algorithm>
#include <cstring>

#include "ringgate/http/headers.h"

namespace ringgate::http {

namespace {

constexpr std::string_view kCrlf = "\r\n";

// Optional whitespace around a value or a parameter.
std::string_view trim(std::string_view s) { return trim_field_value(s); }

// RFC 2046 §5.1.1 bchars: digits, letters, '()+_,-./:=? and space (never last).
bool is_boundary_char(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("'()+_,-./:=? ").find(c) != std::string_view::npos;
}

// One `;`-separated parameter of a header value: its name and its value (a token, or
// a quoted string's bytes between the quotes, escapes left as written). Advances `rest`
// past it; false when the parameter is not well formed.
bool next_parameter(std::string_view& rest, std::string_view& name, std::string_view& value) {
  const size_t eq = rest.find('=');
  if (eq == std::string_view::npos) return false;
  name = trim(rest.substr(0, eq));
  rest.remove_prefix(eq + 1);
  while (!rest.empty() && is_ows(rest.front())) rest.remove_prefix(1);
  if (!rest.empty() && rest.front() == '"') {
    size_t i = 1;
    while (i < rest.size() && rest[i] != '"') i += rest[i] == '\\' ? 2 : 1;
    if (i >= rest.size()) return false;  // no closing quote
    value = rest.substr(1, i - 1);
    rest.remove_prefix(i + 1);
    rest = trim(rest);
    if (!rest.empty() && rest.front() != ';') return false;
  } else {
    const size_t semicolon = rest.find(';');
    value = trim(rest.substr(0, semicolon));
    rest.remove_prefix(semicolon == std::string_view::npos ? rest.size() : semicolon);
  }
  if (!rest.empty()) rest.remove_prefix(1);  // the ';'
  return !name.empty();
}

}  // namespace

std::string_view form_data_boundary(std::string_view content_type) {
  const size_t semicolon = content_type.find(';');
  if (semicolon == std::string_view::npos || !iequals(trim(content_type.substr(0, semicolon)), "multipart/form-data"))
    return {};
  std::string_view rest = content_type.substr(semicolon + 1);
  std::string_view name, value;
  while (!trim(rest).empty()) {
    if (!next_parameter(rest, name, value)) return {};
    if (!iequals(name, "boundary")) continue;
    if (value.empty() || value.size() > kMaxBoundaryBytes || value.back() == ' ') return {};
    if (!std::all_of(value.begin(), value.end(), is_boundary_char)) return {};
    return value;
  }
  return {};
}

MultipartReader::MultipartReader(std::string_view body, std::string_view boundary, MultipartLimits limits)
    : body_(body), limits_(limits) {
  if (boundary.empty() || boundary.size() > kMaxBoundaryBytes) {
    done_ = MultipartStatus::Malformed;
    return;
  }
  std::memcpy(delimiter_, "\r\n--", 4);
  std::memcpy(delimiter_ + 4, boundary.data(), boundary.size());
  delimiter_size_ = 4 + boundary.size();
  // The first delimiter may open the body (no CRLF before it) or follow a preamble.
  const std::string_view first(delimiter_ + 2, delimiter_size_ - 2);
  size_t at = 0;
  if (body_.starts_with(first)) {
    at = first.size();
  } else {
    const void* found = ::memmem(body_.data(), body_.size(), delimiter_, delimiter_size_);
    if (found == nullptr) {
      done_ = MultipartStatus::Malformed;
      return;
    }
    at = size_t(static_cast<const char*>(found) - body_.data()) + delimiter_size_;
  }
  if (!after_delimiter(at)) done_ = MultipartStatus::Malformed;
}

bool MultipartReader::after_delimiter(size_t at) {
  const std::string_view rest = body_.substr(at);
  if (rest.starts_with("--")) {
    closed_ = true;  // the epilogue after it is ignored
    return true;
  }
  size_t i = 0;
  while (i < rest.size() && is_ows(rest[i])) ++i;  // transport padding
  if (rest.substr(i, 2) != kCrlf) return false;
  pos_ = at + i + 2;
  return true;
}

MultipartStatus MultipartReader::read_head(FormPart& part, size_t head_end) {
  part = FormPart{};
  bool disposition = false;
  std::string_view head = body_.substr(pos_, head_end - pos_);
  while (!head.empty()) {
    const size_t eol = head.find(kCrlf);
    const std::string_view line = head.substr(0, eol);
    head.remove_prefix(eol == std::string_view::npos ? head.size() : eol + 2);
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0 || is_ows(line.front())) return fail(MultipartStatus::Malformed);
    if (!iequals(line.substr(0, colon), "content-disposition")) continue;
    // A second one could name the part differently for the model server: refused.
    if (disposition) return fail(MultipartStatus::Malformed);
    disposition = true;
    // The field's value without the whitespace around it (RFC 9110 §5.5, as the request
    // parser's); its parameters are read from that.
    part.disposition = trim_field_value(line.substr(colon + 1));
    std::string_view rest = part.disposition;
    const size_t semicolon = rest.find(';');
    if (!iequals(trim(rest.substr(0, semicolon)), "form-data")) return fail(MultipartStatus::Malformed);
    rest.remove_prefix(semicolon == std::string_view::npos ? rest.size() : semicolon + 1);
    bool named = false;
    std::string_view name, value;
    while (!trim(rest).empty()) {
      if (!next_parameter(rest, name, value)) return fail(MultipartStatus::Malformed);
      if (iequals(name, "name")) {
        if (named) return fail(MultipartStatus::Malformed);
        named = true;
        part.name = value;
      } else if (iequals(name, "filename") || iequals(name, "filename*")) {
        part.file = true;
      }
    }
    if (!named) return fail(MultipartStatus::Malformed);
  }
  return disposition ? MultipartStatus::Part : fail(MultipartStatus::Malformed);
}

MultipartStatus MultipartReader::next(FormPart& part) {
  if (done_ != MultipartStatus::Part) return done_;
  if (closed_) return fail(MultipartStatus::End);
  if (parts_ == limits_.max_parts) return fail(MultipartStatus::TooManyParts);
  // The head ends at a blank line: its last CRLF, then CRLF. A part without header
  // lines (its head is that blank line alone) has no name: malformed.
  const size_t window = std::min(body_.size() - pos_, limits_.max_part_head_bytes + 4);
  const void* blank = ::memmem(body_.data() + pos_, window, "\r\n\r\n", 4);
  if (blank == nullptr) {
    if (body_.size() - pos_ >= limits_.max_part_head_bytes + 4) return fail(MultipartStatus::HeadTooLarge);
    return fail(MultipartStatus::Malformed);
  }
  const size_t head_end = size_t(static_cast<const char*>(blank) - body_.data());
  if (read_head(part, head_end) != MultipartStatus::Part) return done_;
  const size_t content = head_end + 4;
  const void* found = ::memmem(body_.data() + content, body_.size() - content, delimiter_, delimiter_size_);
  if (found == nullptr) return fail(MultipartStatus::Malformed);  // no delimiter after the content
  const size_t end = size_t(static_cast<const char*>(found) - body_.data());
  part.content = body_.substr(content, end - content);
  part.offset = content;
  if (!after_delimiter(end + delimiter_size_)) return fail(MultipartStatus::Malformed);
  ++parts_;
  return MultipartStatus::Part;
}

}  // namespace ringgate::http
