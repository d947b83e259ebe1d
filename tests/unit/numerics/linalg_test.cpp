// SPDX-License-Identifier: MIT
// Cholesky, SPD inverse, the inverse's upper factor and triangular solves: reconstructions on
// random SPD matrices, agreement between routes, and failure (not a crash) on matrices that
// are not positive definite.
#include "numerics/linalg.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "util/error.h"

namespace lowbit {
namespace {

using Matrix = std::vector<double>;

// B·B^T / n + 0.1·I for a random B: SPD with condition number ~10^2..10^3.
Matrix random_spd(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  Matrix b(static_cast<size_t>(n * n)), a(static_cast<size_t>(n * n), 0.0);
  for (auto& v : b) v = normal(rng);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t k = 0; k < n; ++k) s += b[i * n + k] * b[j * n + k];
      a[i * n + j] = s / static_cast<double>(n) + (i == j ? 0.1 : 0.0);
    }
  return a;
}

// C = op(A)·op(B), n x n, by definition.
Matrix multiply(const Matrix& a, bool ta, const Matrix& b, bool tb, int64_t n) {
  Matrix c(static_cast<size_t>(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t k = 0; k < n; ++k)
        s += (ta ? a[k * n + i] : a[i * n + k]) * (tb ? b[j * n + k] : b[k * n + j]);
      c[i * n + j] = s;
    }
  return c;
}

double max_abs_diff(const Matrix& a, const Matrix& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::fmax(m, std::fabs(a[i] - b[i]));
  return m;
}

bool is_triangular(const Matrix& a, int64_t n, bool upper) {
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      if ((upper ? j < i : j > i) && a[i * n + j] != 0.0) return false;
  for (int64_t i = 0; i < n; ++i)
    if (!(a[i * n + i] > 0.0)) return false;
  return true;
}

Matrix identity(int64_t n) {
  Matrix m(static_cast<size_t>(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i) m[i * n + i] = 1.0;
  return m;
}

TEST(Linalg, CholeskyFactorsReconstructTheMatrix) {
  for (int64_t n : {1, 2, 7, 64, 131}) {
    const Matrix a = random_spd(n, static_cast<uint32_t>(n));
    Matrix l = a, u = a;
    ASSERT_TRUE(cholesky_lower(l.data(), n)) << n;
    ASSERT_TRUE(cholesky_upper(u.data(), n)) << n;
    EXPECT_TRUE(is_triangular(l, n, false)) << n;
    EXPECT_TRUE(is_triangular(u, n, true)) << n;
    EXPECT_LT(max_abs_diff(multiply(l, false, l, true, n), a), 1e-12) << n;
    EXPECT_LT(max_abs_diff(multiply(u, true, u, false, n), a), 1e-12) << n;
    // The factor is unique: U = L^T.
    EXPECT_LT(max_abs_diff(multiply(l, true, identity(n), false, n), u), 1e-12) << n;
  }
}

TEST(Linalg, CholeskyReadsOnlyItsTriangle) {
  const int64_t n = 9;
  const Matrix a = random_spd(n, 5);
  Matrix l = a, u = a;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      if (j > i) l[i * n + j] = std::numeric_limits<double>::quiet_NaN();
      if (j < i) u[i * n + j] = -1e9;
    }
  ASSERT_TRUE(cholesky_lower(l.data(), n));
  ASSERT_TRUE(cholesky_upper(u.data(), n));
  EXPECT_LT(max_abs_diff(multiply(l, false, l, true, n), a), 1e-12);
  EXPECT_LT(max_abs_diff(multiply(u, true, u, false, n), a), 1e-12);
}

TEST(Linalg, SpdInverseIsTheInverse) {
  for (int64_t n : {1, 3, 50, 200}) {
    const Matrix a = random_spd(n, 10 + static_cast<uint32_t>(n));
    Matrix inv = a;
    ASSERT_TRUE(spd_inverse(inv.data(), n)) << n;
    EXPECT_LT(max_abs_diff(multiply(a, false, inv, false, n), identity(n)), 1e-9) << n;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) EXPECT_EQ(inv[i * n + j], inv[j * n + i]);
  }
}

