// SPDX-License-Identifier: MIT
// fp16 / bf16 codecs: exhaustive over every code, ties to even at every midpoint, overflow.
#include "numerics/half.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>

namespace lowbit {
namespace {

bool f16_is_nan(uint16_t h) { return (h & 0x7C00) == 0x7C00 && (h & 0x3FF) != 0; }
bool bf16_is_nan(uint16_t h) { return (h & 0x7F80) == 0x7F80 && (h & 0x7F) != 0; }

// binary16 straight from its definition: (-1)^s * 2^(e-15) * (1 + m/1024), e = 0 subnormal.
double f16_value_by_definition(uint16_t h) {
  const int sign = (h >> 15) != 0 ? -1 : 1;
  const int e = (h >> 10) & 0x1F;
  const int m = h & 0x3FF;
  if (e == 31) return m == 0 ? sign * std::numeric_limits<double>::infinity() : NAN;
  if (e == 0) return sign * std::ldexp(m, -24);
  return sign * std::ldexp(1024 + m, e - 15 - 10);
}

TEST(Half, DecodeMatchesDefinitionForAllCodes) {
  for (uint32_t code = 0; code < 65536; ++code) {
    const auto h = static_cast<uint16_t>(code);
    const float v = f16_to_f32(h);
    if (f16_is_nan(h)) {
      EXPECT_TRUE(std::isnan(v)) << std::hex << code;
      continue;
    }
    EXPECT_EQ(static_cast<double>(v), f16_value_by_definition(h)) << std::hex << code;
    EXPECT_EQ(std::signbit(v), (code & 0x8000) != 0) << std::hex << code;
  }
}

TEST(Half, EncodeOfDecodeIsIdentityForAllCodes) {
  for (uint32_t code = 0; code < 65536; ++code) {
    const auto h = static_cast<uint16_t>(code);
    const uint16_t back = f32_to_f16(f16_to_f32(h));
    if (f16_is_nan(h)) {
      EXPECT_TRUE(f16_is_nan(back)) << std::hex << code;
    } else {
      EXPECT_EQ(back, h) << std::hex << code;
    }
  }
}

TEST(Half, KnownValues) {
  EXPECT_EQ(f32_to_f16(1.0f), 0x3C00);
  EXPECT_EQ(f32_to_f16(-2.0f), 0xC000);
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7BFF);
  EXPECT_EQ(f32_to_f16(0x1p-14f), 0x0400);  // smallest normal
  EXPECT_EQ(f32_to_f16(0x1p-24f), 0x0001);  // smallest subnormal
  EXPECT_EQ(f32_to_f16(-0.0f), 0x8000);
  EXPECT_EQ(f16_to_f32(0x3555), 0x1.554p-2f);  // 0.333251953125
}

// For every pair of adjacent finite f16 values of one sign, the exact midpoint (representable
// in f32) goes to the code with an even mantissa, and one f32 ulp either side goes to the
// nearer one. The pair (0x7BFF, 0x7C00) covers the rounding into infinity.
TEST(Half, TiesToEvenAtEveryMidpoint) {
  for (uint32_t sign : {0u, 0x8000u}) {
    for (uint32_t lower = 0; lower < 0x7C00; ++lower) {
      const auto a = static_cast<uint16_t>(sign | lower);
      const auto b = static_cast<uint16_t>(sign | (lower + 1));
      const float va = f16_to_f32(a);
      const float vb = lower + 1 == 0x7C00 ? (sign ? -65536.0f : 65536.0f) : f16_to_f32(b);
      const float mid = (va + vb) / 2;
      ASSERT_EQ(static_cast<double>(mid), (static_cast<double>(va) + vb) / 2) << lower;
      const uint16_t even = (lower & 1) == 0 ? a : b;
      EXPECT_EQ(f32_to_f16(mid), even) << std::hex << lower;
      EXPECT_EQ(f32_to_f16(std::nextafter(mid, va)), a) << std::hex << lower;
      EXPECT_EQ(f32_to_f16(std::nextafter(mid, vb)), b) << std::hex << lower;
    }
  }
}

TEST(Half, OverflowGivesInfinityAndUnderflowGivesSignedZero) {
  EXPECT_EQ(f32_to_f16(65519.996f), 0x7BFF);
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7C00);  // tie between 65504 (odd) and 2^16: even wins
  EXPECT_EQ(f32_to_f16(1e10f), 0x7C00);
  EXPECT_EQ(f32_to_f16(-1e10f), 0xFC00);
  EXPECT_EQ(f32_to_f16(std::numeric_limits<float>::max()), 0x7C00);
  EXPECT_EQ(f32_to_f16(INFINITY), 0x7C00);
  EXPECT_EQ(f32_to_f16(-INFINITY), 0xFC00);
  EXPECT_EQ(f32_to_f16(0x1p-25f), 0x0000);  // half the smallest subnormal: tie to even 0
  EXPECT_EQ(f32_to_f16(std::nextafter(0x1p-25f, 1.0f)), 0x0001);
  EXPECT_EQ(f32_to_f16(-1e-10f), 0x8000);
  EXPECT_EQ(f32_to_f16(std::numeric_limits<float>::denorm_min()), 0x0000);
}

