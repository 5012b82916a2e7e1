// An error answered the way vLLM's OpenAI server answers it:
//   {"error": {"message": ..., "type": ..., "param": ..., "code": <status>}}
#pragma once

#include <string>

namespace ringgate::sim {

struct ApiError {
  int status = 400;
  std::string message;
  std::string param;  // empty: null
};

// vLLM's "type" for a status: BadRequestError, NotFoundError, InternalServerError, ...
// or the HTTP reason phrase for the others, as vLLM's HTTPException handler does.
const char* error_type_for_status(int status);

std::string error_body(const ApiError& error);

}  // namespace ringgate::sim
