// SPDX-License-Identifier: MIT
// Implementation of the tokenizer text helpers (UTF-8, GPT-2 byte alphabet).
#include "io/tokenizer_text.h"

#include <cstdio>

namespace lowbit::tokenizer_detail {

size_t utf8_char_len(std::string_view text, size_t pos) {
  const auto lead = static_cast<uint8_t>(text[pos]);
  size_t len = 1;
  if (lead >= 0xC2 && lead <= 0xDF) {
    len = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    len = 3;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    len = 4;
  } else {
    return 1;
  }
  if (pos + len > text.size()) return 1;
  for (size_t i = 1; i < len; ++i) {
    if ((static_cast<uint8_t>(text[pos + i]) & 0xC0) != 0x80) return 1;
  }
  // Reject overlong 3/4-byte forms, surrogates and code points above U+10FFFF.
  const auto second = static_cast<uint8_t>(text[pos + 1]);
  if (lead == 0xE0 && second < 0xA0) return 1;
  if (lead == 0xED && second > 0x9F) return 1;
  if (lead == 0xF0 && second < 0x90) return 1;
  if (lead == 0xF4 && second > 0x8F) return 1;
  return len;
}

uint32_t decode_utf8(std::string_view text, size_t pos, size_t len) {
  const auto byte = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(text[i])); };
  switch (len) {
    case 2:
      return ((byte(pos) & 0x1F) << 6) | (byte(pos + 1) & 0x3F);
    case 3:
      return ((byte(pos) & 0x0F) << 12) | ((byte(pos + 1) & 0x3F) << 6) | (byte(pos + 2) & 0x3F);
    case 4:
      return ((byte(pos) & 0x07) << 18) | ((byte(pos + 1) & 0x3F) << 12) |
             ((byte(pos + 2) & 0x3F) << 6) | (byte(pos + 3) & 0x3F);
    default:
      return byte(pos);
  }
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::string replace_all(std::string_view text, std::string_view from, std::string_view to) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (true) {
    const size_t hit = text.find(from, pos);
    if (hit == std::string_view::npos) break;
    out.append(text.substr(pos, hit - pos));
    out.append(to);
    pos = hit + from.size();
  }
  out.append(text.substr(pos));
  return out;
}

std::string byte_piece(uint8_t b) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "<0x%02X>", b);
  return buf;
}

int parse_byte_piece(std::string_view piece) {
  if (piece.size() != 6 || piece.substr(0, 3) != "<0x" || piece[5] != '>') return -1;
  int value = 0;
  for (size_t i = 3; i < 5; ++i) {
    const char c = piece[i];
    int digit = -1;
    if (c >= '0' && c <= '9') digit = c - '0';
    if (c >= 'A' && c <= 'F') digit = c - 'A' + 10;
    if (c >= 'a' && c <= 'f') digit = c - 'a' + 10;
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

namespace {

// Bytes that stand for themselves in GPT-2's alphabet: '!'..'~', U+00A1..U+00AC, U+00AE..U+00FF.
bool is_self_mapped(int b) {
  return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

struct ByteAlphabet {
  std::array<std::string, 256> to_text;
  std::array<int, 0x200> from_cp;  // every stand-in code point is below U+0200
  ByteAlphabet() {
    from_cp.fill(-1);
    uint32_t next_extra = 0x100;
    for (int b = 0; b < 256; ++b) {
      const uint32_t cp = is_self_mapped(b) ? static_cast<uint32_t>(b) : next_extra++;
      append_utf8(to_text[b], cp);
      from_cp[cp] = b;
    }
  }
};

const ByteAlphabet& alphabet() {
  static const ByteAlphabet instance;
  return instance;
}

}  // namespace

const std::array<std::string, 256>& byte_to_unicode() { return alphabet().to_text; }

int unicode_to_byte(uint32_t cp) { return cp < 0x200 ? alphabet().from_cp[cp] : -1; }

}  // namespace lowbit::tokenizer_detail
