#pragma once
// The routing fields of a multipart/form-data request body (vLLM's audio endpoints):
// the "model" form field (its raw value's place in the body, for a rewrite to splice)
// and "stream". The form's other parts (the audio file, language, prompt, ...) are
// the model server's; only their count and sizes are bounded here.
#include <cstddef>
#include <string_view>

#include "ringgate/openai/request_body.h"

namespace ringgate::openai {

inline constexpr size_t kMaxFormParts = 64;
inline constexpr size_t kMaxFormPartHeadBytes = 4096;
// A form field that is not a file (model, language, prompt, temperature, ...): vLLM's
// are short; a larger one is refused before any server is asked.
inline constexpr size_t kMaxFormFieldBytes = 64 * 1024;

// `content_type`: the request's Content-Type (multipart/form-data with a boundary).
// Errors: 400 with an OpenAI error code, as BodyReader's.
BodyError read_form_body(std::string_view content_type, std::string_view body, RequestFields& out);

}  // namespace ringgate::openai
