// SPDX-License-Identifier: MIT
// Scalar reference of the block-int8 products (block_q8.h): the definition, written plainly.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/cpu/block_q8.h"
#include "kernels/cpu/row_kernels.h"

namespace lowbit::kernels::cpu::ref {

namespace {

// Where element e of a block is stored (block_q8.h: nibble order puts even elements first).
int64_t stored_position(int64_t e, bool nibble_order) {
  if (!nibble_order) return e;
  return e % 2 == 0 ? e / 2 : kQ8Block / 2 + e / 2;
}

}  // namespace

void quantize_blocks_q8(const float* x, int64_t m, int64_t k, bool nibble_order, int8_t* q,
                        float* d, int32_t* sums) {
  const int64_t blocks = k / kQ8Block;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t b = 0; b < blocks; ++b) {
      const float* src = x + i * k + b * kQ8Block;
      int8_t* out = q + i * k + b * kQ8Block;
      float amax = 0.0f;
      bool finite = true;
      for (int64_t e = 0; e < kQ8Block; ++e) {
        finite = finite && std::isfinite(src[e]);
        amax = std::max(amax, std::fabs(src[e]));
      }
      if (!finite) {  // NaN scale, zero codes: the product is NaN, as the f32 path's would be
        std::fill(out, out + kQ8Block, int8_t{0});
        d[i * blocks + b] = std::numeric_limits<float>::quiet_NaN();
        sums[i * blocks + b] = 0;
        continue;
      }
      const float scale = amax / 127.0f;
      const float inv = scale > 0.0f ? 1.0f / scale : 0.0f;
      int32_t sum = 0;
      for (int64_t e = 0; e < kQ8Block; ++e) {
        const float v = std::clamp(std::nearbyint(src[e] * inv), -127.0f, 127.0f);
        out[stored_position(e, nibble_order)] = static_cast<int8_t>(v);
        sum += static_cast<int32_t>(v);
      }
      d[i * blocks + b] = scale;
      sums[i * blocks + b] = sum;
    }
}

namespace {

// Groups of 16 (symmetric): two groups per activation block (block_q8.h).
void dot_rows_q8_half_groups(const WeightView& w, const Q8Rows& a, int64_t row_begin,
                             int64_t row_end, float* y, int64_t ldy) {
  const int64_t blocks = a.blocks();
  const int32_t off = 1 << (w.bits - 1);
  std::vector<uint8_t> codes(static_cast<size_t>(w.cols));
  for (int64_t i = 0; i < a.m; ++i) {
    const int8_t* q = a.q + i * a.k;
    for (int64_t r = row_begin; r < row_end; ++r) {
      unpack_codes(w.row(r), 0, w.cols, w.bits, codes.data());
      float acc = 0.0f;
      for (int64_t g = 0; g < 2 * blocks; ++g) {
        int32_t isum = 0;
        for (int64_t e = 16 * g; e < 16 * g + 16; ++e)
          isum += (int32_t{codes[static_cast<size_t>(e)]} - off) * int32_t{q[e]};
        const float gacc = std::fmaf(static_cast<float>(isum), a.d[i * blocks + g / 2], 0.0f);
        acc = std::fmaf(w.scale(r, g), gacc, acc);
      }
      y[i * ldy + r] = acc;
    }
  }
}

}  // namespace

void dot_rows_q8(const WeightView& w, const Q8Rows& a, int64_t row_begin, int64_t row_end, float* y,
                 int64_t ldy) {
  if (w.group_len == 16) {
    dot_rows_q8_half_groups(w, a, row_begin, row_end, y, ldy);
    return;
  }
  const int64_t blocks = a.blocks(), per_group = w.group_len / kQ8Block;
  const int64_t groups = (blocks + per_group - 1) / per_group;
  const int32_t off = 1 << (w.bits - 1);
  const bool nibble_order = w.bits == 4;
  std::vector<uint8_t> codes(static_cast<size_t>(w.cols));
  for (int64_t i = 0; i < a.m; ++i) {
    const int8_t* q = a.q + i * a.k;
    for (int64_t r = row_begin; r < row_end; ++r) {
      unpack_codes(w.row(r), 0, w.cols, w.bits, codes.data());
      float acc = 0.0f;
      for (int64_t g = 0; g < groups; ++g) {
        float gacc = 0.0f;
        for (int64_t b = g * per_group; b < std::min(blocks, (g + 1) * per_group); ++b) {
          int32_t isum = 0;
          for (int64_t e = 0; e < kQ8Block; ++e) {
            const int64_t at = b * kQ8Block + e;
            isum += (int32_t{codes[static_cast<size_t>(at)]} - off) *
                    int32_t{q[b * kQ8Block + stored_position(e, nibble_order)]};
          }
          gacc = std::fmaf(static_cast<float>(isum), a.d[i * blocks + b], gacc);
        }
        if (!w.symmetric) {
          const float zero = w.zero(r, g) - static_cast<float>(off);
          gacc = std::fmaf(-zero, a.zero_terms[i * groups + g], gacc);
        }
        acc = std::fmaf(w.scale(r, g), gacc, acc);
        if (w.min_offset) acc = std::fmaf(w.min(r, g), a.zero_terms[i * groups + g], acc);
      }
      y[i * ldy + r] = acc;
    }
  }
}

}  // namespace lowbit::kernels::cpu::ref
