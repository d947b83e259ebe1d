// SPDX-License-Identifier: MIT
// rms_norm, rope, softmax, silu_mul and attention against direct double-precision formulas.
#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <limits>
#include <random>
#include <vector>

#include "kernels/kernels.h"
#include "util/error.h"

namespace lowbit::kernels {
namespace {

std::vector<float> random_vector(size_t n, uint32_t seed, float sigma = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, sigma);
  std::vector<float> v(n);
  for (auto& e : v) e = normal(rng);
  return v;
}

TEST(RmsNormTest, MatchesFormula) {
  const int64_t dim = 4099;
  const std::vector<float> x = random_vector(dim, 1, 30.0f), weight = random_vector(dim, 2);
  std::vector<float> y(dim);
  rms_norm(x.data(), weight.data(), dim, 1e-5f, y.data());
  double sum = 0.0;
  for (float v : x) sum += static_cast<double>(v) * v;
  const double inv = 1.0 / std::sqrt(sum / dim + 1e-5f);
  for (int64_t i = 0; i < dim; ++i)
    ASSERT_NEAR(y[i], x[i] * inv * weight[i], 1e-6 * std::abs(x[i] * inv * weight[i]) + 1e-30);
}

TEST(RmsNormTest, InPlaceAndRejectsBadShapes) {
  std::vector<float> x{3.0f, 4.0f}, w{1.0f, 1.0f};
  rms_norm(x.data(), w.data(), 2, 0.0f, x.data());
  EXPECT_NEAR(x[0], 3.0 / std::sqrt(12.5), 1e-6);
  EXPECT_THROW(rms_norm(x.data(), w.data(), 0, 1e-5f, x.data()), Error);
  EXPECT_THROW(rms_norm(nullptr, w.data(), 2, 1e-5f, x.data()), Error);
}

// Pair (a, b) as the complex number a + ib, rotated by e^(i * pos * inv_freq).
void check_rope(bool interleaved, int64_t pos) {
  const int64_t heads = 3, head_dim = 64, half = head_dim / 2;
  std::vector<float> inv_freq(half);
  for (int64_t i = 0; i < half; ++i)
    inv_freq[i] = static_cast<float>(std::pow(500000.0, -2.0 * static_cast<double>(i) / head_dim));
  const std::vector<float> x = random_vector(heads * head_dim, 3);
  std::vector<float> y = x;
  rope(y.data(), heads, head_dim, pos, inv_freq.data(), interleaved);
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t i = 0; i < half; ++i) {
      const int64_t a = h * head_dim + (interleaved ? 2 * i : i);
      const int64_t b = interleaved ? a + 1 : a + half;
      const double angle = static_cast<double>(pos) * inv_freq[i];
      const std::complex<double> z = std::complex<double>(x[a], x[b]) * std::polar(1.0, angle);
      ASSERT_NEAR(y[a], z.real(), 1e-6) << "pos " << pos << " pair " << i;
      ASSERT_NEAR(y[b], z.imag(), 1e-6) << "pos " << pos << " pair " << i;
    }
}

TEST(RopeTest, InterleavedMatchesComplexRotation) {
  for (int64_t pos : {0, 1, 17, 4095, 131071}) check_rope(true, pos);
}

TEST(RopeTest, HalfSplitMatchesComplexRotation) {
  for (int64_t pos : {0, 1, 17, 4095, 131071}) check_rope(false, pos);
}

TEST(RopeTest, PositionZeroIsIdentityAndBadShapesThrow) {
  std::vector<float> inv_freq(4, 0.5f), x = random_vector(8, 4), y = x;
  rope(y.data(), 1, 8, 0, inv_freq.data(), false);
  EXPECT_EQ(x, y);
  EXPECT_THROW(rope(y.data(), 1, 7, 0, inv_freq.data(), false), Error);
  EXPECT_THROW(rope(y.data(), 0, 8, 0, inv_freq.data(), false), Error);
  EXPECT_THROW(rope(y.data(), 1, 8, -1, inv_freq.data(), false), Error);
}

TEST(SoftmaxTest, LargeInputsAreStable) {
  std::vector<float> x{1000.0f, 1001.0f, 1002.0f, -std::numeric_limits<float>::infinity()};
  softmax(x.data(), 4);
  const double e0 = std::exp(-2.0), e1 = std::exp(-1.0), sum = e0 + e1 + 1.0;
  EXPECT_NEAR(x[0], e0 / sum, 1e-7);
  EXPECT_NEAR(x[1], e1 / sum, 1e-7);
  EXPECT_NEAR(x[2], 1.0 / sum, 1e-7);
  EXPECT_EQ(x[3], 0.0f);
}

