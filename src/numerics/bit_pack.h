// SPDX-License-Identifier: MIT
// Dense little-endian bit packing of unsigned codes of 2..8 bits (layout in
// tensor/quant_format.h): element i occupies stream bits [i*bits, (i+1)*bits), byte k holds
// stream bits 8k..8k+7. A packed run of n codes takes ceil(n*bits/8) bytes; unused high bits of
// the last byte are zero.
#pragma once

#include <cstddef>
#include <cstdint>

namespace lowbit {

inline size_t packed_bytes(int64_t n, int bits) { return static_cast<size_t>((n * bits + 7) / 8); }

// codes[i] must be < 2^bits.
void pack_bits(const uint8_t* codes, int64_t n, int bits, uint8_t* packed);
void unpack_bits(const uint8_t* packed, int64_t n, int bits, uint8_t* codes);

// One code at element index i.
inline uint8_t packed_code(const uint8_t* packed, int64_t i, int bits) {
  const int64_t bit = i * bits;
  const int64_t byte = bit >> 3;
  const int shift = static_cast<int>(bit & 7);
  unsigned v = packed[byte] >> shift;
  if (shift + bits > 8) v |= static_cast<unsigned>(packed[byte + 1]) << (8 - shift);
  return static_cast<uint8_t>(v & ((1u << bits) - 1u));
}

}  // namespace lowbit
