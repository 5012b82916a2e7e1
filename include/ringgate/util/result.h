#pragma once
// THE error-return type of the project (CONTRIBUTING.md): a Result<T> holds a T or
// an Error; Result<void> is "ok or an Error". Errors are values: no exceptions on
// the hot path, and a caller cannot ignore one ([[nodiscard]]).
#include <string>
#include <utility>
#include <variant>

namespace ringgate::util {

struct Error {
  std::string message;
  // The HTTP status when the failure was an HTTP answer (or a Kubernetes Status
  // object's `code`: 401, 403, 410, 500 …); 0 for transport and parse errors.
  int http_status = 0;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

}  // namespace ringgate::util
