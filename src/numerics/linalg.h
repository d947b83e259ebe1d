// SPDX-License-Identifier: MIT
// Dense linear algebra through OpenBLAS / LAPACKE, so swapping the BLAS is one file.
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

// Sets OpenBLAS's own thread count (call outside lowbit's parallel regions).
void set_blas_threads(int threads);

}  // namespace lowbit
