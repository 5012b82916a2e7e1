// An error answered the way vLLM's OpenAI server answers it:
//   {"error": {"message": ..., "type": ..., "param": ..., "code": <status>}}
#pragma once

#include <string>
#include <string_view>

namespace ringgate::sim {

struct ApiError {
  ApiError() = default;
  ApiError(int status_code, std::string text, std::string parameter = {}, std::string error_type = {})
      : status(status_code), message(std::move(text)), param(std::move(parameter)), type(std::move(error_type)) {}

  int status = 400;
  std::string message;
  std::string param;  // empty: null
  // Empty: error_type_for_status. vLLM's request-validation handler answers
  // "Bad Request" and its HTTPException handler the reason phrase ("Not Found").
  std::string type;
};

// A request that failed vLLM's request validation (pydantic, or a body that is not JSON).
inline ApiError validation_error(std::string message, std::string param = {}) {
  return ApiError{400, std::move(message), std::move(param), "Bad Request"};
}
// The same, under the short name the request validators use a hundred times.
inline ApiError bad(std::string message, std::string param = {}) {
  return validation_error(std::move(message), std::move(param));
}
// pydantic's message for a field of the wrong JSON type ("a valid string", ...).
inline ApiError wrong_type(std::string_view field, std::string_view expected) {
  return bad(std::string(field) + ": Input should be " + std::string(expected), std::string(field));
}

// vLLM's "type" for a status: BadRequestError, NotFoundError, InternalServerError, ...
// or the HTTP reason phrase for the others, as vLLM's HTTPException handler does.
const char* error_type_for_status(int status);

std::string error_body(const ApiError& error);

}  // namespace ringgate::sim
