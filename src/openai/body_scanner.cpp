#include "ringgate/openai/body_scanner.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <cstring>
#include <string_view>

#include "ringgate/util/json_text.h"

namespace ringgate::openai {

namespace {

// Routing fields met at the root: each may appear once (a second one gives up,
// BodyReader then reads the body as it always did). Text fields count by their own bit.
constexpr uint32_t kSeenModel = 1u << 16, kSeenStream = 1u << 17;
constexpr uint32_t kSeenRoutingKey = 1u << 18;  // << the key's index: bits 18..21
static_assert(kRoutingKeyCount <= 4, "routing keys take bits 18..21 of seen_");
static_assert(sizeof(TextFields) == 2, "text fields take the low 16 bits of seen_");

bool is_digit(char c) { return c >= '0' && c <= '9'; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// What a one-character escape (\" \\ \/ \b \f \n \r \t) stands for; 0 for any other byte.
char simple_escape(char c) {
  switch (c) {
    case '"': case '\\': case '/': return c;
    case 'b': return '\b';
    case 'f': return '\f';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    default: return 0;
  }
}

// Prompt text decoded within one scan_string() call, handed on in pieces of up to this
// size: prose and code escape a newline or a quote every few dozen bytes, and a piece
// per escape made the sink (the prefix hasher) the scanner's largest cost.
constexpr size_t kGatherBytes = 4096;

// The first byte in [p, end) a string scan must look at: a quote, a backslash, or a
// byte below 0x20 as a signed char (control bytes and every byte >= 0x80); end if
// none. Long prompts are mostly plain text, so this loop is most of a scan: 32 bytes
// at a time where the CPU has AVX2 (the build targets baseline x86-64), else 16.
const char* find_special_sse2(const char* p, const char* end) {
#if defined(__x86_64__)
  const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'), space = _mm_set1_epi8(0x20);
  for (; end - p >= 16; p += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                                     _mm_cmplt_epi8(v, space));
    const int mask = _mm_movemask_epi8(hit);
    if (mask != 0) return p + __builtin_ctz(unsigned(mask));
  }
#endif
  while (p < end && *p != '"' && *p != '\\' && static_cast<signed char>(*p) >= 0x20) ++p;
  return p;
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) const char* find_special_avx2(const char* p, const char* end) {
  const __m256i quote = _mm256_set1_epi8('"'), backslash = _mm256_set1_epi8('\\'), space = _mm256_set1_epi8(0x20);
  for (; end - p >= 32; p += 32) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    const __m256i hit = _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(v, quote), _mm256_cmpeq_epi8(v, backslash)),
                                        _mm256_cmpgt_epi8(space, v));
    const unsigned mask = unsigned(_mm256_movemask_epi8(hit));
    if (mask != 0) return p + __builtin_ctz(mask);
  }
  return find_special_sse2(p, end);
}

// A static initializer may run before libgcc's own CPU probe: it asks first.
const auto find_special = [] {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") ? find_special_avx2 : find_special_sse2;
}();
#else
const auto find_special = find_special_sse2;
#endif

// Number grammar states (RFC 8259): after '-', after a leading 0, in the integer
// digits, after '.', in the fraction, after 'e', after the exponent's sign, in the
// exponent. A number may end in the states marked true.
enum : uint8_t { kMinus, kZero, kInt, kDot, kFrac, kExp, kExpSign, kExpDigits };
constexpr bool kNumberMayEnd[] = {false, true, true, false, true, false, false, true};

}  // namespace

void BodyScanner::reset(TextSink* sink, TextFields fields) {
  sink_ = sink;
  fields_ = fields;
  state_ = State::Value;
  slot_ = Slot::Skip;
  target_ = Target::Skip;
  depth_ = 0;
  objects_ = 0;
  offset_ = 0;
  utf8_need_ = 0;
  unicode_digits_ = 0;
  high_surrogate_ = 0;
  key_len_ = 0;
  literal_ = nullptr;
  model_.clear();
  model_offset_ = model_length_ = 0;
  stream_ = false;
  keys_.clear();
  seen_ = 0;
  message_role_ = message_content_ = false;
  part_.clear_counts();
}

void BodyScanner::push(Frame frame, bool object) {
  if (depth_ == kMaxScanDepth) return give_up();
  frames_[depth_] = frame;
  if (object) objects_ |= uint64_t(1) << depth_;
  else objects_ &= ~(uint64_t(1) << depth_);
  ++depth_;
  if (object) {
    state_ = State::KeyOrClose;
    return;
  }
  state_ = State::ItemOrClose;
  item_slot();
}

