// SPDX-License-Identifier: MIT
// Scalar reference of the int8 products: the definition every SIMD path is tested against.
#include <algorithm>
#include <cmath>

#include "kernels/cpu/int8_gemm.h"

namespace lowbit::kernels::cpu {

void quantize_rows_s8(const float* x, int64_t m, int64_t k, float static_scale, int8_t* q,
                      float* scales, int32_t* row_sums) {
  for (int64_t i = 0; i < m; ++i) {
    const float* row = x + i * k;
    float scale = static_scale;
    if (!(scale > 0.0f)) {
      float amax = 0.0f;
      for (int64_t j = 0; j < k; ++j) amax = std::max(amax, std::fabs(row[j]));
      scale = amax / 127.0f;
    }
    const float inv = scale > 0.0f ? 1.0f / scale : 0.0f;
    int32_t sum = 0;
    for (int64_t j = 0; j < k; ++j) {
      const float v = std::clamp(std::nearbyint(row[j] * inv), -127.0f, 127.0f);
      q[i * k + j] = static_cast<int8_t>(v);
      sum += static_cast<int32_t>(v);
    }
    scales[i] = scale;
    row_sums[i] = sum;
  }
}

namespace ref {

void gemm_s8(const int8_t* a, const float* a_scales, const int32_t* /*a_sums*/, int64_t m,
             const uint8_t* w, const float* w_scales, int64_t n_begin, int64_t n_end, int64_t k,
             float* y, int64_t ldy) {
  for (int64_t i = 0; i < m; ++i) {
    const int8_t* arow = a + i * k;
    for (int64_t j = n_begin; j < n_end; ++j) {
      const uint8_t* wrow = w + j * k;
      int32_t acc = 0;
      for (int64_t t = 0; t < k; ++t) acc += int32_t{arow[t]} * (int32_t{wrow[t]} - 128);
      y[i * ldy + j] = static_cast<float>(acc) * a_scales[i] * w_scales[j];
    }
  }
}

}  // namespace ref

}  // namespace lowbit::kernels::cpu
