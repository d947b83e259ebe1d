// SPDX-License-Identifier: MIT
// Trellis-coded quantization: the stream layout, the codebook, Viterbi against a brute-force
// search, the rate-distortion it reaches on Gaussian values, and trellis tensors from the
// data-free and GPTQ quantizers (decoded through the reference decoder, at any thread count).
#include "quant/trellis.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "layer_fixtures.h"
#include "numerics/trellis_code.h"
#include "quant/gptq.h"
#include "quant/gptq_trellis.h"
#include "quant/rtn.h"
#include "quant/scheme.h"
#include "tensor/dequantize.h"
#include "testing/kernel_cases.h"
#include "util/error.h"
#include "util/thread_pool.h"

namespace lowbit::quant {
namespace {

std::vector<float> gaussian(int64_t n, uint32_t seed) {
  return lowbit::testing::normal_values(n, seed);
}

TEST(TrellisCode, CodebookIsCentredUnitVarianceAndFixed) {
  const int L = 12;
  const float* cb = trellis_codebook(L);
  double mean = 0.0, sq = 0.0;
  for (uint32_t s = 0; s < (1u << L); ++s) {
    ASSERT_EQ(cb[s], trellis_value(s));
    mean += cb[s];
    sq += double(cb[s]) * cb[s];
  }
  mean /= 4096.0;
  EXPECT_NEAR(mean, 0.0, 0.05);
  EXPECT_NEAR(sq / 4096.0 - mean * mean, 1.0, 0.06);
  // Stored files decode through these values: they must never change.
  EXPECT_EQ(trellis_value(0), static_cast<float>(753 - 510) * (1.0f / 147.80054f));
  EXPECT_EQ(trellis_value(1), static_cast<float>(466 - 510) * (1.0f / 147.80054f));
}

TEST(TrellisCode, StreamsRoundTripEveryState) {
  std::mt19937 rng(4);
  for (const int k : {2, 3, 4, 7})
    for (const int L : {k + 1, 12, 16})
      for (const int64_t n : {int64_t{1}, int64_t{5}, int64_t{256}}) {
        // A random walk: each state shifts in k random bits.
        std::vector<uint32_t> states(static_cast<size_t>(n));
        const uint32_t mask = (1u << L) - 1u;
        states[0] = rng() & mask;
        for (int64_t t = 1; t < n; ++t)
          states[t] = ((states[t - 1] << k) | (rng() & ((1u << k) - 1u))) & mask;
        std::vector<uint8_t> stream(static_cast<size_t>(trellis_stream_bytes(n, k, L)) + 1, 0xAB);
        trellis_write_stream(states.data(), n, k, L, stream.data());
        EXPECT_EQ(stream.back(), 0xAB) << "wrote past the stream";
        TrellisStreamReader reader(stream.data(), k, L);
        for (int64_t t = 0; t < n; ++t) {
          if (t > 0) reader.advance();
          ASSERT_EQ(trellis_state(stream.data(), t, k, L), states[t])
              << "k=" << k << " L=" << L << " t=" << t;
          ASSERT_EQ(reader.state(), states[t]) << "k=" << k << " L=" << L << " t=" << t;
        }
      }
}

// Every stream of a tiny trellis, decoded and scored: Viterbi must find the minimum. The shapes
// reach the vectorized step (8 predecessor groups at a time, 8 successors per vector) and the
// scalar one (fewer than 8 groups, fewer than 8 successors).
TEST(Trellis, ViterbiFindsTheBestWalk) {
  struct Case {
    int L, k;
    int64_t n;
  };
  for (const Case& c : {Case{5, 2, 6}, Case{4, 2, 6}, Case{6, 3, 5}, Case{9, 3, 4}, Case{9, 4, 3}})
    for (uint32_t seed : {1u, 2u, 3u}) {
      const TrellisShape shape{c.L, c.k};
      const std::vector<float> x = gaussian(c.n, seed);
      std::vector<float> scale(static_cast<size_t>(c.n));
      for (int64_t t = 0; t < c.n; ++t) scale[t] = 0.5f + 0.1f * static_cast<float>(t);
      const int total_bits = c.L + static_cast<int>(c.n - 1) * c.k;
      const uint32_t mask = (1u << c.L) - 1u;
      double best = std::numeric_limits<double>::infinity();
      for (uint32_t code = 0; code < (1u << total_bits); ++code) {
        double err = 0.0;
        for (int64_t t = 0; t < c.n; ++t) {
          const uint32_t s = (code >> (total_bits - c.L - c.k * t)) & mask;
          const double d = double(x[t]) - double(scale[t] * trellis_value(s));
          err += d * d;
        }
        best = std::min(best, err);
      }
      TrellisScratch scratch;
      std::vector<uint32_t> states(static_cast<size_t>(c.n));
      const double got = trellis_encode(x.data(), scale.data(), c.n, shape, states.data(), scratch);
      EXPECT_TRUE(is_trellis_walk(states.data(), c.n, shape));
      EXPECT_NEAR(got, best, 1e-5 * best) << "L=" << c.L << " k=" << c.k << " seed " << seed;
    }
}

// The point of the trellis: 3 bits per value of a Gaussian source at well under the error of
// the best 8-level scalar quantizer (Lloyd-Max, 0.0345), and 2 bits under Lloyd-Max's 0.1175.
TEST(Trellis, BeatsEveryScalarQuantizerOnGaussianValues) {
  for (const auto& [k, bound] : {std::pair{3, 0.0345}, std::pair{2, 0.1175}}) {
    const TrellisShape shape{12, k};
    TrellisScratch scratch;
    double err = 0.0;
    const int64_t n = 256, runs = 20;
    for (int run = 0; run < runs; ++run) {
      const std::vector<float> x = gaussian(n, 100 + run);
      const std::vector<float> scale(static_cast<size_t>(n), 1.05f);
      std::vector<uint32_t> states(static_cast<size_t>(n));
      err += trellis_encode(x.data(), scale.data(), n, shape, states.data(), scratch);
    }
    const double mse = err / double(n * runs);
    EXPECT_LT(mse, 0.7 * bound) << k << " bits";
  }
}

TEST(Trellis, RefusesBadShapes) {
  TrellisScratch scratch;
  float x = 0.0f, s = 1.0f;
  uint32_t st = 0;
  EXPECT_THROW(trellis_encode(&x, &s, 1, TrellisShape{3, 4}, &st, scratch), InvalidArgument);
  EXPECT_THROW(trellis_encode(&x, &s, 0, TrellisShape{8, 2}, &st, scratch), InvalidArgument);
}

double relative_error(const std::vector<float>& w, const std::vector<float>& q) {
  double num = 0.0, den = 0.0;
  for (size_t i = 0; i < w.size(); ++i) {
    num += double(w[i] - q[i]) * (w[i] - q[i]);
    den += double(w[i]) * w[i];
  }
  return num / den;
}

TEST(TrellisQuantize, DataFreeBeatsRoundToNearestAtTheSameBits) {
  const int64_t rows = 300, cols = 96;  // two runs of rows, the second short
  const std::vector<float> w = testing::random_weights(rows, cols, 3);
  const QuantizedTensor t =
      quantize_trellis(w.data(), rows, cols, QuantFormat::trellis(3, 12), nullptr, "w");
  EXPECT_EQ(t.format, QuantFormat::trellis(3, 12));
  const double trellis = relative_error(w, dequantize_reference(t));
  // The scalar grid with a 3-bit per-channel scale: about the same bits per weight.
  const double rtn =
      relative_error(w, dequantize_reference(quantize_rtn(
                            w.data(), rows, cols, QuantFormat::affine(3, kPerChannel, true), "w")));
  EXPECT_LT(trellis, 0.6 * rtn);
  EXPECT_LT(trellis, 0.03);
  // quantize_rtn of a trellis format is the same search.
  const QuantizedTensor again = quantize_rtn(w.data(), rows, cols, t.format, "w");
  EXPECT_EQ(0, std::memcmp(again.codes.data(), t.codes.data(), t.codes.size()));
}

TEST(TrellisQuantize, GptqLowersTheOutputErrorAndIsThreadCountFree) {
  const int64_t rows = 300, cols = 64, n = 512;
  const std::vector<float> w = testing::random_weights(rows, cols, 5);
  const std::vector<float> x = testing::correlated_inputs(n, cols, 6);
  const std::vector<double> h = testing::hessian(x, n, cols);
  const QuantFormat f = QuantFormat::trellis(3, 10);
  GptqOptions options;
  options.block_size = 16;  // several lazy blocks
  std::vector<uint8_t> first;
  for (int threads : {1, 3}) {
    ThreadPool pool(threads);
    options.pool = &pool;
    const GptqResult g = quantize_gptq(w.data(), rows, cols, h.data(), f, options, "w");
    ASSERT_FALSE(g.rtn_fallback);
    const auto* bytes = g.weight.codes.data();
    if (first.empty()) {
      first.assign(bytes, bytes + g.weight.codes.size());
      const std::vector<float> q = dequantize_reference(g.weight);
      const std::vector<float> plain =
          dequantize_reference(quantize_trellis(w.data(), rows, cols, f, nullptr, "w"));
      const double gptq_err = testing::output_error(w, q, x, rows, cols, n);
      const double plain_err = testing::output_error(w, plain, x, rows, cols, n);
      EXPECT_LT(gptq_err, 0.7 * plain_err);
      // And below the scalar GPTQ at more bits (3-bit groups of 32 with zero-points: 3.5 b/w).
      const GptqResult scalar = quantize_gptq(w.data(), rows, cols, h.data(),
                                              QuantFormat::affine(3, 32, false), options, "w");
      EXPECT_LT(gptq_err, testing::output_error(w, scalar.weight, x, n));
    } else {
      EXPECT_EQ(0, std::memcmp(first.data(), bytes, first.size())) << threads << " threads";
    }
  }
}

TEST(TrellisQuantize, RefusesNonFiniteWeightsAndFallsBackOnABadHessian) {
  const int64_t rows = 8, cols = 16;
  std::vector<float> w = testing::random_weights(rows, cols, 1);
  const QuantFormat f = QuantFormat::trellis(2, 8);
  std::vector<double> h(static_cast<size_t>(cols * cols), 0.0);
  for (int64_t i = 0; i < cols; ++i) h[i * cols + i] = 1.0;
  h[3] = std::numeric_limits<double>::quiet_NaN();
  const GptqResult g = quantize_gptq(w.data(), rows, cols, h.data(), f, GptqOptions{}, "layer");
  EXPECT_TRUE(g.rtn_fallback);
  EXPECT_EQ(g.weight.format, f);
  w[5] = std::numeric_limits<float>::infinity();
  EXPECT_THROW(quantize_trellis(w.data(), rows, cols, f, nullptr, "layer"), InvalidArgument);
}

TEST(TrellisFormat, SizesNamesAndValidation) {
  const QuantFormat f = QuantFormat::trellis(3, 12);
  EXPECT_EQ(format_name(f), "trellis3 L12");
  // 576 x 576: 3 runs (256, 256, 64 rows) of 576 streams; f16 scale per row.
  const BufferSizes s = buffer_sizes(f, 576, 576);
  EXPECT_EQ(s.codes, size_t(576) * (2 * ((12 + 255 * 3 + 7) / 8) + (12 + 63 * 3 + 7) / 8));
  EXPECT_EQ(s.scales, size_t(576) * 2);
  // 3 bits, plus L - k bits and byte padding per run and 16 bits per row: 3.11.
  EXPECT_DOUBLE_EQ(bits_per_weight(f, 576, 576),
                   8.0 * double(s.codes + s.scales) / (576.0 * 576.0));
  EXPECT_LT(bits_per_weight(f, 576, 576), 3.12);
  QuantFormat bad = f;
  bad.state_bits = 3;
  EXPECT_THROW(validate_format(bad), InvalidArgument);
  bad.state_bits = 17;
  EXPECT_THROW(validate_format(bad), InvalidArgument);
  bad = f;
  bad.group_size = 128;
  EXPECT_THROW(validate_format(bad), InvalidArgument);
  QuantFormat affine = QuantFormat::affine(4, 32, true);
  affine.state_bits = 12;
  EXPECT_THROW(validate_format(affine), InvalidArgument);
}

TEST(TrellisFormat, SchemesNameTheirFormat) {
  EXPECT_EQ(find_scheme("tcq3").format, QuantFormat::trellis(3, kTrellisDefaultStateBits));
  EXPECT_EQ(find_scheme("tcq2-l16").format, QuantFormat::trellis(2, 16));
  const Scheme g = find_scheme("gptq-tcq4");
  EXPECT_EQ(g.algorithm, "gptq");
  EXPECT_EQ(g.format, QuantFormat::trellis(4, kTrellisDefaultStateBits));
  for (const char* bad : {"tcq1", "tcq9", "tcq3-l20", "tcq4-l4", "awq-tcq3", "hqq-tcq3"})
    EXPECT_THROW(find_scheme(bad), InvalidArgument) << bad;
  // One spelling per scheme: the default state size is never written out.
  EXPECT_THROW(find_scheme("tcq3-l12"), InvalidArgument);
  EXPECT_EQ(trellis_schemes().size(), 3u);
}

}  // namespace
}  // namespace lowbit::quant
