// SPDX-License-Identifier: MIT
// Bit packing: round trips for every width and odd lengths, and the documented bit positions.
#include "numerics/bit_pack.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace lowbit {
namespace {

// Stream bit k of a packed buffer, by the layout definition: byte k/8, bit k%8.
int stream_bit(const std::vector<uint8_t>& packed, int64_t k) {
  return (packed[static_cast<size_t>(k / 8)] >> (k % 8)) & 1;
}

TEST(BitPack, RoundTripsEveryWidthAndLength) {
  std::mt19937 rng(3);
  for (int bits = 2; bits <= 8; ++bits) {
    for (int64_t n : {0, 1, 2, 3, 5, 7, 8, 9, 13, 31, 33, 63, 101, 1000, 4097}) {
      std::vector<uint8_t> codes(static_cast<size_t>(n));
      for (auto& c : codes) c = static_cast<uint8_t>(rng() & ((1u << bits) - 1));
      // Garbage in the output must not leak through: every byte gets written.
      std::vector<uint8_t> packed(packed_bytes(n, bits) + 1, 0xAB);
      pack_bits(codes.data(), n, bits, packed.data());
      EXPECT_EQ(packed.back(), 0xAB) << "wrote past packed_bytes, bits " << bits << " n " << n;
      std::vector<uint8_t> back(static_cast<size_t>(n), 0xFF);
      unpack_bits(packed.data(), n, bits, back.data());
      EXPECT_EQ(back, codes) << "bits " << bits << " n " << n;
      for (int64_t i = 0; i < n; ++i)
        ASSERT_EQ(packed_code(packed.data(), i, bits), codes[static_cast<size_t>(i)]);
      // Unused high bits of the last byte are zero.
      for (int64_t k = n * bits; k < static_cast<int64_t>(packed_bytes(n, bits)) * 8; ++k)
        EXPECT_EQ(stream_bit(packed, k), 0) << "bits " << bits << " n " << n << " bit " << k;
    }
  }
}

TEST(BitPack, ElementIOccupiesStreamBitsIBitsToIPlusOneBits) {
  std::mt19937 rng(5);
  for (int bits = 2; bits <= 8; ++bits) {
    const int64_t n = 37;
    std::vector<uint8_t> codes(n);
    for (auto& c : codes) c = static_cast<uint8_t>(rng() & ((1u << bits) - 1));
    std::vector<uint8_t> packed(packed_bytes(n, bits));
    pack_bits(codes.data(), n, bits, packed.data());
    for (int64_t i = 0; i < n; ++i) {
      int value = 0;
      for (int b = 0; b < bits; ++b) value |= stream_bit(packed, i * bits + b) << b;
      EXPECT_EQ(value, codes[static_cast<size_t>(i)]) << "bits " << bits << " element " << i;
    }
  }
}

TEST(BitPack, HandComputedBytes) {
  const uint8_t four[] = {1, 2, 3};
  uint8_t out4[2];
  pack_bits(four, 3, 4, out4);
  EXPECT_EQ(out4[0], 0x21);  // element 0 in the low nibble of byte 0
  EXPECT_EQ(out4[1], 0x03);

  const uint8_t two[] = {1, 2, 3, 0, 1};
  uint8_t out2[2];
  pack_bits(two, 5, 2, out2);
  EXPECT_EQ(out2[0], 0x39);  // 01 | 10<<2 | 11<<4 | 00<<6
  EXPECT_EQ(out2[1], 0x01);

  const uint8_t three[] = {5, 3, 6};
  uint8_t out3[2];
  pack_bits(three, 3, 3, out3);
  EXPECT_EQ(out3[0], 0x9D);  // 5 | 3<<3 | 6<<6 = 0x19D, element 2 straddles the byte boundary
  EXPECT_EQ(out3[1], 0x01);

  const uint8_t eight[] = {0xDE, 0xAD};
  uint8_t out8[2];
  pack_bits(eight, 2, 8, out8);
  EXPECT_EQ(out8[0], 0xDE);
  EXPECT_EQ(out8[1], 0xAD);
  EXPECT_EQ(packed_bytes(3, 3), 2u);
  EXPECT_EQ(packed_bytes(5, 7), 5u);
}

}  // namespace
}  // namespace lowbit
