// SPDX-License-Identifier: MIT
// HQQ against RTN on weight reconstruction (the lp-norm HQQ minimizes, mean |error| and MSE)
// for normal and heavy-tailed weights, the stored layout, determinism and errors.
#include "quant/hqq.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "layer_fixtures.h"
#include "quant/rtn.h"
#include "tensor/dequantize.h"
#include "util/error.h"

namespace lowbit::quant {
namespace {

// Student-t with 3 degrees of freedom, scaled like the normal weights: a heavy tail.
std::vector<float> heavy_tailed_weights(int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::student_t_distribution<float> t3(3.0f);
  std::vector<float> w(static_cast<size_t>(rows * cols));
  for (auto& v : w) v = 0.02f * t3(rng);
  return w;
}

struct Errors {
  double lp = 0, l1 = 0, l2 = 0;  // sums of |e|^0.7, |e|, e^2
};

Errors weight_errors(const std::vector<float>& w, const QuantizedTensor& q) {
  const std::vector<float> d = dequantize_reference(q);
  Errors e;
  for (size_t i = 0; i < w.size(); ++i) {
    const double a = std::fabs(static_cast<double>(w[i]) - d[i]);
    e.lp += std::pow(a, 0.7);
    e.l1 += a;
    e.l2 += a * a;
  }
  return e;
}

TEST(Hqq, ReconstructionErrorIsBelowRtnAt3And2Bits) {
  const int64_t rows = 64, cols = 256;
  for (uint32_t seed : {1u, 2u}) {
    for (bool heavy : {false, true}) {
      const std::vector<float> w = heavy ? heavy_tailed_weights(rows, cols, seed)
                                         : testing::random_weights(rows, cols, seed);
      for (int bits : {4, 3, 2})
        for (int group : {32, 64, 128}) {
          const QuantFormat f = QuantFormat::affine(bits, group, false);
          const Errors rtn = weight_errors(w, quantize_rtn(w.data(), rows, cols, f, "t"));
          const Errors hqq = weight_errors(w, quantize_hqq(w.data(), rows, cols, f, {}, "t"));
          const std::string what = (heavy ? "heavy-tailed " : "normal ") + format_name(f);
          // By construction no group ends worse than RTN in mean |error|.
          EXPECT_LE(hqq.l1, rtn.l1) << what;
          if (bits <= 3) {
            EXPECT_LT(hqq.lp, rtn.lp) << what;
            EXPECT_LT(hqq.l1, rtn.l1) << what;
            EXPECT_LT(hqq.l2, rtn.l2) << what;
          }
          if (seed == 1 && group == 64)
            std::printf("hqq/rtn %s: lp %.3f, mean|e| %.3f, mse %.3f\n", what.c_str(),
                        hqq.lp / rtn.lp, hqq.l1 / rtn.l1, hqq.l2 / rtn.l2);
        }
    }
  }
}

TEST(Hqq, OptimizingTheScaleToo) {
  const int64_t rows = 32, cols = 256;
  const std::vector<float> w = heavy_tailed_weights(rows, cols, 5);
  for (int bits : {3, 2}) {
    const QuantFormat f = QuantFormat::affine(bits, 64, false);
    HqqOptions o;
    o.optimize_scale = true;
    const QuantizedTensor q = quantize_hqq(w.data(), rows, cols, f, o, "t");
    EXPECT_NO_THROW(q.validate("t"));
    const Errors rtn = weight_errors(w, quantize_rtn(w.data(), rows, cols, f, "t"));
    const Errors both = weight_errors(w, q);
    EXPECT_LT(both.lp, 0.95 * rtn.lp) << bits;
    EXPECT_LT(both.l1, 0.95 * rtn.l1) << bits;
    EXPECT_LT(both.l2, 0.95 * rtn.l2) << bits;
    std::printf("hqq (zero + scale)/rtn w%dg64 heavy-tailed: lp %.3f, mean|e| %.3f, mse %.3f\n",
                bits, both.lp / rtn.lp, both.l1 / rtn.l1, both.l2 / rtn.l2);
  }
}

TEST(Hqq, StoresNonIntegerZerosInTheRtnLayout) {
  const int64_t rows = 16, cols = 100;  // ragged last group
  const std::vector<float> w = testing::random_weights(rows, cols, 3);
  const QuantFormat f = QuantFormat::affine(3, 32, false);
  const QuantizedTensor q = quantize_hqq(w.data(), rows, cols, f, {}, "t");
  const QuantizedTensor rtn = quantize_rtn(w.data(), rows, cols, f, "t");
  EXPECT_NO_THROW(q.validate("t"));
  EXPECT_EQ(q.format, rtn.format);
  EXPECT_EQ(q.codes.size(), rtn.codes.size());
  EXPECT_EQ(q.zeros.size(), rtn.zeros.size());
  int non_integer = 0;
  for (int64_t i = 0; i < q.scale_count(); ++i) {
    const float z = zero_at(q, i);
    non_integer += z != std::round(z);
  }
  EXPECT_GT(non_integer, q.scale_count() / 2);
}

TEST(Hqq, DegenerateGroupsAndDeterminism) {
  const int64_t rows = 6, cols = 64;
  std::vector<float> w = testing::random_weights(rows, cols, 4);
  for (int64_t c = 0; c < cols; ++c) {
    w[c] = 0.0f;               // an all-zero row
    w[cols + c] = 0.25f;       // a constant row
    w[2 * cols + c] = 1e-30f;  // a range far below f16
  }
  const QuantFormat f = QuantFormat::affine(2, 32, false);
  const QuantizedTensor q = quantize_hqq(w.data(), rows, cols, f, {}, "t");
  EXPECT_NO_THROW(q.check_finite("t"));
  const std::vector<float> d = dequantize_reference(q);
  for (int64_t c = 0; c < cols; ++c) EXPECT_EQ(d[c], 0.0f);
  for (int64_t c = 0; c < cols; ++c) EXPECT_NEAR(d[cols + c], 0.25f, 0.25f * 1e-2f);
  ThreadPool pool(3);
  HqqOptions o;
  o.pool = &pool;
  const QuantizedTensor threaded = quantize_hqq(w.data(), rows, cols, f, o, "t");
  EXPECT_EQ(std::memcmp(q.codes.data(), threaded.codes.data(), q.codes.size()), 0);
  EXPECT_EQ(std::memcmp(q.zeros.data(), threaded.zeros.data(), q.zeros.size()), 0);
  // Per-channel and per-tensor groups work too.
  for (int group : {kPerChannel, kPerTensor})
    EXPECT_NO_THROW(
        quantize_hqq(w.data(), rows, cols, QuantFormat::affine(4, group, false), {}, "t")
            .validate("t"));
}

TEST(Hqq, RefusesSymmetricAndNonIntegerFormats) {
  const std::vector<float> w = testing::random_weights(2, 32, 1);
  for (const QuantFormat& f : {QuantFormat::affine(4, 32, true), QuantFormat::nf4()}) {
    try {
      quantize_hqq(w.data(), 2, 32, f, {}, "blk.1.wk");
      FAIL() << format_name(f);
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find("blk.1.wk"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("asymmetric"), std::string::npos) << e.what();
    }
  }
  HqqOptions bad;
  bad.p = 0.0f;
  EXPECT_THROW(quantize_hqq(w.data(), 2, 32, QuantFormat::affine(4, 32, false), bad, "t"),
               InvalidArgument);
}

}  // namespace
}  // namespace lowbit::quant
