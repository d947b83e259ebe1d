// SPDX-License-Identifier: MIT
// Dense linear algebra through OpenBLAS / LAPACKE, so swapping the BLAS is one file.
//
// Matrices are row-major and contiguous (leading dimension = columns) unless a function takes
// an explicit leading dimension. The factorizations work in double: GPTQ's Hessians are badly
// conditioned, and a factorization that fails in f32 is the commonest GPTQ failure.
// Functions that need a symmetric positive-definite (SPD) matrix return false when the matrix
// is not one (LAPACK's "leading minor not positive"), never crash; they throw InvalidArgument
// only on a bad size.
#pragma once

#include <cstdint>

namespace lowbit {

// C[m, n] = A[m, k] · B[n, k]^T (+ C when accumulate), row-major, contiguous.
void sgemm_nt(int64_t m, int64_t n, int64_t k, const float* a, const float* b, float* c,
              bool accumulate = false);

// General row-major sgemm with leading dimensions: C[m, n] = alpha * op(A) · op(B) + beta * C,
// op(A) = A[m, k] (lda) or A^T when trans_a, op(B) = B[k, n] (ldb) or B^T (B[n, k]) when trans_b.
void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
           int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);
// The same in double.
void dgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha,
           const double* a, int64_t lda, const double* b, int64_t ldb, double beta, double* c,
           int64_t ldc);

// Sets OpenBLAS's own thread count (call outside lowbit's parallel regions).
void set_blas_threads(int threads);

// Cholesky factorization of the SPD matrix a[n, n] in place: A = L·L^T with L in the lower
// triangle (the strictly upper triangle is zeroed). Reads only the lower triangle of A.
// Returns false when A is not positive definite (a is then unspecified).
bool cholesky_lower(double* a, int64_t n);

// A = U^T·U with U in the upper triangle (strictly lower triangle zeroed); reads only the upper
// triangle. Returns false when A is not positive definite.
bool cholesky_upper(double* a, int64_t n);

// Replaces the SPD matrix a[n, n] by its inverse (full, symmetric). Reads only the lower
// triangle. Returns false when A is not positive definite.
bool spd_inverse(double* a, int64_t n);

// Replaces the SPD matrix a[n, n] by U, the upper Cholesky factor of A^-1 (A^-1 = U^T·U, U upper
// triangular with a positive diagonal; strictly lower triangle zeroed). This is the factor
// GPTQ sweeps with. Computed as reverse(inverse(lower Cholesky factor of reverse(A))), where
// reverse flips both indices: two O(n^3/3) steps instead of the four of
// cholesky -> inverse -> cholesky, and no explicit inverse. Reads only the upper triangle.
// Returns false when A is not positive definite.
bool inverse_cholesky_upper(double* a, int64_t n);
// The same in f32: half the time of the double version, for callers that sweep in f32 anyway.
bool inverse_cholesky_upper(float* a, int64_t n);

// Triangular solve in place: B[n, nrhs] <- op(T)^-1 · B, T[n, n] triangular (the `upper` or
// lower triangle of t is read), op(T) = T or T^T (transpose). b is row-major with nrhs
// columns. Returns false when T has a zero on its diagonal (singular).
bool triangular_solve(const double* t, int64_t n, bool upper, bool transpose, double* b,
                      int64_t nrhs);

}  // namespace lowbit
