// SPDX-License-Identifier: MIT
// Float targets: the drift statistics equal a direct computation at any thread count, the error
// formula is the float-target output error, and the corrected weight is its least-squares
// minimum (and exactly the weight itself where nothing drifted).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "ptq/float_target.h"
#include "ptq/input_stats.h"
#include "util/thread_pool.h"

namespace lowbit::ptq {
namespace {

constexpr int64_t kRows = 400, kCols = 48, kOut = 20;

struct Inputs {
  std::vector<float> quant, exact;  // X~ and X, [kRows, kCols]
};

// X = X~ + drift * (a linear map of X~) + noise * (noise unrelated to X~): the part of the drift
// that is a function of the inputs is what a corrected weight can undo.
Inputs drifted_inputs(float drift, float noise) {
  Inputs in;
  in.quant.resize(static_cast<size_t>(kRows * kCols));
  in.exact.resize(in.quant.size());
  for (size_t i = 0; i < in.quant.size(); ++i) {
    const auto f = static_cast<float>(i);
    in.quant[i] = std::sin(0.37f * f) * (i % 11 == 0 ? 4.0f : 1.0f) + 0.3f * std::cos(0.011f * f);
  }
  uint32_t state = 12345;
  for (int64_t r = 0; r < kRows; ++r)
    for (int64_t j = 0; j < kCols; ++j) {
      const auto at = [&](int64_t c) { return static_cast<size_t>(r * kCols + c); };
      const float mapped = 0.5f * in.quant[at((j + 1) % kCols)] - 0.3f * in.quant[at(j)];
      state = state * 1664525u + 1013904223u;
      const float random = static_cast<float>(state >> 8) / 16777216.0f - 0.5f;
      in.exact[at(j)] = in.quant[at(j)] + drift * mapped + noise * random;
    }
  return in;
}

std::vector<float> weight() {
  std::vector<float> w(static_cast<size_t>(kOut * kCols));
  for (size_t i = 0; i < w.size(); ++i) w[i] = std::sin(2.1f * static_cast<float>(i) + 0.5f);
  return w;
}

// Four batches of 100 rows.
DriftMoments moments(const Inputs& in, ThreadPool& pool, std::vector<double>* h = nullptr) {
  InputStats stats(kCols, kRows, 16);
  DriftStats drift(kCols);
  for (int64_t r = 0; r < kRows; r += 100) {
    stats.add(&in.quant[static_cast<size_t>(r * kCols)], 100, pool);
    drift.add(&in.quant[static_cast<size_t>(r * kCols)], &in.exact[static_cast<size_t>(r * kCols)],
              100, pool);
  }
  EXPECT_EQ(drift.rows(), kRows);
  if (h != nullptr) *h = stats.hessian();
  return drift.moments();
}

// ||X W^T - X~ Q^T||^2 / ||X W^T||^2 over the rows r with keep(r), directly.
template <typename Keep>
double direct_error(const Inputs& in, const std::vector<float>& w, const std::vector<float>& q,
                    Keep keep) {
  double num = 0, den = 0;
  for (int64_t r = 0; r < kRows; ++r) {
    if (!keep(r)) continue;
    for (int64_t o = 0; o < kOut; ++o) {
      double want = 0, got = 0;
      for (int64_t j = 0; j < kCols; ++j) {
        want += static_cast<double>(in.exact[static_cast<size_t>(r * kCols + j)]) *
                w[static_cast<size_t>(o * kCols + j)];
        got += static_cast<double>(in.quant[static_cast<size_t>(r * kCols + j)]) *
               q[static_cast<size_t>(o * kCols + j)];
      }
      num += (want - got) * (want - got);
      den += want * want;
    }
  }
  return num / den;
}

double direct_error(const Inputs& in, const std::vector<float>& w, const std::vector<float>& q) {
  return direct_error(in, w, q, [](int64_t) { return true; });
}

TEST(FloatTarget, DriftMomentsAndErrorMatchADirectComputationAtAnyThreadCount) {
  const Inputs in = drifted_inputs(0.2f, 0.1f);
  ThreadPool one(1), three(3);
  std::vector<double> h;
  const DriftMoments a = moments(in, one, &h), b = moments(in, three);
  EXPECT_EQ(a.cross, b.cross);
  EXPECT_EQ(a.drift, b.drift);
  for (int64_t i = 0; i < kCols; i += 5)
    for (int64_t j = 0; j < kCols; j += 3) {
      double g = 0, e = 0;
      for (int64_t r = 0; r < kRows; ++r) {
        const auto at = [&](int64_t c) { return static_cast<size_t>(r * kCols + c); };
        const double di = static_cast<double>(in.exact[at(i)]) - in.quant[at(i)];
        const double dj = static_cast<double>(in.exact[at(j)]) - in.quant[at(j)];
        g += di * in.quant[at(j)];
        e += di * dj;
      }
      const auto ij = static_cast<size_t>(i * kCols + j);
      const auto near = [](double got, double want) {
        EXPECT_NEAR(got, want, 1e-4 * (1 + std::fabs(want)));
      };
      near(a.cross[ij], g * 2.0 / kRows);
      near(a.drift[ij], e * 2.0 / kRows);
      EXPECT_EQ(a.drift[ij], a.drift[static_cast<size_t>(j * kCols + i)]);
    }
  const std::vector<float> w = weight();
  std::vector<float> q = w;
  for (size_t i = 0; i < q.size(); ++i) q[i] = std::round(q[i] * 4.0f) / 4.0f;
  for (const std::vector<float>* candidate : {&w, static_cast<const std::vector<float>*>(&q)}) {
    const double want = direct_error(in, w, *candidate);
    EXPECT_NEAR(float_target_error(w.data(), candidate->data(), kOut, kCols, h.data(),
                                   a.cross.data(), a.drift.data()),
                want, 1e-5 * want);
  }
}

// At strength 1 the corrected weight is the least-squares fit to the unquantized output: a
// drift that is a linear map of the inputs is undone, and any step away from the fit costs
// error. A smaller strength moves part of the way; strength 0, or no drift, is W bit for bit.
TEST(FloatTarget, CorrectedWeightIsTheLeastSquaresFitShrunkByTheStrength) {
  ThreadPool pool(2);
  const std::vector<float> w = weight();
  const Inputs in = drifted_inputs(0.2f, 0.1f);
  std::vector<double> h;
  const DriftMoments m = moments(in, pool, &h);
  const auto fit = [&](double strength) {
    const auto t = float_target_weights(w.data(), kOut, kCols, h.data(), m, strength, 1e-9, 4);
    EXPECT_TRUE(t.has_value());
    return t.value_or(std::vector<float>{});
  };
  const std::vector<float> full = fit(1.0), half = fit(0.5);
  const double at_w = direct_error(in, w, w), at_full = direct_error(in, w, full),
               at_half = direct_error(in, w, half);
  std::printf("float-target error: W %.6f, strength 0.5 %.6f, strength 1 %.6f\n", at_w, at_half,
              at_full);
  EXPECT_LT(at_full, 0.5 * at_w);
  EXPECT_LT(at_half, at_w);
  EXPECT_GT(at_half, at_full);
  for (size_t i = 0; i < w.size(); ++i)
    EXPECT_NEAR(half[i], 0.5f * (w[i] + full[i]), 1e-5f * (1 + std::fabs(w[i])));
  for (int step = 0; step < 4; ++step) {
    std::vector<float> moved = full;
    for (size_t i = 0; i < moved.size(); ++i)
      moved[i] += 1e-2f * std::sin(static_cast<float>(i * (step + 3)));
    EXPECT_GT(direct_error(in, w, moved), at_full);
  }
  EXPECT_EQ(fit(0.0), w);
  std::vector<double> h0;
  const DriftMoments none = moments(drifted_inputs(0.0f, 0.0f), pool, &h0);
  for (const double v : none.cross) ASSERT_EQ(v, 0.0);
  const auto same = float_target_weights(w.data(), kOut, kCols, h0.data(), none, 1.0, 0.01, 4);
  ASSERT_TRUE(same.has_value());
  EXPECT_EQ(*same, w);
  // No inputs at all: nothing to solve.
  const std::vector<double> zero(h.size(), 0.0);
  EXPECT_FALSE(float_target_weights(w.data(), kOut, kCols, zero.data(), m, 1.0, 0.01, 4));
}

}  // namespace
}  // namespace lowbit::ptq
