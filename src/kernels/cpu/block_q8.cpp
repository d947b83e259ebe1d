// SPDX-License-Identifier: MIT
// The block quantizer of each Isa, and the pieces every path shares.
#include "kernels/cpu/block_q8.h"

#include <algorithm>

namespace lowbit::kernels::cpu {

bool block_q8_supports(const WeightView& w) {
  const bool bits = w.bits == 4 || w.bits == 5 || w.bits == 6 || w.bits == 8;
  // Groups of 16: symmetric, and codes the 8-bit layout holds (not 4-bit nibbles).
  const bool groups =
      w.group_len % kQ8Block == 0 || (w.group_len == 16 && w.symmetric && w.bits != 4);
  return w.kind == QuantKind::affine_int && bits && w.cols % kQ8Block == 0 && groups;
}

void q8_half_sums(const int8_t* q, int64_t m, int64_t k, int32_t* out) {
  for (int64_t h = 0; h < m * k / 16; ++h) {
    int32_t s = 0;
    for (int64_t e = 0; e < 16; ++e) s += q[h * 16 + e];
    out[h] = s;
  }
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
