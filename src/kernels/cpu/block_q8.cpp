// SPDX-License-Identifier: MIT
// The block quantizer of each Isa, and the pieces every path shares.
#include "kernels/cpu/block_q8.h"

#include <algorithm>

namespace lowbit::kernels::cpu {

bool block_q8_supports(const WeightView& w) {
  return w.kind == QuantKind::affine_int && (w.bits == 4 || w.bits == 8) &&
         w.cols % kQ8Block == 0 && w.group_len % kQ8Block == 0;
}

void q8_zero_terms(const float* d, const int32_t* sums, int64_t m, int64_t k, int64_t group_len,
                   float* out) {
  const int64_t blocks = k / kQ8Block, per_group = group_len / kQ8Block;
  const int64_t groups = (blocks + per_group - 1) / per_group;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t g = 0; g < groups; ++g) {
      float s = 0.0f;
      for (int64_t b = g * per_group; b < std::min(blocks, (g + 1) * per_group); ++b) {
        const float term = d[i * blocks + b] * static_cast<float>(sums[i * blocks + b]);
        s += term;
      }
      out[i * groups + g] = s;
    }
}

QuantizeBlocksFn quantize_blocks_kernel(Isa isa) {
#if defined(__x86_64__)
  if (isa >= Isa::avx2) return &avx2::quantize_blocks_q8;
#else
  (void)isa;
#endif
  return &ref::quantize_blocks_q8;
}

}  // namespace lowbit::kernels::cpu
