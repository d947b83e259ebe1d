// SPDX-License-Identifier: MIT
// Grid helpers: the stored-scale conventions, exact endpoints, degenerate groups, fp8 and NF4
// (double quantization included).
#include "quant/grid.h"

#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <random>
#include <vector>

#include "numerics/fp8.h"
#include "numerics/half.h"
#include "tensor/dequantize.h"

namespace lowbit::quant {
namespace {

bool is_f16_value(float x) { return f16_to_f32(f32_to_f16(x)) == x; }

TEST(Grid, AsymmetricScaleIsTheExactScaleRoundedTowardZeroToF16) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(-3.0f, 3.0f);
  for (int bits = 2; bits <= 8; ++bits) {
    for (int k = 0; k < 2000; ++k) {
      const float a = u(rng), b = u(rng);
      const float lo = std::fmin(std::fmin(a, b), 0.0f), hi = std::fmax(std::fmax(a, b), 0.0f);
      const AffineParams p = asymmetric_params(std::fmin(a, b), std::fmax(a, b), bits, DType::f16);
      const double exact = (static_cast<double>(hi) - lo) / ((1 << bits) - 1);
      ASSERT_TRUE(is_f16_value(p.scale));
      ASSERT_LE(p.scale, exact);
      // No f16 value lies between the stored scale and the exact one.
      ASSERT_GT(f16_to_f32(static_cast<uint16_t>(f32_to_f16(p.scale) + 1)), exact);
      // The range ends land on the extreme codes, and 0 is exact.
      ASSERT_EQ(affine_code(hi, p), p.qmax) << bits << " " << lo << " " << hi;
      ASSERT_EQ(affine_code(lo, p), p.qmin) << bits << " " << lo << " " << hi;
      ASSERT_EQ(affine_value(affine_code(0.0f, p), p), 0.0f);
      ASSERT_EQ(p.zero, std::nearbyint(-lo / p.scale));
    }
  }
}

TEST(Grid, AllPositiveGroupStoresPositiveZeroPoint) {
  const AffineParams p = asymmetric_params(0.25f, 1.0f, 4, DType::f16);
  EXPECT_EQ(p.zero, 0.0f);
  EXPECT_FALSE(std::signbit(p.zero));  // stored as f16 0x0000, not 0x8000
  const AffineParams n = asymmetric_params(-1.0f, -0.25f, 4, DType::f16);
  EXPECT_EQ(n.zero, 15.0f);
  EXPECT_EQ(affine_code(-1.0f, n), 0);
}

// The documented exception: range/scale is exactly 2^bits - 1 with both ends on half steps.
// {-0.5, 2.5} at 2 bits: scale 1, zero = rne(0.5) = 0, and 2.5 rounds to even code 2.
TEST(Grid, ExactHalfStepTieLeavesTheTopCodeUnused) {
  const AffineParams p = asymmetric_params(-0.5f, 2.5f, 2, DType::f16);
  EXPECT_EQ(p.scale, 1.0f);
  EXPECT_EQ(p.zero, 0.0f);
  EXPECT_EQ(affine_code(2.5f, p), 2);
}

TEST(Grid, SymmetricScaleIsRoundedToNearestF16) {
  std::mt19937 rng(12);
  std::uniform_real_distribution<float> u(1e-3f, 10.0f);
  for (int bits = 2; bits <= 8; ++bits) {
    const int half_levels = (1 << (bits - 1)) - 1;
    for (int k = 0; k < 1000; ++k) {
      const float absmax = u(rng);
      const AffineParams p = symmetric_params(absmax, bits, DType::f16);
      ASSERT_EQ(p.scale, f16_to_f32(f32_to_f16(absmax / static_cast<float>(half_levels))));
      ASSERT_EQ(p.zero, static_cast<float>(1 << (bits - 1)));
      ASSERT_EQ(affine_code(absmax, p), (1 << bits) - 1);
      ASSERT_EQ(affine_code(-absmax, p), 1);  // the grid is symmetric: code 0 is never used
    }
  }
  QuantFormat f32_scales = QuantFormat::affine(8, kPerChannel, true);
  f32_scales.scale_dtype = DType::f32;
  EXPECT_EQ(affine_params(f32_scales, -2.0f, 1.0f).scale, 2.0f / 127.0f);
}

TEST(Grid, DegenerateGroupsGetUnitScaleAndDecodeToZero) {
  // Zero ranges, and ranges whose scale is below f16's smallest subnormal (f16 scales) or
  // below f32's smallest normal (f32 scales).
  const struct {
    DType dtype;
    float tiny;
  } cases[] = {{DType::f16, 0.0f},
               {DType::f16, 1e-30f},
               {DType::f16, 1e-40f},
               {DType::f32, 0.0f},
               {DType::f32, 1e-40f}};
  for (const auto& c : cases) {
    const AffineParams a = asymmetric_params(-c.tiny, c.tiny, 4, c.dtype);
    const AffineParams s = symmetric_params(c.tiny, 4, c.dtype);
    for (const AffineParams& p : {a, s}) {
      EXPECT_EQ(p.scale, 1.0f) << c.tiny;
      EXPECT_EQ(affine_value(affine_code(c.tiny, p), p), 0.0f);
      EXPECT_EQ(affine_value(affine_code(-c.tiny, p), p), 0.0f);
    }
  }
  // With f32 scales 1e-30 is an ordinary range.
  EXPECT_NEAR(asymmetric_params(-1e-30f, 1e-30f, 4, DType::f32).scale, 2e-30f / 15, 1e-36f);
  // 1e-6 still has a (subnormal) f16 scale: it is kept, not replaced.
  EXPECT_LT(asymmetric_params(-1e-6f, 1e-6f, 4, DType::f16).scale, 1e-6f);
}

TEST(Grid, HugeRangesSaturateTheF16Scale) {
  EXPECT_EQ(asymmetric_params(-1e9f, 1e9f, 4, DType::f16).scale, 65504.0f);
  EXPECT_EQ(symmetric_params(1e9f, 2, DType::f16).scale, 65504.0f);
}

TEST(Grid, AffineCodeClampsAndMapsNanToQmin) {
  const AffineParams p = asymmetric_params(-1.0f, 1.0f, 4, DType::f16);
  EXPECT_EQ(affine_code(1e30f, p), 15);
  EXPECT_EQ(affine_code(-1e30f, p), 0);
  EXPECT_EQ(affine_code(NAN, p), 0);
}

TEST(Grid, Fp8ScaleAndSaturatingCode) {
  EXPECT_EQ(fp8_scale(448.0f, QuantKind::fp8_e4m3), 1.0f);
  EXPECT_EQ(fp8_scale(57344.0f, QuantKind::fp8_e5m2), 1.0f);
  EXPECT_EQ(fp8_scale(0.0f, QuantKind::fp8_e4m3), 1.0f);
  EXPECT_EQ(fp8_scale(1e-40f, QuantKind::fp8_e4m3), 1.0f);  // amax/448 would be denormal
  EXPECT_EQ(fp8_code(1000.0f, 1.0f, QuantKind::fp8_e4m3), 0x7E);
  EXPECT_EQ(fp8_code(-1e6f, 1.0f, QuantKind::fp8_e5m2), 0xFB);
  const float s = fp8_scale(3.0f, QuantKind::fp8_e4m3);
  EXPECT_EQ(e4m3_to_f32(fp8_code(3.0f, s, QuantKind::fp8_e4m3)), 448.0f);
}

TEST(Grid, Nf4CodeOfZeroBlockIsExactZero) {
  EXPECT_EQ(nf4_code(0.0f, 0.0f), 7);
  EXPECT_EQ(nf4_code(2.0f, 2.0f), 15);
  EXPECT_EQ(nf4_code(-2.0f, 2.0f), 0);
}

TEST(Grid, Nf4DoubleQuantizationBoundsTheAbsmaxError) {
  std::mt19937 rng(13);
  std::uniform_real_distribution<float> u(0.01f, 0.2f);
  const int64_t n = 600;  // 3 nested blocks, the last one partial
  std::vector<float> absmax(n);
  for (auto& a : absmax) a = u(rng);
  std::vector<uint8_t> codes(n);
  std::vector<float> nested(3);
  const float offset = nf4_double_quantize(absmax.data(), n, codes.data(), nested.data());
  double sum = 0;
  for (float a : absmax) sum += a;
  EXPECT_FLOAT_EQ(offset, static_cast<float>(sum / n));
  for (int64_t b = 0; b < 3; ++b) {
    float max_dev = 0;
    bool extreme_code = false;
    for (int64_t i = b * 256; i < std::min<int64_t>(n, (b + 1) * 256); ++i) {
      max_dev = std::fmax(max_dev, std::fabs(absmax[i] - offset));
      extreme_code |= codes[i] == 1 || codes[i] == 255;
      ASSERT_GE(codes[i], 1);
      const float decoded = nf4_nested_absmax(offset, nested[b], codes[i]);
      ASSERT_LE(std::fabs(decoded - absmax[i]), nested[b] * 0.5f * (1 + 1e-5f)) << i;
    }
    EXPECT_FLOAT_EQ(nested[b], max_dev / 127);
    EXPECT_TRUE(extreme_code) << "block " << b;
  }
  // Identical absmax values: zero deviations, a unit nested scale and an exact decode.
  const std::vector<float> same(10, 0.5f);
  const float same_offset = nf4_double_quantize(same.data(), 10, codes.data(), nested.data());
  EXPECT_EQ(nested[0], 1.0f);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(nf4_nested_absmax(same_offset, nested[0], codes[i]), 0.5f);
}

TEST(Grid, MinMaxAndAbsMax) {
  const float x[] = {0.5f, -2.0f, 1.5f, -0.25f};
  EXPECT_EQ(min_max(x, 4).min, -2.0f);
  EXPECT_EQ(min_max(x, 4).max, 1.5f);
  EXPECT_EQ(abs_max(x, 4), 2.0f);
  EXPECT_EQ(min_max(x, 1).min, 0.5f);
}

}  // namespace
}  // namespace lowbit::quant
