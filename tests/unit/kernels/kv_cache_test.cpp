// SPDX-License-Identifier: MIT
// KV-cache formats: byte sizes against the layout arithmetic, per-element round-trip error
// against each format's rounding bound, and attention through a quantized cache against the
// same attention through an f32 cache, with a named error bound per dtype.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <map>
#include <random>
#include <vector>

#include "kernels/exec_context.h"
#include "kernels/kernels.h"
#include "kernels/kv_format.h"
#include "kernels/kv_layer_cache.h"
#include "util/error.h"

namespace lowbit::kernels {
namespace {

std::vector<float> normal_values(size_t n, uint32_t seed, float sigma = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, sigma);
  std::vector<float> v(n);
  for (float& x : v) x = normal(rng);
  return v;
}

// Real keys have a few channels far larger than the rest (what KIVI's per-channel key
// scales are for); scale channel 3 and 17 of every head.
std::vector<float> keys_with_outlier_channels(int64_t tokens, int64_t heads, int64_t head_dim,
                                              uint32_t seed) {
  std::vector<float> k = normal_values(static_cast<size_t>(tokens * heads * head_dim), seed);
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t c : {3, 17}) k[static_cast<size_t>((t * heads + h) * head_dim + c)] *= 20.0f;
  return k;
}

// Reads every stored token of every head back as f32 [tokens, heads * head_dim].
std::vector<float> read_back(const KvLayerCache& cache, bool keys, Isa isa = Isa::scalar) {
  const int64_t tokens = cache.length(), d = cache.head_dim(), row = cache.kv_dim();
  std::vector<float> out(static_cast<size_t>(tokens * row)), scratch(static_cast<size_t>(64 * d));
  for (int64_t h = 0; h < cache.n_kv_heads(); ++h)
    for (int64_t t0 = 0; t0 < tokens; t0 += 64) {
      const int64_t n = std::min<int64_t>(64, tokens - t0);
      int64_t ld = 0;
      const float* p = keys ? cache.read_keys(t0, n, h * d, d, scratch.data(), &ld, isa)
                            : cache.read_values(t0, n, h * d, d, scratch.data(), &ld, isa);
      for (int64_t t = 0; t < n; ++t)
        std::copy(p + t * ld, p + t * ld + d, out.begin() + (t0 + t) * row + h * d);
    }
  return out;
}

TEST(KvFormat, BytesPerTokenEqualTheLayoutArithmetic) {
  // SmolLM2-135M: 30 layers, 3 KV heads of 64.
  const double L = 30, H = 3, D = 64;
  EXPECT_DOUBLE_EQ(kv_bytes_per_token(KvDtype::f32, 30, 3, 64), 2 * L * H * D * 4);
  EXPECT_DOUBLE_EQ(kv_bytes_per_token(KvDtype::f16, 30, 3, 64), 2 * L * H * D * 2);
  EXPECT_DOUBLE_EQ(kv_bytes_per_token(KvDtype::bf16, 30, 3, 64), 2 * L * H * D * 2);
  // One f16 scale per token per head, for K and for V.
  EXPECT_DOUBLE_EQ(kv_bytes_per_token(KvDtype::int8, 30, 3, 64), 2 * L * H * (D + 2));
  // Half a byte per value; keys: an f16 (scale, min) per channel per 32 tokens; values: one
  // per token per 32 channels.
  EXPECT_DOUBLE_EQ(kv_bytes_per_token(KvDtype::int4, 30, 3, 64),
                   L * H * ((D / 2 + D * 4 / 32) + (D / 2 + (D / 32) * 4)));
  EXPECT_DOUBLE_EQ(kv_bytes_per_token(KvDtype::int4_naive, 30, 3, 64),
                   2 * L * H * (D / 2 + (D / 32) * 4));
  EXPECT_DOUBLE_EQ(kv_bytes_per_token(KvDtype::fp8, 30, 3, 64), 2 * L * H * D);
  EXPECT_DOUBLE_EQ(kv_bytes_per_token(KvDtype::fp8_e5m2, 30, 3, 64), 2 * L * H * D);
  // stories260K: head_dim 8 is not a multiple of 32, so per-token int4 pairs cover a head.
  EXPECT_DOUBLE_EQ(kv_bytes_per_token(KvDtype::int4_naive, 5, 4, 8), 2 * 5 * 4 * (4 + 4));
}