void BodyScanner::item_slot() {
  switch (top()) {
    case Frame::PromptArray: slot_ = Slot::PromptItem; break;
    case Frame::Messages: slot_ = Slot::Message; break;
    case Frame::ContentArray: slot_ = Slot::ContentItem; break;
    default: slot_ = Slot::Skip; break;
  }
}

void BodyScanner::after_value() { state_ = depth_ == 0 ? State::Done : State::CommaOrClose; }

void BodyScanner::close_container(char c) {
  if (depth_ == 0 || (c == '}') != in_object()) return give_up();
  if (top() == Frame::Message) sink_->message_end(std::string_view(role_, role_len_) == "user");
  if (top() == Frame::ContentPart) close_part();
  --depth_;
  after_value();
}

void BodyScanner::start_value(char c) {
  if (depth_ == 0) {  // the body must be one object
    if (c != '{') return give_up();
    return push(Frame::Root, true);
  }
  const Slot slot = slot_;
  // Any JSON value (a routing key that is not a string is none: skipped).
  // Media fields of a content part are the model server's to judge too: a value that is
  // not what routing reads is skipped (the part is then counted as broken).
  const bool loose = slot == Slot::Skip || slot == Slot::PromptItem || slot == Slot::Input ||
                     slot == Slot::RoutingKey || slot == Slot::PartType || slot == Slot::ImageUrl ||
                     slot == Slot::InputAudio || slot == Slot::MediaUrl || slot == Slot::AudioData;
  switch (c) {
    case '"':
      switch (slot) {
        case Slot::Model: target_ = Target::Model; model_offset_ = token_at_; break;
        case Slot::Role: case Slot::Text: case Slot::Prompt: case Slot::Input: case Slot::PromptItem: case Slot::Content:
          target_ = Target::Text;
          break;
        case Slot::RoutingKey:
          target_ = Target::RoutingKey;
          keys_.values[routing_key_].present = true;
          break;
        case Slot::PartType:
          target_ = Target::PartType;
          part_.begin_type();
          break;
        case Slot::ImageUrl: case Slot::MediaUrl:
          target_ = Target::Media;
          part_.begin_media(MediaKind::Image, false);
          break;
        case Slot::AudioData:
          target_ = Target::Media;
          part_.begin_media(MediaKind::Audio, true);
          break;
        case Slot::InputAudio:
        case Slot::Skip: target_ = Target::Skip; break;
        default: return give_up();
      }
      state_ = State::String;
      return;
    case '{':
      if (slot == Slot::Message) {
        message_role_ = message_content_ = false;
        role_len_ = 0;
        return push(Frame::Message, true);
      }
      if (slot == Slot::ContentItem) {
        part_.begin();
        return push(Frame::ContentPart, true);
      }
      if (slot == Slot::ImageUrl) return push(Frame::ImageUrl, true);
      if (slot == Slot::InputAudio) return push(Frame::InputAudio, true);
      if (loose) return push(Frame::Generic, true);
      return give_up();
    case '[':
      if (slot == Slot::Prompt || slot == Slot::Input) return push(Frame::PromptArray, false);
      if (slot == Slot::Messages) return push(Frame::Messages, false);
      if (slot == Slot::Content) return push(Frame::ContentArray, false);
      if (loose) return push(Frame::Generic, false);
      return give_up();
    case 't':
    case 'f':
      if (slot == Slot::Stream) stream_ = c == 't';
      else if (!loose) return give_up();
      literal_ = c == 't' ? "rue" : "alse";
      state_ = State::Literal;
      return;
    case 'n':
      if (!loose && slot != Slot::Stream && slot != Slot::Content) return give_up();
      literal_ = "ull";
      state_ = State::Literal;
      return;
    default:
      if (!loose || !(c == '-' || is_digit(c))) return give_up();
      number_state_ = c == '-' ? kMinus : c == '0' ? kZero : kInt;
      state_ = State::Number;
      return;
  }
}

// How a text field's value is read (api_routes.h): "prompt" strictly, "messages" as
// chat messages, the others loosely.
BodyScanner::Slot BodyScanner::text_slot(TextFields field) {
  if (field == kPromptField) return Slot::Prompt;
  if (field == kMessagesField) return Slot::Messages;
  return Slot::Input;
}

