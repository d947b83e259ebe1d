// SPDX-License-Identifier: MIT
// The input rotation of trellis tensors: orthogonal (an exact inverse, norms kept), R^T·H·R
// equal to the explicit product, and it spreads an outlier column over the whole row.
#include "numerics/rotation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "testing/kernel_cases.h"

namespace lowbit {
namespace {

std::vector<double> normal(int64_t n, uint32_t seed) {
  const std::vector<float> v = testing::normal_values(n, seed);
  return {v.begin(), v.end()};
}

// Widths with no odd factor, a small one, a large one, and no power of two at all.
const int64_t kWidths[] = {64, 24, 576, 7, 1};

TEST(InputRotation, IsOrthogonalAndUndoesItself) {
  for (const int64_t n : kWidths) {
    const InputRotation r(n, 99);
    const std::vector<double> v = normal(n, 3);
    std::vector<double> w = v;
    r.rotate(w.data());
    double before = 0.0, after = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      before += v[i] * v[i];
      after += w[i] * w[i];
    }
    EXPECT_NEAR(after, before, 1e-12 * before) << "width " << n;
    r.unrotate(w.data());
    for (int64_t i = 0; i < n; ++i) ASSERT_NEAR(w[i], v[i], 1e-12) << "width " << n;
    // unrotate is the inverse from the other side too, in f32.
    std::vector<float> f(v.begin(), v.end());
    r.unrotate(f.data());
    r.rotate(f.data());
    for (int64_t i = 0; i < n; ++i) ASSERT_NEAR(f[i], v[i], 1e-5) << "width " << n;
  }
}

TEST(InputRotation, RotatedHessianIsTheExplicitProduct) {
  for (const int64_t n : {int64_t{24}, int64_t{7}}) {
    const InputRotation r(n, 5);
    // R's columns: R·e_j (unrotate maps v to R·v).
    std::vector<double> rm(static_cast<size_t>(n * n), 0.0);  // rm[i * n + j] = R_ij
    for (int64_t j = 0; j < n; ++j) {
      std::vector<double> e(static_cast<size_t>(n), 0.0);
      e[j] = 1.0;
      r.unrotate(e.data());
      for (int64_t i = 0; i < n; ++i) rm[i * n + j] = e[i];
    }
    const std::vector<double> a = normal(n * n, 8);
    std::vector<double> h(static_cast<size_t>(n * n));
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double s = 0.0;
        for (int64_t k = 0; k < n; ++k) s += a[i * n + k] * a[j * n + k];
        h[i * n + j] = s;
      }
    std::vector<double> got = h;
    r.rotate_hessian(got.data());
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double want = 0.0;
        for (int64_t k = 0; k < n; ++k)
          for (int64_t l = 0; l < n; ++l) want += rm[k * n + i] * h[k * n + l] * rm[l * n + j];
        ASSERT_NEAR(got[i * n + j], want, 1e-9 * (1.0 + std::abs(want))) << i << "," << j;
      }
  }
}

TEST(InputRotation, SpreadsAnOutlierOverTheRowAndDependsOnTheSeed) {
  const int64_t n = 576;  // SmolLM2's width: 9 x 64
  std::vector<float> v(static_cast<size_t>(n), 0.0f);
  v[100] = 1.0f;
  std::vector<float> a = v, b = v;
  InputRotation(n, 1).rotate(a.data());
  InputRotation(n, 2).rotate(b.data());
  float largest = 0.0f;
  int differ = 0;
  for (int64_t i = 0; i < n; ++i) {
    largest = std::max(largest, std::abs(a[i]));
    differ += a[i] != b[i];
  }
  // A one-hot row becomes a row whose largest entry is a small fraction of the outlier.
  EXPECT_LT(largest, 0.1f);
  EXPECT_GT(differ, n / 4);
}

}  // namespace
}  // namespace lowbit