TEST(KvFormat, AllocatedBytesEqualTheFormula) {
  for (KvDtype dtype : kv_dtypes()) {
    SCOPED_TRACE(kv_dtype_name(dtype));
    KvFormat f;
    f.dtype = dtype;
    for (int64_t positions : {1, 31, 32, 100, 2048}) {
      const KvLayerCache cache(f, 0, positions, 3, 64);
      EXPECT_EQ(cache.bytes(), kv_layer_bytes(f, 3, 64, positions));
      // At whole groups the allocation is the per-token figure plus the context-independent
      // part: the int4 window (2 x 32 tokens of f16 rows) and the fp8 per-layer scales.
      if (positions % 32 != 0) continue;
      const double fixed = dtype == KvDtype::int4  ? 2.0 * 32 * 3 * 64 * 2
                           : dtype == KvDtype::fp8 ? 8.0
                                                   : 0.0;
      EXPECT_DOUBLE_EQ(
          static_cast<double>(cache.bytes()),
          kv_bytes_per_token(dtype, 1, 3, 64) * static_cast<double>(positions) + fixed);
    }
  }
}

TEST(KvFormat, ParsesNamesAndRejectsBadOnes) {
  for (KvDtype dtype : kv_dtypes()) EXPECT_EQ(parse_kv_dtype(kv_dtype_name(dtype)), dtype);
  EXPECT_THROW(parse_kv_dtype("int3"), InvalidArgument);
  KvFormat f;
  f.dtype = KvDtype::int4;
  f.residual = 48;
  EXPECT_THROW(validate_kv_format(f), InvalidArgument);
  f.residual = 64;
  EXPECT_NO_THROW(validate_kv_format(f));
}