void BodyScanner::end_key() {
  const std::string_view key(key_, key_len_ <= sizeof key_ ? key_len_ : 0);
  slot_ = Slot::Skip;
  auto once = [&](uint32_t bit, Slot slot) {
    if (seen_ & bit) return give_up();
    seen_ |= bit;
    slot_ = slot;
  };
  switch (top()) {
    case Frame::Root:
      if (key == "model") {
        once(kSeenModel, Slot::Model);
      } else if (key == "stream") {
        once(kSeenStream, Slot::Stream);
      } else if (const int routing = routing_key_of(key); routing >= 0) {
        routing_key_ = uint8_t(routing);
        once(kSeenRoutingKey << routing, Slot::RoutingKey);
      } else {
        for (const TextFieldKey& text : kTextFieldKeys) {
          if (key != text.key) continue;
          if (fields_ & text.field) once(text.field, text_slot(text.field));
          break;
        }
      }
      break;
    case Frame::Message:
      if (key == "role") {
        // The role's part goes before the content's: a role after content (or a
        // second role) would have to be moved back; BodyReader does that.
        if (message_role_ || message_content_) return give_up();
        message_role_ = true;
        slot_ = Slot::Role;
      } else if (key == "content") {
        if (message_content_) return give_up();
        message_content_ = true;
        slot_ = Slot::Content;
      }
      break;
    case Frame::ContentPart:
      if (key == "text") slot_ = Slot::Text;
      else if (key == "type") slot_ = Slot::PartType;
      else if (key == "image_url") slot_ = Slot::ImageUrl;
      else if (key == "input_audio") slot_ = Slot::InputAudio;
      break;
    case Frame::ImageUrl:
      if (key == "url") slot_ = Slot::MediaUrl;
      break;
    case Frame::InputAudio:
      if (key == "data") slot_ = Slot::AudioData;
      break;
    default: break;
  }
  if (state_ != State::GaveUp) state_ = State::Colon;
}

void BodyScanner::end_string() {
  switch (target_) {
    case Target::Key: return end_key();
    case Target::Model:
      if (model_.empty()) return give_up();
      model_length_ = token_at_ + 1 - model_offset_;
      break;
    case Target::Text: sink_->part_end(); break;
    case Target::Media: part_.end_media(); break;
    case Target::PartType:
    case Target::RoutingKey:
    case Target::Skip: break;
  }
  after_value();
}

void BodyScanner::close_part() {
  MediaRecord record;
  if (part_.close(record)) sink_->media(record);
}

void BodyScanner::emit(const char* data, size_t n) {
  if (n == 0) return;
  switch (target_) {
    case Target::Key:
      if (key_len_ + n <= sizeof key_) std::memcpy(key_ + key_len_, data, n);
      key_len_ = key_len_ + n <= sizeof key_ ? key_len_ + n : sizeof key_ + 1;
      return;
    case Target::Model:
      // BodyReader refuses long names and control bytes, with its own messages.
      if (model_.size() + n > kMaxModelBytes) return give_up();
      for (size_t i = 0; i < n; ++i)
        if (static_cast<unsigned char>(data[i]) < 0x20 || data[i] == 0x7f) return give_up();
      model_.append(data, n);
      return;
    case Target::Text:
      if (slot_ == Slot::Role) {
        if (role_len_ + n <= sizeof role_) std::memcpy(role_ + role_len_, data, n);
        role_len_ = uint8_t(std::min(role_len_ + n, sizeof role_));  // past "user"'s length: not it
      }
      sink_->text(data, n);
      return;
    case Target::RoutingKey: keys_.values[routing_key_].append(data, n); return;
    case Target::PartType: part_.type_bytes(data, n); return;
    case Target::Media: part_.media_bytes(data, n); return;
    case Target::Skip: return;
  }
}

