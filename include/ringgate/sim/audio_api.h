// vLLM's speech-to-text endpoints, /v1/audio/transcriptions and /v1/audio/translations:
// a multipart/form-data upload (file, model, language, prompt, response_format,
// temperature, stream) answered in vLLM's shapes: {"text", "usage": {"type":
// "duration", "seconds"}} (a translation: {"text"}), the bare text for
// response_format=text, or a stream of transcription.chunk / translation.chunk events.
// The simulator decodes no audio: the text says how long the upload would play (16 kHz
// 16-bit mono, or a WAV header's byte rate).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "ringgate/sim/api_error.h"

namespace ringgate::sim {

enum class AudioTask : uint8_t { transcription, translation };

struct AudioRequest {
  AudioTask task = AudioTask::transcription;
  std::optional<std::string> model;
  uint64_t file_bytes = 0;
  uint32_t seconds = 0;  // how long the upload plays (at least 1)
  bool text_format = false;  // response_format=text: the bare text
  bool stream = false;
};

using ParsedAudio = std::variant<AudioRequest, ApiError>;
ParsedAudio parse_audio_request(AudioTask task, std::string_view content_type, std::string_view body);

// The transcribed (made-up) text.
std::string audio_text(const AudioRequest& request);
// The JSON body (not text_format).
std::string audio_response(const AudioRequest& request);
// Stream: one event with the text, one with finish_reason "stop", then [DONE].
std::string audio_events(const AudioRequest& request, std::string_view model, uint64_t created, uint64_t id_random);

}  // namespace ringgate::sim
