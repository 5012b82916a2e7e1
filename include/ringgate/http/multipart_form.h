#pragma once
// multipart/form-data bodies (RFC 7578, over RFC 2046's multipart grammar), read from a
// body that is already buffered whole: the parts one at a time, each with its form
// field's name, whether it is a file, and its content as a view into the body (no copy).
//
// Bounds: a boundary of 1..70 bytes (RFC 2046 §5.1.1), at most limits.max_parts parts,
// each part's head (its header lines) at most limits.max_part_head_bytes. The work is
// linear in the body: each delimiter is searched for once, from where the last one ended.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ringgate::http {

inline constexpr size_t kMaxBoundaryBytes = 70;

struct MultipartLimits {
  size_t max_parts = 64;
  size_t max_part_head_bytes = 4096;
};

// The boundary parameter of a `multipart/form-data` Content-Type (quotes removed);
// empty when the media type is another one, or the boundary is missing, longer than
// kMaxBoundaryBytes or holds a byte RFC 2046 does not allow in one.
std::string_view form_data_boundary(std::string_view content_type);

struct FormPart {
  // The form field's name: Content-Disposition's name parameter as written between its
  // quotes (an escaped quote stays escaped: the names routing reads have none).
  std::string_view name;
  // Its Content-Disposition field's value, without the whitespace around it (a view into
  // the body, as every field here).
  std::string_view disposition;
  bool file = false;        // the part has a filename parameter
  std::string_view content; // the part's bytes, a view into the body
  size_t offset = 0;        // where content starts in the body
};

enum class MultipartStatus : uint8_t {
  Part,          // `part` holds the next part
  End,           // the close delimiter was read: no more parts
  Malformed,     // not a multipart body with this boundary (or a part without a form-data name)
  TooManyParts,  // more than limits.max_parts parts
  HeadTooLarge,  // a part's header lines are longer than limits.max_part_head_bytes
};

class MultipartReader {
 public:
  // `boundary` from form_data_boundary() (1..kMaxBoundaryBytes bytes); `body` must
  // outlive the reader and the parts it hands out.
  MultipartReader(std::string_view body, std::string_view boundary, MultipartLimits limits = {});

  // The next part, or the end, or why the body cannot be read; once not Part, every
  // later call answers the same.
  MultipartStatus next(FormPart& part);

 private:
  MultipartStatus fail(MultipartStatus status) { return done_ = status; }
  // After a delimiter at `at` (its bytes excluded): "--" ends the form, else optional
  // spaces and tabs, then CRLF, and a part begins. False when neither follows.
  bool after_delimiter(size_t at);
  MultipartStatus read_head(FormPart& part, size_t head_end);

  std::string_view body_;
  MultipartLimits limits_;
  char delimiter_[4 + kMaxBoundaryBytes];  // CRLF "--" boundary
  size_t delimiter_size_ = 0;
  size_t pos_ = 0;      // where the next part's head starts
  size_t parts_ = 0;
  bool closed_ = false; // the close delimiter was read
  MultipartStatus done_ = MultipartStatus::Part;  // Part: still reading
};

}  // namespace ringgate::http