// Round trip of random rows: every element within its format's rounding bound.
TEST(KvLayerCache, RoundTripWithinEachFormatsBound) {
  const int64_t tokens = 100, heads = 2, d = 64, row = heads * d;
  const std::vector<float> k = keys_with_outlier_channels(tokens, heads, d, 1);
  const std::vector<float> v = normal_values(static_cast<size_t>(tokens * row), 2);
  for (KvDtype dtype : kv_dtypes()) {
    SCOPED_TRACE(kv_dtype_name(dtype));
    KvFormat f;
    f.dtype = dtype;
    KvLayerCache cache(f, 0, tokens, heads, d);
    cache.write(0, tokens, k.data(), v.data(), row);
    ASSERT_EQ(cache.length(), tokens);
    for (bool keys : {true, false}) {
      const std::vector<float>& x = keys ? k : v;
      const std::vector<float> y = read_back(cache, keys);
      const float layer_amax = std::abs(*std::max_element(
          x.begin(), x.end(), [](float a, float b) { return std::abs(a) < std::abs(b); }));
      for (int64_t t = 0; t < tokens; ++t)
        for (int64_t h = 0; h < heads; ++h) {
          const float* xs = &x[static_cast<size_t>(t * row + h * d)];
          float head_amax = 0, lo = xs[0], hi = xs[0];
          for (int64_t c = 0; c < d; ++c) {
            head_amax = std::max(head_amax, std::abs(xs[c]));
            lo = std::min(lo, xs[c]);
            hi = std::max(hi, xs[c]);
          }
          for (int64_t c = 0; c < d; ++c) {
            const auto i = static_cast<size_t>(t * row + h * d + c);
            const float a = std::abs(x[i]), err = std::abs(y[i] - x[i]);
            float bound = 0;
            switch (dtype) {
              case KvDtype::f32:
                bound = 0;
                break;
              case KvDtype::f16:  // half an ulp, or of the subnormal spacing 2^-24
                bound = std::max(a * 0x1p-11f, 0x1p-25f);
                break;
              case KvDtype::bf16:
                bound = a * 0x1p-8f;
                break;
              case KvDtype::int8:  // half a step of amax / 127, scale rounded to f16
                bound = head_amax / 254.0f * 1.002f;
                break;
              case KvDtype::int4_naive:
              case KvDtype::int4:
                // Half a step of the group's range / 15, f16 (scale, min) slack; the int4 key
                // groups run along tokens, so bound them by the channel's range checked below.
                bound =
                    (dtype == KvDtype::int4 && keys) ? 1e30f : (hi - lo) / 30.0f * 1.01f + 1e-3f;
                break;
              case KvDtype::fp8:  // 3 mantissa bits, scale = amax / 448
                bound = std::max(a * 0x1p-4f, layer_amax / 448.0f * 0x1p-10f);
                break;
              case KvDtype::fp8_e5m2:  // 2 mantissa bits, subnormal spacing 2^-16
                bound = std::max(a * 0x1p-3f, 0x1p-17f);
                break;
            }
            ASSERT_LE(err, bound) << "token " << t << " head " << h << " channel " << c
                                  << (keys ? " keys" : " values");
          }
        }
      if (dtype == KvDtype::int4 && keys) {
        // Per channel over each group of 32 tokens; the last 100 % 32 = 4 tokens are in the
        // f16 window.
        for (int64_t c = 0; c < row; ++c)
          for (int64_t t0 = 0; t0 < tokens; t0 += 32) {
            const int64_t n = std::min<int64_t>(32, tokens - t0);
            float lo = 1e30f, hi = -1e30f;
            for (int64_t t = t0; t < t0 + n; ++t) {
              lo = std::min(lo, x[static_cast<size_t>(t * row + c)]);
              hi = std::max(hi, x[static_cast<size_t>(t * row + c)]);
            }
            for (int64_t t = t0; t < t0 + n; ++t) {
              const auto i = static_cast<size_t>(t * row + c);
              const float bound = t >= 96 ? std::max(std::abs(x[i]) * 0x1p-11f, 0x1p-25f)
                                          : (hi - lo) / 30.0f * 1.01f + 1e-3f;
              ASSERT_LE(std::abs(y[i] - x[i]), bound) << "token " << t << " channel " << c;
            }
          }
      }
    }
  }
}

// The SIMD row decoders (the best this CPU runs) read every format exactly as the scalar ones
// do, KIVI keys across group boundaries and the f16 window included.
TEST(KvLayerCache, EveryIsaReadsTheSameValues) {
  const int64_t tokens = 150, heads = 3, d = 64, row = heads * d;
  const std::vector<float> k = keys_with_outlier_channels(tokens, heads, d, 11);
  const std::vector<float> v = normal_values(static_cast<size_t>(tokens * row), 12, 3.0f);
  for (KvDtype dtype : kv_dtypes()) {
    SCOPED_TRACE(kv_dtype_name(dtype));
    KvFormat f;
    f.dtype = dtype;
    KvLayerCache cache(f, 0, tokens, heads, d);
    cache.write(0, tokens, k.data(), v.data(), row);
    for (bool keys : {true, false}) {
      const std::vector<float> ref = read_back(cache, keys, Isa::scalar);
      const std::vector<float> simd = read_back(cache, keys, detect_isa());
      for (size_t i = 0; i < ref.size(); ++i)
        ASSERT_EQ(std::bit_cast<uint32_t>(simd[i]), std::bit_cast<uint32_t>(ref[i]))
            << "element " << i << (keys ? " keys" : " values");
    }
  }
}

double mean_abs_error(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += std::abs(static_cast<double>(a[i]) - b[i]);
  return s / static_cast<double>(a.size());
}

