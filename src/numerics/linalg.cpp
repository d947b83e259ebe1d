// SPDX-License-Identifier: MIT
// OpenBLAS / LAPACKE-backed linear algebra.
//
// LAPACKE's row-major entry points transpose into a temporary; we call the column-major ones
// instead. A row-major matrix is the column-major matrix of its transpose, so for a symmetric
// matrix a row-major "lower" factorization is the column-major "upper" one of the same bytes.
#include "numerics/linalg.h"

#include <cblas.h>
#include <lapacke.h>

#include <algorithm>
#include <cmath>

#include "util/check.h"

extern "C" void openblas_set_num_threads(int);

namespace lowbit {
namespace {

lapack_int checked_size(int64_t n, const char* what) {
  LB_CHECK_ARG(n > 0 && n <= (int64_t{1} << 30), what, ": bad matrix size ", n);
  return static_cast<lapack_int>(n);
}

// Zeroes the strictly upper (upper = true) or strictly lower triangle of row-major a[n, n].
template <typename T>
void zero_triangle(T* a, int64_t n, bool upper) {
  for (int64_t i = 0; i < n; ++i) {
    T* row = a + i * n;
    if (upper)
      std::fill(row + i + 1, row + n, T{0});
    else
      std::fill(row, row + i, T{0});
  }
}

// LAPACK's potrf only tests for a non-positive pivot; a NaN pivot passes through, so a
// non-finite matrix is rejected here.
template <typename T>
bool diagonal_positive_finite(const T* a, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const T d = a[i * n + i];
    if (!(d > T{0}) || !std::isfinite(d)) return false;
  }
  return true;
}

lapack_int potrf(char uplo, lapack_int m, double* a) {
  return LAPACKE_dpotrf(LAPACK_COL_MAJOR, uplo, m, a, m);
}
lapack_int potrf(char uplo, lapack_int m, float* a) {
  return LAPACKE_spotrf(LAPACK_COL_MAJOR, uplo, m, a, m);
}
lapack_int trtri(char uplo, lapack_int m, double* a) {
  return LAPACKE_dtrtri(LAPACK_COL_MAJOR, uplo, 'N', m, a, m);
}
lapack_int trtri(char uplo, lapack_int m, float* a) {
  return LAPACKE_strtri(LAPACK_COL_MAJOR, uplo, 'N', m, a, m);
}

// Row-major lower Cholesky = column-major 'U' potrf on the same bytes.
template <typename T>
bool potrf_row_lower(T* a, int64_t n) {
  const lapack_int m = checked_size(n, "cholesky");
  if (!diagonal_positive_finite(a, n)) return false;
  if (potrf('U', m, a) != 0) return false;
  zero_triangle(a, n, /*upper=*/true);
  return diagonal_positive_finite(a, n);
}

template <typename T>
bool inverse_cholesky_upper_impl(T* a, int64_t n) {
  const lapack_int m = checked_size(n, "inverse_cholesky_upper");
  // Reversing the flat row-major array maps element (i, j) to (n-1-i, n-1-j): B = J·A·J, whose
  // lower triangle is A's upper one. With B = L·L^T, A^-1 = J·L^-T·L^-1·J = U^T·U for the
  // upper triangular U = J·L^-1·J, the (unique) upper Cholesky factor of A^-1.
  std::reverse(a, a + n * n);
  if (!potrf_row_lower(a, n)) return false;
  // Row-major lower inverse = column-major upper inverse of the same bytes.
  if (trtri('U', m, a) != 0) return false;
  std::reverse(a, a + n * n);
  return diagonal_positive_finite(a, n);
}

}  // namespace

void sgemm_nt(int64_t m, int64_t n, int64_t k, const float* a, const float* b, float* c,
              bool accumulate) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(m), static_cast<int>(n),
              static_cast<int>(k), 1.0f, a, static_cast<int>(k), b, static_cast<int>(k),
              accumulate ? 1.0f : 0.0f, c, static_cast<int>(n));
}

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
           int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, static_cast<int>(m), static_cast<int>(n),
              static_cast<int>(k), alpha, a, static_cast<int>(lda), b, static_cast<int>(ldb), beta,
              c, static_cast<int>(ldc));
}

void dgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha,
           const double* a, int64_t lda, const double* b, int64_t ldb, double beta, double* c,
           int64_t ldc) {
  cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, static_cast<int>(m), static_cast<int>(n),
              static_cast<int>(k), alpha, a, static_cast<int>(lda), b, static_cast<int>(ldb), beta,
              c, static_cast<int>(ldc));
}

void set_blas_threads(int threads) { openblas_set_num_threads(threads); }

bool cholesky_lower(double* a, int64_t n) { return potrf_row_lower(a, n); }

bool cholesky_upper(double* a, int64_t n) {
  const lapack_int m = checked_size(n, "cholesky");
  if (!diagonal_positive_finite(a, n)) return false;
  // Row-major upper = column-major 'L' on the same bytes.
  if (potrf('L', m, a) != 0) return false;
  zero_triangle(a, n, /*upper=*/false);
  return diagonal_positive_finite(a, n);
}

bool spd_inverse(double* a, int64_t n) {
  const lapack_int m = checked_size(n, "spd_inverse");
  if (!potrf_row_lower(a, n)) return false;
  if (LAPACKE_dpotri(LAPACK_COL_MAJOR, 'U', m, a, m) != 0) return false;
  // potri filled the lower triangle (row-major view); mirror it.
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i + 1; j < n; ++j) a[i * n + j] = a[j * n + i];
  return true;
}

bool inverse_cholesky_upper(double* a, int64_t n) { return inverse_cholesky_upper_impl(a, n); }

bool inverse_cholesky_upper(float* a, int64_t n) { return inverse_cholesky_upper_impl(a, n); }

bool triangular_solve(const double* t, int64_t n, bool upper, bool transpose, double* b,
                      int64_t nrhs) {
  checked_size(n, "triangular_solve");
  checked_size(nrhs, "triangular_solve");
  for (int64_t i = 0; i < n; ++i)
    if (t[i * n + i] == 0.0) return false;
  cblas_dtrsm(CblasRowMajor, CblasLeft, upper ? CblasUpper : CblasLower,
              transpose ? CblasTrans : CblasNoTrans, CblasNonUnit, static_cast<int>(n),
              static_cast<int>(nrhs), 1.0, t, static_cast<int>(n), b, static_cast<int>(nrhs));
  return true;
}

}  // namespace lowbit