TEST(Half, NanStaysNan) {
  EXPECT_TRUE(f16_is_nan(f32_to_f16(NAN)));
  EXPECT_TRUE(f16_is_nan(f32_to_f16(-NAN)));
  // A signalling NaN whose payload sits only in bits that f16 drops must not become inf.
  EXPECT_TRUE(f16_is_nan(f32_to_f16(std::bit_cast<float>(0x7F800001u))));
  EXPECT_TRUE(f16_is_nan(f32_to_f16(std::bit_cast<float>(0xFF800001u))));
  EXPECT_TRUE(std::isnan(f16_to_f32(0x7C01)));
}

TEST(Bf16, DecodeIsTheHighHalfOfF32) {
  for (uint32_t code = 0; code < 65536; ++code) {
    const float v = bf16_to_f32(static_cast<uint16_t>(code));
    EXPECT_EQ(std::bit_cast<uint32_t>(v), code << 16) << std::hex << code;
  }
}

TEST(Bf16, EncodeOfDecodeIsIdentityForAllCodes) {
  for (uint32_t code = 0; code < 65536; ++code) {
    const auto h = static_cast<uint16_t>(code);
    const uint16_t back = f32_to_bf16(bf16_to_f32(h));
    if (bf16_is_nan(h)) {
      EXPECT_TRUE(bf16_is_nan(back)) << std::hex << code;
    } else {
      EXPECT_EQ(back, h) << std::hex << code;
    }
  }
}

TEST(Bf16, TiesToEvenAtEveryMidpoint) {
  for (uint32_t sign : {0u, 0x8000u}) {
    for (uint32_t lower = 0; lower < 0x7F80; ++lower) {
      const auto a = static_cast<uint16_t>(sign | lower);
      const auto b = static_cast<uint16_t>(sign | (lower + 1));
      // The midpoint of two adjacent bf16 values is the f32 with bit 15 set in between.
      const float mid = std::bit_cast<float>((static_cast<uint32_t>(a) << 16) | 0x8000u);
      const uint16_t even = (lower & 1) == 0 ? a : b;
      EXPECT_EQ(f32_to_bf16(mid), even) << std::hex << lower;
      EXPECT_EQ(f32_to_bf16(std::bit_cast<float>(std::bit_cast<uint32_t>(mid) - 1)), a);
      EXPECT_EQ(f32_to_bf16(std::bit_cast<float>(std::bit_cast<uint32_t>(mid) + 1)), b);
    }
  }
}

TEST(Bf16, KnownValuesOverflowAndNan) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3F80);
  EXPECT_EQ(f32_to_bf16(-2.0f), 0xC000);
  EXPECT_EQ(f32_to_bf16(1.00390625f), 0x3F80);  // 1 + 2^-8: tie, 0x3F80 is even
  EXPECT_EQ(f32_to_bf16(1.01171875f), 0x3F82);  // 1 + 3*2^-8: tie, 0x3F82 is even
  EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::max()), 0x7F80);
  EXPECT_EQ(f32_to_bf16(-INFINITY), 0xFF80);
  EXPECT_TRUE(bf16_is_nan(f32_to_bf16(NAN)));
  EXPECT_TRUE(bf16_is_nan(f32_to_bf16(std::bit_cast<float>(0x7F800001u))));
}

}  // namespace
}  // namespace lowbit
