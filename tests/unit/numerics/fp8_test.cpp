// SPDX-License-Identifier: MIT
// FP8 E4M3FN / E5M2 codecs over all 256 codes: values from the bit-field definition, round
// trips, ties to even between every adjacent pair, saturation and NaN.
#include "numerics/fp8.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

namespace lowbit {
namespace {

struct Codec {
  const char* name;
  int mantissa_bits;
  int bias;
  uint8_t (*encode)(float);
  float (*decode)(uint8_t);
  float max;
};

// Names the parameter in test output instead of dumping its bytes.
void PrintTo(const Codec& c, std::ostream* os) { *os << c.name; }

const Codec kE4M3{"e4m3", 3, 7, f32_to_e4m3, e4m3_to_f32, kE4M3Max};
const Codec kE5M2{"e5m2", 2, 15, f32_to_e5m2, e5m2_to_f32, kE5M2Max};

bool is_nan_code(const Codec& c, uint8_t code) {
  const int magnitude = code & 0x7F;
  if (c.mantissa_bits == 3) return magnitude == 0x7F;  // E4M3FN: only S.1111.111
  return (magnitude >> 2) == 0x1F && (magnitude & 3) != 0;
}

bool is_inf_code(const Codec& c, uint8_t code) {
  return c.mantissa_bits == 2 && (code & 0x7F) == 0x7C;
}

// (-1)^s * 2^(e - bias) * (1 + m / 2^M), subnormal 2^(1 - bias) * m / 2^M for e = 0.
double value_by_definition(const Codec& c, uint8_t code) {
  const int sign = (code & 0x80) != 0 ? -1 : 1;
  const int e = (code & 0x7F) >> c.mantissa_bits;
  const int m = code & ((1 << c.mantissa_bits) - 1);
  if (e == 0) return sign * std::ldexp(m, 1 - c.bias - c.mantissa_bits);
  return sign * std::ldexp((1 << c.mantissa_bits) + m, e - c.bias - c.mantissa_bits);
}

class Fp8 : public ::testing::TestWithParam<Codec> {};

TEST_P(Fp8, DecodeMatchesDefinitionForAllCodes) {
  const Codec& c = GetParam();
  for (int code = 0; code < 256; ++code) {
    const auto q = static_cast<uint8_t>(code);
    const float v = c.decode(q);
    if (is_nan_code(c, q)) {
      EXPECT_TRUE(std::isnan(v)) << c.name << " " << code;
    } else if (is_inf_code(c, q)) {
      EXPECT_TRUE(std::isinf(v) && std::signbit(v) == (code >= 128)) << c.name << " " << code;
    } else {
      EXPECT_EQ(static_cast<double>(v), value_by_definition(c, q)) << c.name << " " << code;
      EXPECT_EQ(std::signbit(v), code >= 128) << c.name << " " << code;
    }
  }
}

TEST_P(Fp8, EncodeOfDecodeIsIdentityForFiniteCodes) {
  const Codec& c = GetParam();
  for (int code = 0; code < 256; ++code) {
    const auto q = static_cast<uint8_t>(code);
    if (is_nan_code(c, q)) {
      EXPECT_TRUE(is_nan_code(c, c.encode(c.decode(q)))) << c.name << " " << code;
    } else if (!is_inf_code(c, q)) {
      EXPECT_EQ(c.encode(c.decode(q)), q) << c.name << " " << code;
    }
  }
}

// Every adjacent pair of finite values of one sign: the exact midpoint (exact in f32) rounds to
// the code with an even mantissa, one f32 ulp either side to the nearer code.
TEST_P(Fp8, TiesToEvenBetweenEveryAdjacentPair) {
  const Codec& c = GetParam();
  for (int sign : {0, 0x80}) {
    std::vector<std::pair<float, uint8_t>> values;
    for (int m = 0; m < 128; ++m) {
      const auto q = static_cast<uint8_t>(sign | m);
      if (!is_nan_code(c, q) && !is_inf_code(c, q)) values.emplace_back(std::fabs(c.decode(q)), q);
    }
    std::sort(values.begin(), values.end());
    ASSERT_EQ(values.back().first, c.max);
    for (size_t i = 0; i + 1 < values.size(); ++i) {
      const auto [a, qa] = values[i];
      const auto [b, qb] = values[i + 1];
      const float s = sign != 0 ? -1.0f : 1.0f;
      const float mid = s * ((a + b) / 2);
      ASSERT_EQ(static_cast<double>(std::fabs(mid)), (static_cast<double>(a) + b) / 2);
      const uint8_t even = (qa & 1) == 0 ? qa : qb;
      EXPECT_EQ(c.encode(mid), even) << c.name << " between " << a << " and " << b;
      EXPECT_EQ(c.encode(std::nextafter(mid, s * a)), qa) << c.name << " " << a;
      EXPECT_EQ(c.encode(std::nextafter(mid, s * b)), qb) << c.name << " " << b;
    }
  }
}

TEST_P(Fp8, SaturatesOverflowAndInfinity) {
  const Codec& c = GetParam();
  const uint8_t max_code = c.encode(c.max);
  EXPECT_EQ(c.decode(max_code), c.max);
  for (float v : {std::nextafter(c.max, INFINITY), c.max * 1.0625f, c.max * 1.125f, c.max * 4,
                  1e30f, std::numeric_limits<float>::max(), INFINITY}) {
    EXPECT_EQ(c.encode(v), max_code) << c.name << " " << v;
    EXPECT_EQ(c.encode(-v), max_code | 0x80) << c.name << " " << -v;
  }
}

TEST_P(Fp8, NanEncodesAsNanCodeAndTinyValuesAsSignedZero) {
  const Codec& c = GetParam();
  EXPECT_EQ(c.encode(NAN), 0x7F);
  EXPECT_EQ(c.encode(-NAN), 0xFF);
  const float min_subnormal = std::ldexp(1.0f, 1 - c.bias - c.mantissa_bits);
  EXPECT_EQ(c.encode(min_subnormal / 2), 0x00);  // tie between 0 and the first subnormal
  EXPECT_EQ(c.encode(std::nextafter(min_subnormal / 2, 1.0f)), 0x01);
  EXPECT_EQ(c.encode(-min_subnormal / 4), 0x80);
  EXPECT_EQ(c.encode(-0.0f), 0x80);
}

INSTANTIATE_TEST_SUITE_P(Formats, Fp8, ::testing::Values(kE4M3, kE5M2),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(Fp8E4M3, SpecValues) {
  EXPECT_EQ(e4m3_to_f32(0x7E), 448.0f);
  EXPECT_EQ(e4m3_to_f32(0x38), 1.0f);
  EXPECT_EQ(e4m3_to_f32(0x01), 0x1p-9f);  // smallest subnormal
  EXPECT_EQ(e4m3_to_f32(0x08), 0x1p-6f);  // smallest normal
  EXPECT_EQ(e4m3_to_f32(0xFE), -448.0f);
  EXPECT_TRUE(std::isnan(e4m3_to_f32(0x7F)));
  EXPECT_TRUE(std::isnan(e4m3_to_f32(0xFF)));
  EXPECT_EQ(e4m3_to_f32(0x78), 256.0f);  // exponent 1111 is finite in E4M3FN
  int finite = 0;
  for (int code = 0; code < 256; ++code) finite += std::isfinite(e4m3_to_f32(code)) ? 1 : 0;
  EXPECT_EQ(finite, 254);
  EXPECT_EQ(f32_to_e4m3(464.0f), 0x7E);  // would round up to 480, which does not exist
}

TEST(Fp8E5M2, SpecValues) {
  EXPECT_EQ(e5m2_to_f32(0x7B), 57344.0f);
  EXPECT_EQ(e5m2_to_f32(0x3C), 1.0f);
  EXPECT_EQ(e5m2_to_f32(0x01), 0x1p-16f);
  EXPECT_EQ(e5m2_to_f32(0x04), 0x1p-14f);
  EXPECT_EQ(e5m2_to_f32(0x7C), INFINITY);
  EXPECT_EQ(e5m2_to_f32(0xFC), -INFINITY);
  for (int code : {0x7D, 0x7E, 0x7F, 0xFD, 0xFE, 0xFF}) EXPECT_TRUE(std::isnan(e5m2_to_f32(code)));
  int finite = 0;
  for (int code = 0; code < 256; ++code) finite += std::isfinite(e5m2_to_f32(code)) ? 1 : 0;
  EXPECT_EQ(finite, 248);
  EXPECT_EQ(f32_to_e5m2(61440.0f), 0x7B);  // midpoint toward 65536: saturates, never inf
}

}  // namespace
}  // namespace lowbit
