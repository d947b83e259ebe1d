// SPDX-License-Identifier: MIT
// Dense linear algebra through OpenBLAS / LAPACKE, so swapping the BLAS is one file.
#pragma once

#include <cstdint>

namespace lowbit {

// C[m, n] = A[m, k] · B[n, k]^T (+ C when accumulate), row-major, contiguous.
void sgemm_nt(int64_t m, int64_t n, int64_t k, const float* a, const float* b, float* c,
              bool accumulate = false);

// Sets OpenBLAS's own thread count (call outside lowbit's parallel regions).
void set_blas_threads(int threads);

}  // namespace lowbit