TEST(KvLayerCache, PerChannelKeysBeatPerTokenKeysOnOutlierChannels) {
  const int64_t tokens = 128, heads = 2, d = 64, row = heads * d;
  const std::vector<float> k = keys_with_outlier_channels(tokens, heads, d, 3);
  const std::vector<float> v = normal_values(k.size(), 4);
  KvFormat kivi, naive;
  kivi.dtype = KvDtype::int4;
  naive.dtype = KvDtype::int4_naive;
  KvLayerCache a(kivi, 0, tokens, heads, d), b(naive, 0, tokens, heads, d);
  a.write(0, tokens, k.data(), v.data(), row);
  b.write(0, tokens, k.data(), v.data(), row);
  // All 128 tokens are quantized (4 full windows of 32); per-channel scales leave the small
  // channels their own range, per-token scales spread the outliers' range over them.
  EXPECT_LT(mean_abs_error(read_back(a, true), k), 0.5 * mean_abs_error(read_back(b, true), k));
  // Values use the same per-token layout in both (KIVI quantizes them from the f16 window,
  // so individual codes may differ by rounding).
  EXPECT_NEAR(mean_abs_error(read_back(a, false), v), mean_abs_error(read_back(b, false), v),
              0.02 * mean_abs_error(read_back(b, false), v));
}

TEST(KvLayerCache, Int4WindowFlushesWhenFullAndRewritesOnlyAtWindowBoundaries) {
  const int64_t heads = 1, d = 32;
  KvFormat f;
  f.dtype = KvDtype::int4;
  f.residual = 64;
  KvLayerCache cache(f, 0, 200, heads, d);
  const std::vector<float> x = normal_values(200 * d, 5);
  // Token by token: the first 63 rows are exact f16 until the 64th fills the window.
  for (int64_t t = 0; t < 63; ++t) cache.write(t, 1, &x[static_cast<size_t>(t * d)], &x[0], d);
  std::vector<float> y = read_back(cache, true);
  for (size_t i = 0; i < y.size(); ++i)
    ASSERT_LE(std::abs(y[i] - x[i]), std::max(std::abs(x[i]) * 0x1p-11f, 0x1p-25f));
  cache.write(63, 1, &x[63 * d], &x[0], d);
  y = read_back(cache, true);
  double changed = 0;
  for (size_t i = 0; i < y.size(); ++i)
    changed += std::abs(y[i] - x[i]) > std::abs(x[i]) * 0x1p-11f;
  EXPECT_GT(changed, 0) << "the window was not quantized";
  cache.write(64, 10, &x[64 * d], &x[64 * d], d);
  EXPECT_THROW(cache.write(30, 1, x.data(), x.data(), d), Unsupported);
  EXPECT_NO_THROW(cache.write(64, 1, x.data(), x.data(), d));  // window boundary
  EXPECT_EQ(cache.length(), 65);
  EXPECT_NO_THROW(cache.write(0, 5, x.data(), x.data(), d));  // a new sequence
  EXPECT_EQ(cache.length(), 5);
  EXPECT_THROW(cache.write(7, 1, x.data(), x.data(), d), Error);  // a gap
}

TEST(KvLayerCache, Fp8DynamicScaleComesFromTheFirstWriteAndCalibratedOnesAreKept) {
  const int64_t d = 16;
  const std::vector<float> x = normal_values(4 * d, 6);
  float amax = 0;
  for (float v : x) amax = std::max(amax, std::abs(v));
  KvFormat f;
  f.dtype = KvDtype::fp8;
  KvLayerCache dynamic(f, 0, 8, 1, d);
  dynamic.write(0, 4, x.data(), x.data(), d);
  EXPECT_FLOAT_EQ(dynamic.key_scale(), amax / 448.0f);
  std::vector<float> big(d, 10.0f * amax);
  dynamic.write(4, 1, big.data(), big.data(), d);  // later rows saturate, the scale stays
  EXPECT_FLOAT_EQ(dynamic.key_scale(), amax / 448.0f);
  f.key_scales = {0.5f, 2.0f};
  f.value_scales = {0.25f, 4.0f};
  KvLayerCache calibrated(f, 1, 8, 1, d);
  calibrated.write(0, 4, x.data(), x.data(), d);
  EXPECT_EQ(calibrated.key_scale(), 2.0f);
  EXPECT_EQ(calibrated.value_scale(), 4.0f);
}

