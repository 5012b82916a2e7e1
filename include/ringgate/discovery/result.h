#pragma once
// Errors as values for the discovery layer: a Result<T> holds a T or an Error.
#include <string>
#include <utility>
#include <variant>

namespace ringgate::discovery {

struct Error {
  std::string message;
  // The HTTP status, or a Status object's `code`, when the API server answered
  // with one (401, 403, 410, 500 …); 0 for transport and parse errors.
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

}  // namespace ringgate::discovery