TEST(SoftmaxTest, MatchesFormulaOnAVocabulary) {
  const std::vector<float> x = random_vector(128256, 5, 8.0f);
  std::vector<float> y = x;
  softmax(y.data(), static_cast<int64_t>(y.size()));
  double max = x[0], sum = 0.0, total = 0.0;
  for (float v : x) max = std::max<double>(max, v);
  for (float v : x) sum += std::exp(v - max);
  for (size_t i = 0; i < x.size(); ++i) {
    const double want = std::exp(x[i] - max) / sum;
    // x - max rounds in f32, so tiny probabilities carry |x - max| * 2^-24 relative error.
    ASSERT_NEAR(y[i], want, (1e-6 + std::abs(x[i] - max) * 1.2e-7) * want + 1e-38);
    total += y[i];
  }
  EXPECT_NEAR(total, 1.0, 1e-5);
  EXPECT_THROW(softmax(y.data(), 0), Error);
}

TEST(SiluMulTest, MatchesFormula) {
  std::vector<float> gate = random_vector(1001, 6, 4.0f);
  gate[0] = -200.0f;
  gate[1] = 200.0f;
  const std::vector<float> up = random_vector(1001, 7), original = gate;
  silu_mul(gate.data(), up.data(), 1001);
  for (size_t i = 0; i < gate.size(); ++i) {
    const double g = original[i], want = g / (1.0 + std::exp(-g)) * up[i];
    ASSERT_NEAR(gate[i], want, 1e-6 * std::abs(want) + 1e-30) << i;
  }
  EXPECT_THROW(silu_mul(nullptr, up.data(), 3), Error);
}

TEST(AttentionTest, MatchesFormulaWithGqa) {
  const int64_t heads = 8, kv_heads = 2, head_dim = 20, n_keys = 13;
  const int64_t kv_stride = kv_heads * head_dim + 5;  // padding the cache write must skip
  const std::vector<float> q = random_vector(heads * head_dim, 8),
                           keys = random_vector(n_keys * kv_stride, 9),
                           values = random_vector(n_keys * kv_stride, 10);
  std::vector<float> out(heads * head_dim);
  KvLayerCache cache(KvFormat{}, 0, n_keys + 3, kv_heads, head_dim);
  cache.write(0, n_keys, keys.data(), values.data(), kv_stride);
  ExecContext ctx(2);
  attention(q.data(), cache, n_keys, heads, kv_heads, head_dim, out.data(), ctx);
  for (int64_t h = 0; h < heads; ++h) {
    const int64_t g = h / (heads / kv_heads);
    std::vector<double> p(n_keys);
    double max = -1e300, sum = 0.0;
    for (int64_t t = 0; t < n_keys; ++t) {
      double s = 0.0;
      for (int64_t d = 0; d < head_dim; ++d)
        s += static_cast<double>(q[h * head_dim + d]) * keys[t * kv_stride + g * head_dim + d];
      p[t] = s / std::sqrt(static_cast<double>(head_dim));
      max = std::max(max, p[t]);
    }
    for (auto& v : p) sum += (v = std::exp(v - max));
    for (int64_t d = 0; d < head_dim; ++d) {
      double want = 0.0;
      for (int64_t t = 0; t < n_keys; ++t)
        want += p[t] / sum * values[t * kv_stride + g * head_dim + d];
      ASSERT_NEAR(out[h * head_dim + d], want, 1e-5) << "head " << h << " dim " << d;
    }
  }
}

TEST(AttentionTest, RejectsBadShapes) {
  std::vector<float> q(64), kv(64), out(64);
  KvLayerCache cache(KvFormat{}, 0, 4, 2, 8);
  cache.write(0, 2, kv.data(), kv.data(), 16);
  ExecContext ctx(1);
  EXPECT_THROW(attention(q.data(), cache, 2, 3, 2, 8, out.data(), ctx),
               Error);  // 3 heads over 2 kv heads
  EXPECT_THROW(attention(q.data(), cache, 0, 2, 2, 8, out.data(), ctx), Error);
  EXPECT_THROW(attention(q.data(), cache, 3, 2, 2, 8, out.data(), ctx),
               Error);  // more keys than cached
  EXPECT_THROW(attention(q.data(), cache, 2, 2, 1, 8, out.data(), ctx),
               Error);  // one kv head of 8 does not cover rows of 16
}

}  // namespace
}  // namespace lowbit::kernels