TEST(Linalg, InverseUpperFactorEqualsTheFactorOfTheInverse) {
  for (int64_t n : {1, 2, 17, 128, 300}) {
    const Matrix a = random_spd(n, 20 + static_cast<uint32_t>(n));
    Matrix u = a;
    ASSERT_TRUE(inverse_cholesky_upper(u.data(), n)) << n;
    EXPECT_TRUE(is_triangular(u, n, true)) << n;
    // U^T·U·A = I.
    EXPECT_LT(
        max_abs_diff(multiply(multiply(u, true, u, false, n), false, a, false, n), identity(n)),
        1e-9)
        << n;
    // The same factor as GPTQ's reference route: cholesky -> inverse -> upper cholesky.
    Matrix chain = a;
    ASSERT_TRUE(spd_inverse(chain.data(), n));
    ASSERT_TRUE(cholesky_upper(chain.data(), n));
    double scale = 0;
    for (double v : chain) scale = std::fmax(scale, std::fabs(v));
    EXPECT_LT(max_abs_diff(u, chain), 1e-11 * scale) << n;
  }
}

TEST(Linalg, InverseUpperFactorInF32AgreesWithDouble) {
  const int64_t n = 96;
  const Matrix a = random_spd(n, 31);
  Matrix ud = a;
  std::vector<float> uf(a.begin(), a.end());
  ASSERT_TRUE(inverse_cholesky_upper(ud.data(), n));
  ASSERT_TRUE(inverse_cholesky_upper(uf.data(), n));
  double scale = 0, diff = 0;
  for (size_t i = 0; i < ud.size(); ++i) {
    scale = std::fmax(scale, std::fabs(ud[i]));
    diff = std::fmax(diff, std::fabs(ud[i] - uf[i]));
  }
  EXPECT_LT(diff, 1e-4 * scale);
  std::vector<float> bad = {1, 2, 2, 1};
  EXPECT_FALSE(inverse_cholesky_upper(bad.data(), 2));
}

TEST(Linalg, NotPositiveDefiniteFailsInsteadOfCrashing) {
  // Positive diagonal, negative eigenvalue (-1).
  const Matrix indefinite = {1, 2, 2, 1};
  const Matrix negative_diag = {1, 0, 0, -1};
  const Matrix singular = {1, 1, 1, 1};
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const Matrix with_nan = {1, 0, 0, nan};
  const Matrix with_inf = {std::numeric_limits<double>::infinity(), 0, 0, 1};
  for (const Matrix& m : {indefinite, negative_diag, singular, with_nan, with_inf}) {
    Matrix a = m;
    EXPECT_FALSE(cholesky_lower(a.data(), 2));
    a = m;
    EXPECT_FALSE(cholesky_upper(a.data(), 2));
    a = m;
    EXPECT_FALSE(spd_inverse(a.data(), 2));
    a = m;
    EXPECT_FALSE(inverse_cholesky_upper(a.data(), 2));
  }
  // A large random indefinite matrix: a random SPD one minus a multiple of I.
  const int64_t n = 80;
  Matrix a = random_spd(n, 3);
  for (int64_t i = 0; i < n; ++i) a[i * n + i] -= 1.0;
  Matrix b = a;
  EXPECT_FALSE(cholesky_lower(b.data(), n));
  b = a;
  EXPECT_FALSE(inverse_cholesky_upper(b.data(), n));
}

TEST(Linalg, BadSizesThrow) {
  double x = 1;
  EXPECT_THROW(cholesky_lower(&x, 0), InvalidArgument);
  EXPECT_THROW(spd_inverse(&x, -3), InvalidArgument);
  EXPECT_THROW(triangular_solve(&x, 1, true, false, &x, 0), InvalidArgument);
}

TEST(Linalg, TriangularSolvesInvertTheirProduct) {
  const int64_t n = 40, nrhs = 5;
  const Matrix a = random_spd(n, 8);
  Matrix l = a;
  ASSERT_TRUE(cholesky_lower(l.data(), n));
  std::mt19937 rng(1);
  std::normal_distribution<double> normal(0.0, 1.0);
  Matrix x(static_cast<size_t>(n * nrhs));
  for (auto& v : x) v = normal(rng);
  for (bool upper : {false, true})
    for (bool transpose : {false, true}) {
      // T = L (lower) or L^T (upper); B = op(T)·X, then solve back for X.
      Matrix t = upper ? multiply(l, true, identity(n), false, n) : l;
      Matrix b(static_cast<size_t>(n * nrhs), 0.0);
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < nrhs; ++j)
          for (int64_t k = 0; k < n; ++k)
            b[i * nrhs + j] += (transpose ? t[k * n + i] : t[i * n + k]) * x[k * nrhs + j];
      ASSERT_TRUE(triangular_solve(t.data(), n, upper, transpose, b.data(), nrhs));
      EXPECT_LT(max_abs_diff(b, x), 1e-10) << upper << transpose;
    }
  Matrix singular = {1, 0, 5, 0};
  Matrix rhs = {1, 2};
  EXPECT_FALSE(triangular_solve(singular.data(), 2, false, false, rhs.data(), 1));
}

}  // namespace
}  // namespace lowbit