void BodyScanner::emit_code_point(uint32_t cp) {
  char utf8[4];
  size_t n;
  if (cp < 0x80) {
    utf8[0] = char(cp);
    n = 1;
  } else if (cp < 0x800) {
    utf8[0] = char(0xC0 | cp >> 6);
    utf8[1] = char(0x80 | (cp & 0x3F));
    n = 2;
  } else if (cp < 0x10000) {
    utf8[0] = char(0xE0 | cp >> 12);
    utf8[1] = char(0x80 | (cp >> 6 & 0x3F));
    utf8[2] = char(0x80 | (cp & 0x3F));
    n = 3;
  } else {
    utf8[0] = char(0xF0 | cp >> 18);
    utf8[1] = char(0x80 | (cp >> 12 & 0x3F));
    utf8[2] = char(0x80 | (cp >> 6 & 0x3F));
    utf8[3] = char(0x80 | (cp & 0x3F));
    n = 4;
  }
  emit(utf8, n);
}

// Inside a string: runs of plain bytes go to the target as they are (no copy for
// text), and a one-character escape whose two bytes are in this chunk is decoded here;
// stops at the closing quote, any other escape or the end of the chunk. UTF-8 is
// validated as simdjson validates it (no overlongs, surrogates or code points past
// U+10FFFF), sequences may straddle chunks.
const char* BodyScanner::scan_string(const char* p, const char* end, const char* chunk) {
  if (high_surrogate_ != 0 && *p != '\\') {  // a \uD800-\uDBFF must be followed by its low half
    give_up();
    return end;
  }
  // Once an escape is met, the runs around it and its byte are gathered (copied) and
  // emitted together.
  thread_local char gathered[kGatherBytes];
  size_t held = 0;
  const auto gather = [&](const char* data, size_t n) {
    if (held + n > kGatherBytes) {
      emit(gathered, held);
      held = 0;
      if (n > kGatherBytes / 2) return emit(data, n);
    }
    std::memcpy(gathered + held, data, n);
    held += n;
  };
  const char* run = p;
  const auto emit_run = [&](const char* to) {
    if (held == 0) return emit(run, size_t(to - run));
    gather(run, size_t(to - run));
    emit(gathered, held);
  };
  while (p < end) {
    if (utf8_need_ > 0) {
      const auto b = static_cast<unsigned char>(*p);
      if (b < utf8_lo_ || b > utf8_hi_) {
        give_up();
        return end;
      }
      utf8_lo_ = 0x80;
      utf8_hi_ = 0xBF;
      --utf8_need_;
      ++p;
      continue;
    }
    p = find_special(p, end);
    if (p == end) break;
    const auto c = static_cast<unsigned char>(*p);
    if (c == '"') {
      emit_run(p);
      token_at_ = size_t(p - chunk);  // the closing quote's place, for the model token
      ++p;
      if (state_ != State::GaveUp) end_string();
      return p;
    }
    if (c == '\\') {
      if (target_ == Target::Key) {  // escaped keys: BodyReader unescapes them
        give_up();
        return end;
      }
      const char decoded = end - p >= 2 && high_surrogate_ == 0 ? simple_escape(p[1]) : 0;
      if (decoded != 0 && (target_ == Target::Text || target_ == Target::Media || target_ == Target::Skip)) {
        if (target_ != Target::Skip) {
          gather(run, size_t(p - run));
          gather(&decoded, 1);
        }
        p += 2;
        run = p;
        continue;
      }
      emit_run(p);
      if (state_ == State::GaveUp) return end;  // the run itself gave up (a model's control byte)
      state_ = State::Escape;
      return p + 1;
    }
    if (c < 0x20 || c < 0xC2 || c > 0xF4) {  // a raw control byte, a stray continuation byte, 0xC0/0xC1, 0xF5..
      give_up();
      return end;
    }
    utf8_lo_ = 0x80;
    utf8_hi_ = 0xBF;
    if (c < 0xE0) {
      utf8_need_ = 1;
    } else if (c < 0xF0) {
      utf8_need_ = 2;
      if (c == 0xE0) utf8_lo_ = 0xA0;  // overlong
      if (c == 0xED) utf8_hi_ = 0x9F;  // surrogates
    } else {
      utf8_need_ = 3;
      if (c == 0xF0) utf8_lo_ = 0x90;  // overlong
      if (c == 0xF4) utf8_hi_ = 0x8F;  // past U+10FFFF
    }
    ++p;
  }
  emit_run(p);
  return p;
}