struct AttentionBound {
  KvDtype dtype;
  double max_abs_error;  // attention output vs the f32 cache, values ~ N(0, 1)
};

// Named bounds: about twice the largest error measured on these inputs (keys with two
// outlier channels of 20 sigma, which set the per-token int8 / per-layer fp8 steps), so a wrong
// scale or layout (errors of order 1 and more) fails while rounding passes.
constexpr AttentionBound kAttentionBounds[] = {
    {KvDtype::f16, 3e-3},     {KvDtype::bf16, 2e-2},      {KvDtype::int8, 0.1},
    {KvDtype::int4, 0.35},    {KvDtype::int4_naive, 1.2}, {KvDtype::fp8, 0.4},
    {KvDtype::fp8_e5m2, 0.9},
};

TEST(KvAttention, QuantizedCachesTrackTheF32CacheDeterministically) {
  const int64_t heads = 6, kv_heads = 2, d = 64, row = kv_heads * d, q_width = heads * d;
  const int64_t start = 70, n = 90, total = start + n;
  const std::vector<float> k = keys_with_outlier_channels(total, kv_heads, d, 7);
  const std::vector<float> v = normal_values(static_cast<size_t>(total * row), 8);
  // Queries scaled so that attention is neither uniform nor one-hot.
  const std::vector<float> q = normal_values(static_cast<size_t>(n * q_width), 9, 0.3f);
  auto run = [&](KvDtype dtype, int threads, bool decode) {
    KvFormat f;
    f.dtype = dtype;
    KvLayerCache cache(f, 0, total, kv_heads, d);
    ExecContext ctx(threads);
    cache.write(0, start, k.data(), v.data(), row);
    std::vector<float> out(q.size());
    if (!decode) {
      cache.write(start, n, &k[start * row], &v[start * row], row);
      attention_prefill(q.data(), cache, start, n, heads, kv_heads, d, out.data(), ctx);
      return out;
    }
    for (int64_t t = 0; t < n; ++t) {
      cache.write(start + t, 1, &k[(start + t) * row], &v[(start + t) * row], row);
      attention(&q[t * q_width], cache, start + t + 1, heads, kv_heads, d, &out[t * q_width], ctx);
    }
    return out;
  };
  const std::vector<float> reference = run(KvDtype::f32, 1, false);
  std::map<KvDtype, double> worst_of;
  for (const AttentionBound& b : kAttentionBounds) {
    SCOPED_TRACE(kv_dtype_name(b.dtype));
    const std::vector<float> prefill = run(b.dtype, 1, false);
    double worst = 0;
    for (size_t i = 0; i < prefill.size(); ++i)
      worst = std::max(worst, std::abs(static_cast<double>(prefill[i]) - reference[i]));
    EXPECT_LE(worst, b.max_abs_error);
    worst_of[b.dtype] = worst;
    EXPECT_GT(worst, 0.0) << "no rounding at all: the cache was not quantized";
    EXPECT_EQ(run(b.dtype, 3, false), prefill) << "prefill depends on the thread count";
    const std::vector<float> decode1 = run(b.dtype, 1, true);
    EXPECT_EQ(run(b.dtype, 2, true), decode1) << "decode depends on the thread count";
    // Both runs store the same codes (fp8's dynamic scale comes from the same first write of
    // 70 rows), so decode and prefill agree to f32 rounding; except int4, where a decode step
    // still sees the newest keys in the f16 window that prefill reads already quantized.
    if (b.dtype != KvDtype::int4) {
      for (size_t i = 0; i < prefill.size(); ++i) ASSERT_NEAR(decode1[i], prefill[i], 2e-5) << i;
    }
  }
  // The KIVI layout (per-channel keys) is what keeps 4-bit keys usable.
  EXPECT_LT(worst_of[KvDtype::int4], 0.5 * worst_of[KvDtype::int4_naive]);
}

}  // namespace
}  // namespace lowbit::kernels
