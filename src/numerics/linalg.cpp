// SPDX-License-Identifier: MIT
// OpenBLAS-backed linear algebra.
#include "numerics/linalg.h"

#include <cblas.h>

extern "C" void openblas_set_num_threads(int);

namespace lowbit {

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

void set_blas_threads(int threads) { openblas_set_num_threads(threads); }

}  // namespace lowbit
