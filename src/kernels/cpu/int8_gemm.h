// SPDX-License-Identifier: MIT
// Native int8 matrix products (W8A8): int8 activations x 8-bit weight codes -> exact int32 sums,
// scales applied once per output. One table per Isa; every path equals the scalar reference
// bit for bit (the integer sum is exact, the scaling expression is the same).
//
// Operands, in lowbit's own storage so nothing is repacked:
//   a  [m, k] int8, row-major: activations quantized by quantize_rows_s8 (codes in [-127, 127]).
//   w  [n, k] uint8, row-major: affine_int 8-bit symmetric codes, w = scale * (code - 128)
//      (quant_format.h), codes in [0, 255].
// Output y[i * ldy + j] = static_cast<float>(acc) * a_scales[i] * w_scales[j] (left to right),
// acc = sum_k a[i, k] * (w[j, k] - 128) in int32. |acc| <= k * 127 * 128, so k <= kInt8MaxK.
#pragma once

#include <cstdint>

#include "kernels/exec_context.h"

namespace lowbit::kernels::cpu {

inline constexpr int64_t kInt8MaxK = 1 << 17;

// Rows of x [m, k] to int8, one symmetric scale per row. static_scale > 0: that scale for
// every row (static per-tensor activations; values beyond 127 * scale saturate); otherwise
// dynamic per token: scale = max|x_row| / 127. codes q = clamp(nearbyint(x * inv), -127, 127)
// with inv = 1 / scale as f32 (a zero row: scale 0, codes 0). row_sums[r] = sum of row r's
// codes (the VNNI path needs it to undo its unsigned offset). Non-finite input is the caller's
// to refuse.
void quantize_rows_s8(const float* x, int64_t m, int64_t k, float static_scale, int8_t* q,
                      float* scales, int32_t* row_sums);

struct Int8Kernels {
  // Outputs j in [n_begin, n_end) of every row i in [0, m) (see the header comment). a_sums are
  // quantize_rows_s8's row sums. Output elements never depend on how [0, n) is split.
  void (*gemm)(const int8_t* a, const float* a_scales, const int32_t* a_sums, int64_t m,
               const uint8_t* w, const float* w_scales, int64_t n_begin, int64_t n_end, int64_t k,
               float* y, int64_t ldy);
  // quantize_rows_s8 (the scalar definition above), equal to it bit for bit.
  void (*quantize_rows)(const float* x, int64_t m, int64_t k, float static_scale, int8_t* q,
                        float* scales, int32_t* row_sums);
};

// The table for `isa`.
const Int8Kernels& int8_kernels(Isa isa);

namespace ref {
void gemm_s8(const int8_t* a, const float* a_scales, const int32_t* a_sums, int64_t m,
             const uint8_t* w, const float* w_scales, int64_t n_begin, int64_t n_end, int64_t k,
             float* y, int64_t ldy);
}  // namespace ref

// AVX2: codes made signed (code ^ 0x80), then maddubs(|w|, sign(a, w)) + madd; a_sums unused.
namespace avx2 {
void quantize_rows_s8(const float* x, int64_t m, int64_t k, float static_scale, int8_t* q,
                      float* scales, int32_t* row_sums);
void gemm_s8(const int8_t* a, const float* a_scales, const int32_t* a_sums, int64_t m,
             const uint8_t* w, const float* w_scales, int64_t n_begin, int64_t n_end, int64_t k,
             float* y, int64_t ldy);
}  // namespace avx2

// AVX-512 VNNI: dpbusd(codes as u8, a as s8), then acc -= 128 * a_sums[i]; so a_sums must be
// the exact code sums of a's rows (as quantize_rows_s8 returns them). Its table quantizes with
// avx2::quantize_rows_s8.
namespace avx512 {
void gemm_s8(const int8_t* a, const float* a_scales, const int32_t* a_sums, int64_t m,
             const uint8_t* w, const float* w_scales, int64_t n_begin, int64_t n_end, int64_t k,
             float* y, int64_t ldy);
}  // namespace avx512

}  // namespace lowbit::kernels::cpu
