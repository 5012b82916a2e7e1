#include "ringgate/sim/audio_api.h"

#include <strings.h>

#include <algorithm>
#include <cstring>

#include "ringgate/http/multipart_form.h"
#include "ringgate/sim/responses.h"
#include "ringgate/util/json_text.h"

namespace ringgate::sim {
namespace {

bool form_true(std::string_view value) {
  for (std::string_view yes : {"1", "on", "t", "true", "y", "yes"})
    if (value.size() == yes.size() && strncasecmp(value.data(), yes.data(), value.size()) == 0) return true;
  return false;
}

uint32_t read_le32(std::string_view s, size_t at) {
  uint32_t v = 0;
  std::memcpy(&v, s.data() + at, 4);
  return v;  // (the sim runs on little-endian hosts only, as its token ids assume)
}

// How long `file` plays, in whole seconds rounded up: a canonical WAV's samples at
// its fmt byte rate, any other file as 16 kHz 16-bit mono.
uint32_t play_seconds(std::string_view file) {
  uint64_t byte_rate = 32000, samples = file.size();
  if (file.size() >= 44 && file.substr(0, 4) == "RIFF" && file.substr(8, 4) == "WAVE" && file.substr(12, 4) == "fmt ") {
    const uint32_t rate = read_le32(file, 28);
    if (rate > 0) byte_rate = rate;
    samples = file.size() - 44;
  }
  return uint32_t(std::max<uint64_t>(1, (samples + byte_rate - 1) / byte_rate));
}

}  // namespace

ParsedAudio parse_audio_request(AudioTask task, std::string_view content_type, std::string_view body) {
  const std::string_view boundary = http::form_data_boundary(content_type);
  if (boundary.empty()) return bad("There was an error parsing the body");
  AudioRequest r;
  r.task = task;
  http::MultipartReader reader(body, boundary);
  http::FormPart part;
  http::MultipartStatus status;
  bool has_file = false;
  while ((status = reader.next(part)) == http::MultipartStatus::Part) {
    if (part.name == "file") {
      if (!part.file) return bad("Expected 'file' to be a file-like object, not 'str'.", "file");
      has_file = true;
      r.file_bytes = part.content.size();
      r.seconds = play_seconds(part.content);
    } else if (part.name == "model") {
      r.model.emplace(part.content);
    } else if (part.name == "stream") {
      r.stream = form_true(part.content);
    } else if (part.name == "response_format") {
      if (part.content != "json" && part.content != "text")
        return bad("Currently only support response_format `text` or `json`", "response_format");
      r.text_format = part.content == "text";
    }
  }
  if (status != http::MultipartStatus::End) return bad("There was an error parsing the body");
  if (!has_file) return bad("file: Field required", "file");
  return r;
}

std::string audio_text(const AudioRequest& r) {
  return std::string(r.task == AudioTask::translation ? "Simulated translation" : "Simulated transcription") +
         " of " + std::to_string(r.seconds) + " seconds of audio.";
}

std::string audio_response(const AudioRequest& r) {
  std::string out = "{\"text\":";
  util::append_json_string(out, audio_text(r));
  if (r.task == AudioTask::transcription) {
    out += ",\"usage\":{\"type\":\"duration\",\"seconds\":";
    util::append_uint(out, r.seconds);
    out += '}';
  }
  out += '}';
  return out;
}

std::string audio_events(const AudioRequest& r, std::string_view model, uint64_t created, uint64_t id_random) {
  const bool translation = r.task == AudioTask::translation;
  std::string head = "{\"id\":\"";
  head += translation ? "trsl-" : "trsc-";
  util::append_hex(head, id_random);
  head += translation ? "\",\"object\":\"translation.chunk\",\"created\":" : "\",\"object\":\"transcription.chunk\",\"created\":";
  util::append_uint(head, created);
  head += ",\"model\":";
  util::append_json_string(head, model);
  std::string out = "data: " + head + ",\"choices\":[{\"delta\":{\"content\":";
  util::append_json_string(out, audio_text(r));
  out += "},\"finish_reason\":null,\"stop_reason\":null}]}\n\n";
  out += "data: " + head + ",\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\",\"stop_reason\":null}]}\n\n";
  out += kDoneEvent;
  return out;
}

}  // namespace ringgate::sim
