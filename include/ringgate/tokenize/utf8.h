#pragma once
// UTF-8 helpers for the tokenizer: text from a client is bytes; the tokenizer's
// reference reads strings, where a malformed sequence has already become U+FFFD.
#include <cstdint>
#include <string>
#include <string_view>

namespace ringgate::tokenize {

// Length of the well-formed UTF-8 sequence at the start of s, or 0 if it is
// malformed (overlong, surrogate, > U+10FFFF, truncated) or s is empty.
std::size_t utf8_sequence_length(std::string_view s);

// True when every byte of s belongs to a well-formed sequence.
bool utf8_valid(std::string_view s);

// Copies s into out, each maximal ill-formed subpart replaced by U+FFFD, as the
// WHATWG decoder (Node's TextDecoder / Buffer.toString) does.
void utf8_repair(std::string_view s, std::string& out);

// Appends the UTF-8 encoding of code point cp.
void utf8_append(std::string& out, char32_t cp);

}  // namespace ringgate::tokenize
