#include "ringgate/tokenize/normalizer.h"

#include <unicode/bytestream.h>
#include <unicode/normalizer2.h>

namespace ringgate::tokenize {

namespace {

util::Result<void> nfc(std::string_view in, std::string& out) {
  out.clear();
  bool ascii = true;
  for (char c : in) {
    if (static_cast<unsigned char>(c) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) {
    out.assign(in);
    return {};
  }
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* normalizer = icu::Normalizer2::getNFCInstance(status);
  if (U_FAILURE(status)) return util::Error{"NFC: ICU has no NFC data"};
  icu::StringPiece piece(in.data(), static_cast<int32_t>(in.size()));
  if (normalizer->isNormalizedUTF8(piece, status) && U_SUCCESS(status)) {
    out.assign(in);
    return {};
  }
  status = U_ZERO_ERROR;
  icu::StringByteSink<std::string> sink(&out, static_cast<int32_t>(in.size()));
  normalizer->normalizeUTF8(0, piece, sink, nullptr, status);
  if (U_FAILURE(status)) return util::Error{std::string("NFC: ") + u_errorName(status)};
  return {};
}

void replace_all(std::string_view in, std::string_view pattern, std::string_view content, std::string& out) {
  out.clear();
  if (pattern.empty()) {
    out.assign(in);
    return;
  }
  std::size_t pos = 0;
  while (true) {
    std::size_t hit = in.find(pattern, pos);
    if (hit == std::string_view::npos) break;
    out.append(in.substr(pos, hit - pos));
    out.append(content);
    pos = hit + pattern.size();
  }
  out.append(in.substr(pos));
}

}  // namespace

util::Result<void> Normalizer::apply(std::string_view text, std::string& out, std::string& scratch) const {
  out.assign(text);
  for (const Step& step : steps_) {
    switch (step.kind) {
      case Kind::Nfc: {
        auto r = nfc(out, scratch);
        if (!r) return r;
        break;
      }
      case Kind::Replace:
        replace_all(out, step.pattern, step.content, scratch);
        break;
      case Kind::Prepend:
        scratch.clear();
        if (!out.empty()) scratch.append(step.content).append(out);
        break;
    }
    out.swap(scratch);
  }
  return {};
}

}  // namespace ringgate::tokenize
