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

// Four batches of 100 rows, alternating halves, as the driver alternates windows.
DriftMoments moments(const Inputs& in, ThreadPool& pool, std::vector<double>* h = nullptr) {
  InputStats stats(kCols, kRows, 16);
  DriftStats drift(kCols);
  for (int64_t r = 0; r < kRows; r += 100) {
    stats.add(&in.quant[static_cast<size_t>(r * kCols)], 100, pool);
    drift.add(&in.quant[static_cast<size_t>(r * kCols)], &in.exact[static_cast<size_t>(r * kCols)],
              100, static_cast<int>(r / 100 % 2), pool);
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
  EXPECT_EQ(a.gram, b.gram);
  EXPECT_EQ(a.cross_half, b.cross_half);
  for (int64_t i = 0; i < kCols; i += 5)
    for (int64_t j = 0; j < kCols; j += 3) {
      double g = 0, e = 0, g_half[2] = {0, 0}, h_half[2] = {0, 0};
      for (int64_t r = 0; r < kRows; ++r) {
        const auto at = [&](int64_t c) { return static_cast<size_t>(r * kCols + c); };
        const double di = static_cast<double>(in.exact[at(i)]) - in.quant[at(i)];
        const double dj = static_cast<double>(in.exact[at(j)]) - in.quant[at(j)];
        g += di * in.quant[at(j)];
        e += di * dj;
        g_half[r / 100 % 2] += di * in.quant[at(j)];
        h_half[r / 100 % 2] += static_cast<double>(in.quant[at(i)]) * in.quant[at(j)];
      }
      const auto ij = static_cast<size_t>(i * kCols + j);
      const auto near = [](double got, double want) {
        EXPECT_NEAR(got, want, 1e-4 * (1 + std::fabs(want)));
      };
      near(a.cross[ij], g * 2.0 / kRows);
      near(a.drift[ij], e * 2.0 / kRows);
      for (size_t k = 0; k < 2; ++k) {
        near(a.cross_half[k][ij], g_half[k] * 2.0 / (kRows / 2));
        near(a.gram[k][ij], h_half[k] * 2.0 / (kRows / 2));
      }
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

// A drift that is a linear map of the inputs is undone (strength near 1); one that is noise
// unrelated to them is left mostly alone, where fitting it would only fit the calibration rows.
TEST(FloatTarget, StrengthIsCrossValidatedSoPredictableDriftIsUndoneAndNoiseIsNot) {
  ThreadPool pool(2);
  const std::vector<float> w = weight();
  const auto fit = [&](const Inputs& in) {
    std::vector<double> h;
    const DriftMoments m = moments(in, pool, &h);
    const auto t = float_target_weights(w.data(), kOut, kCols, h.data(), m, 1e-6, 4);
    EXPECT_TRUE(t.has_value());
    return t.value_or(FloatTarget{});
  };
  const Inputs mapped = drifted_inputs(0.2f, 0.0f);
  const FloatTarget undone = fit(mapped);
  const double at_w = direct_error(mapped, w, w), at_fit = direct_error(mapped, w, undone.weight);
  std::printf("predictable drift: strength %.3f, float-target error %.6f -> %.6f\n",
              undone.strength, at_w, at_fit);
  EXPECT_GT(undone.strength, 0.95);
  EXPECT_LE(undone.strength, 1.0);
  EXPECT_LT(at_fit, 0.01 * at_w);

  const Inputs noisy = drifted_inputs(0.0f, 0.6f);
  const FloatTarget left = fit(noisy);
  std::printf("noise drift: strength %.3f\n", left.strength);
  EXPECT_LT(left.strength, 0.5);
  EXPECT_GE(left.strength, 0.0);

  // Where nothing drifted, the weight is returned unchanged, bit for bit.
  const FloatTarget same = fit(drifted_inputs(0.0f, 0.0f));
  EXPECT_EQ(same.strength, 0.0);
  EXPECT_EQ(same.weight, w);
  // A half without rows (one calibration window) cannot validate: no correction.
  DriftStats one_half(kCols);
  one_half.add(mapped.quant.data(), mapped.exact.data(), kRows, 0, pool);
  InputStats stats(kCols, kRows, 16);
  stats.add(mapped.quant.data(), kRows, pool);
  const auto alone = float_target_weights(w.data(), kOut, kCols, stats.hessian().data(),
                                          one_half.moments(), 0.01, 4);
  ASSERT_TRUE(alone.has_value());
  EXPECT_EQ(alone->strength, 0.0);
  EXPECT_EQ(alone->weight, w);
}

}  // namespace
}  // namespace lowbit::ptq
