// SPDX-License-Identifier: MIT
// Bit packing through a 64-bit accumulator, whole bytes at a time, with byte-aligned fast
// paths for the common 4- and 8-bit widths.
#include "numerics/bit_pack.h"

#include <cstring>

namespace lowbit {

void pack_bits(const uint8_t* codes, int64_t n, int bits, uint8_t* packed) {
  const auto mask = static_cast<uint8_t>((1u << bits) - 1u);
  if (bits == 8) {
    if (n > 0) std::memcpy(packed, codes, static_cast<size_t>(n));
    return;
  }
  if (bits == 4) {
    int64_t i = 0;
    for (; i + 1 < n; i += 2)
      packed[i / 2] = static_cast<uint8_t>((codes[i] & mask) | ((codes[i + 1] & mask) << 4));
    if (i < n) packed[i / 2] = codes[i] & mask;
    return;
  }
  // Every output byte is written whole, so the caller's buffer needs no clearing and the
  // unused high bits of the last byte come out zero.
  uint64_t acc = 0;
  int filled = 0;
  size_t out = 0;
  for (int64_t i = 0; i < n; ++i) {
    acc |= static_cast<uint64_t>(codes[i] & mask) << filled;
    filled += bits;
    while (filled >= 8) {
      packed[out++] = static_cast<uint8_t>(acc);
      acc >>= 8;
      filled -= 8;
    }
  }
  if (filled > 0) packed[out] = static_cast<uint8_t>(acc);
}

void unpack_bits(const uint8_t* packed, int64_t n, int bits, uint8_t* codes) {
  const auto mask = static_cast<uint8_t>((1u << bits) - 1u);
  if (bits == 8) {
    if (n > 0) std::memcpy(codes, packed, static_cast<size_t>(n));
    return;
  }
  if (bits == 4) {
    for (int64_t i = 0; i < n; ++i)
      codes[i] = static_cast<uint8_t>((packed[i / 2] >> ((i & 1) * 4)) & mask);
    return;
  }
  uint64_t acc = 0;
  int filled = 0;
  size_t in = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (filled < bits) {
      acc |= static_cast<uint64_t>(packed[in++]) << filled;
      filled += 8;
    }
    codes[i] = static_cast<uint8_t>(acc & mask);
    acc >>= bits;
    filled -= bits;
  }
}

}  // namespace lowbit