void BodyScanner::feed(const char* data, size_t len) {
  const char* p = data;
  const char* const end = data + len;
  const size_t base = offset_;
  const char* chunk = data - base;  // chunk + body offset = the byte's address
  while (p < end && state_ != State::GaveUp) {
    const char c = *p;
    switch (state_) {
      case State::String:
        p = scan_string(p, end, chunk);
        continue;
      case State::Escape: {
        ++p;
        if (high_surrogate_ != 0 && c != 'u') {
          give_up();
          continue;
        }
        if (c == 'u') {
          unicode_ = 0;
          unicode_digits_ = 0;
          state_ = State::Unicode;
          continue;
        }
        const char decoded = simple_escape(c);
        if (decoded == 0) {
          give_up();
          continue;
        }
        state_ = State::String;
        emit(&decoded, 1);
        continue;
      }
      case State::Unicode: {
        ++p;
        const int digit = hex_value(c);
        if (digit < 0) {
          give_up();
          continue;
        }
        unicode_ = unicode_ << 4 | uint32_t(digit);
        if (++unicode_digits_ < 4) continue;
        state_ = State::String;
        if (high_surrogate_ != 0) {
          if (unicode_ < 0xDC00 || unicode_ > 0xDFFF) {
            give_up();
            continue;
          }
          const uint32_t cp = 0x10000 + ((high_surrogate_ - 0xD800) << 10) + (unicode_ - 0xDC00);
          high_surrogate_ = 0;
          emit_code_point(cp);
        } else if (unicode_ >= 0xD800 && unicode_ <= 0xDBFF) {
          high_surrogate_ = unicode_;
          if (p == end) continue;  // scan_string checks the next byte when it comes
        } else if (unicode_ >= 0xDC00 && unicode_ <= 0xDFFF) {
          give_up();
        } else {
          emit_code_point(unicode_);
        }
        continue;
      }
      case State::Number: {
        const uint8_t s = number_state_;
        uint8_t next = 0xFF;
        if (is_digit(c)) {
          if (s == kMinus) next = c == '0' ? kZero : kInt;
          else if (s == kInt || s == kFrac || s == kExpDigits) next = s;
          else if (s == kDot) next = kFrac;
          else if (s == kExp || s == kExpSign) next = kExpDigits;
          // kZero: no digit may follow a leading 0
        } else if (c == '.') {
          if (s == kZero || s == kInt) next = kDot;
        } else if (c == 'e' || c == 'E') {
          if (s == kZero || s == kInt || s == kFrac) next = kExp;
        } else if (c == '+' || c == '-') {
          if (s == kExp) next = kExpSign;
        } else {
          // Any other byte ends the number; it is read again as what follows.
          if (!kNumberMayEnd[s]) {
            give_up();
            continue;
          }
          after_value();
          continue;
        }
        if (next == 0xFF) {
          give_up();
          continue;
        }
        number_state_ = next;
        ++p;
        continue;
      }
      case State::Literal:
        if (c != *literal_) {
          give_up();
          continue;
        }
        ++p;
        if (*++literal_ == 0) after_value();
        continue;
      default: break;
    }
    // Between tokens.
    if (util::is_json_space(c)) {
      ++p;
      continue;
    }
    const size_t at = base + size_t(p - data);
    ++p;
    switch (state_) {
      case State::ItemOrClose:
        if (c == ']') {
          close_container(c);
          break;
        }
        [[fallthrough]];
      case State::Value:
        token_at_ = at;
        start_value(c);
        break;
      case State::KeyOrClose:
        if (c == '}') {
          close_container(c);
          break;
        }
        [[fallthrough]];
      case State::Key:
        if (c != '"') {
          give_up();
          break;
        }
        target_ = Target::Key;
        key_len_ = 0;
        state_ = State::String;
        break;
      case State::Colon:
        if (c != ':') give_up();
        else state_ = State::Value;
        break;
      case State::CommaOrClose:
        if (c == ',') {
          if (in_object()) {
            state_ = State::Key;
          } else {
            item_slot();
            state_ = State::Value;
          }
        } else if (c == '}' || c == ']') {
          close_container(c);
        } else {
          give_up();
        }
        break;
      default:  // Done: only whitespace may follow the object
        give_up();
        break;
    }
  }
  offset_ = base + len;
}

bool BodyScanner::finish(RequestFields& out) {
  if (state_ != State::Done || !(seen_ & kSeenModel)) return false;
  out.model = model_;
  out.model_offset = model_offset_;
  out.model_length = model_length_;
  out.stream = stream_;
  out.keys = keys_;
  out.media = part_.counts();
  out.prompt_parts.clear();
  out.media_records.clear();
  return true;
}

}  // namespace ringgate::openai
