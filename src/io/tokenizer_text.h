// SPDX-License-Identifier: MIT
// Text helpers shared by the tokenizers: UTF-8 stepping, byte-level alphabet, NFC quick check.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace lowbit::tokenizer_detail {

// SentencePiece's whitespace mark U+2581 (▁) in UTF-8.
inline constexpr std::string_view kSpaceMark = "\xE2\x96\x81";

// Length in bytes of the UTF-8 sequence starting at text[pos]: the full length of a well-formed
// sequence, else 1 (an invalid or truncated byte is a unit of its own).
size_t utf8_char_len(std::string_view text, size_t pos);

// Appends the UTF-8 encoding of code point cp.
void append_utf8(std::string& out, uint32_t cp);

// Replaces every occurrence of `from` (non-empty) by `to`.
std::string replace_all(std::string_view text, std::string_view from, std::string_view to);

// "<0xHH>" (upper-case hex) for byte b: the piece of a byte-fallback token.
std::string byte_piece(uint8_t b);
// The byte of a "<0xHH>" piece, or -1 when `piece` is not of that form.
int parse_byte_piece(std::string_view piece);

// GPT-2 bytes_to_unicode: byte b -> the UTF-8 text of its printable stand-in character.
const std::array<std::string, 256>& byte_to_unicode();
// Inverse of byte_to_unicode for one code point; -1 when cp is not in the alphabet.
int unicode_to_byte(uint32_t cp);
// Decodes one well-formed UTF-8 sequence of `len` bytes at text[pos].
uint32_t decode_utf8(std::string_view text, size_t pos, size_t len);

// NFC quick check (tokenizer_nfc.cpp): true when every code point is NFC_Quick_Check=Yes and
// combining marks are in canonical order, so NFC leaves `text` unchanged. False means NFC might
// change it (decomposed or composable sequences); lowbit does not implement the composition.
// Invalid UTF-8 bytes are passed over.
bool nfc_quick_check(std::string_view text);

}  // namespace lowbit::tokenizer_detail
