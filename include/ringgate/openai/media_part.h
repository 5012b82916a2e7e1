#pragma once
// A chat content part that is media (`image_url`, `input_audio`) as the prompt's text
// stream carries it: one record of kMediaRecordBytes, 0xFE, the kind, then the hash of
// the media's decoded bytes (MediaHasher). Both readers (BodyScanner's TextSink::media,
// BodyReader's prompt_parts) hand it on as one part of its own, and the prefix hashers
// (sched/prefix_hasher.h) weigh it as the tokens the model spends on it. 0xFE never
// occurs in UTF-8 text, so no text part can be mistaken for a record, and two records
// differ exactly when their kinds or hashes do.
//
// What a body's content parts were, counted per request (MediaPartCounts) and added to
// the worker's counters (MediaPartCounters, ringgate_media_parts_total) when the body was
// understood.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ringgate/openai/media_hasher.h"
#include "ringgate/util/single_writer_stats.h"

namespace ringgate::openai {

inline constexpr size_t kMediaRecordBytes = 16;
inline constexpr unsigned char kMediaRecordMark = 0xFE;

struct MediaRecord {
  std::array<char, kMediaRecordBytes> bytes{};
  std::string_view view() const { return {bytes.data(), bytes.size()}; }
};

inline MediaRecord make_media_record(MediaKind kind, uint64_t hash) {
  MediaRecord r;
  r.bytes[0] = char(kMediaRecordMark);
  r.bytes[1] = char(kind);
  for (size_t i = 0; i < 8; ++i) r.bytes[8 + i] = char(hash >> (8 * i));
  return r;
}

// Is this prompt part a media record? Its kind then, else nothing.
inline bool media_record_kind(std::string_view part, MediaKind& kind) {
  if (part.size() != kMediaRecordBytes || static_cast<unsigned char>(part[0]) != kMediaRecordMark) return false;
  kind = MediaKind(part[1]);
  return kind == MediaKind::Image || kind == MediaKind::Audio;
}

// How a content part was read: hashed as an image or audio (a unit of the chain), or
// passed through unhashed: a broken data URI / base64 (or an image_url part without a
// url), or a part type the gateway does not hash (video_url, file, ...; text is not
// counted).
enum class MediaOutcome : uint8_t { Image, Audio, Broken, Unknown };
inline constexpr std::array<std::string_view, 4> kMediaOutcomeNames = {"image", "audio", "broken", "unknown_type"};

struct MediaPartCounts {
  std::array<uint32_t, kMediaOutcomeNames.size()> parts{};
  void count(MediaOutcome o) { ++parts[size_t(o)]; }
  bool operator==(const MediaPartCounts&) const = default;
};

// One worker's (single writer), summed at scrape time.
struct MediaPartCounters {
  std::array<util::SingleWriterCounter, kMediaOutcomeNames.size()> parts;
  void add(const MediaPartCounts& c) {
    for (size_t i = 0; i < parts.size(); ++i)
      if (c.parts[i] != 0) parts[i].add(c.parts[i]);
  }
};

// The part type's outcome when it is media ("image_url", "input_audio"); text is none.
enum class PartType : uint8_t { None, Text, Image, Audio, Other };
inline PartType part_type_of(std::string_view type) {
  if (type == "text") return PartType::Text;
  if (type == "image_url") return PartType::Image;
  if (type == "input_audio") return PartType::Audio;
  return PartType::Other;
}

// What one content part adds when it closes, the same rule for both readers: its type
// says which of its media values counts (the last `image_url` / `input_audio` value it
// holds, hashed or not); an image or audio part without a good hash is broken.
struct PartMedia {
  bool image = false, audio = false;  // a hash of that kind was made
  uint64_t image_hash = 0, audio_hash = 0;
};
inline bool close_content_part(PartType type, const PartMedia& media, MediaPartCounts& counts, MediaRecord& out) {
  switch (type) {
    case PartType::Image:
    case PartType::Audio: {
      const bool image = type == PartType::Image;
      if (!(image ? media.image : media.audio)) {
        counts.count(MediaOutcome::Broken);
        return false;
      }
      counts.count(image ? MediaOutcome::Image : MediaOutcome::Audio);
      out = make_media_record(image ? MediaKind::Image : MediaKind::Audio, image ? media.image_hash : media.audio_hash);
      return true;
    }
    case PartType::Other: counts.count(MediaOutcome::Unknown); return false;
    default: return false;  // text (emitted as it was read), or no type
  }
}

}  // namespace ringgate::openai
