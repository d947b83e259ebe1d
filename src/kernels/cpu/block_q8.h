// SPDX-License-Identifier: MIT
// Weight-only integer weights x int8 activation blocks: the fast path of weight-only linears
// (ExecContext::int8_activations), as the fast engines do it. The input row is quantized once
// per linear call into blocks of 32 int8 codes with one f32 scale each, and each block of 32
// weight codes meets it in an exact integer dot product; floats appear once per block. This
// header defines the quantizer and the product; packed_q8.h has the SIMD layout and kernels.
//
// Weights: affine_int with 4, 5, 6 or 8 bits, rows a multiple of 32 long, groups a multiple of
// 32 long (the last group of a row may be shorter) or, for symmetric weights of 5, 6 or 8 bits,
// 16 long (Q6_K's sub-blocks: two groups per activation block); block_q8_supports. Codes as stored
// (quant_format.h: a 4-bit block is 16 bytes, element 2j the low nibble of byte j, so a split into
// [low | high nibbles] is [even | odd elements]).
//
// Activations (quantize_blocks_q8): for each block of 32 values of a row, d = max|x| / 127 (f32),
// inv = 1 / d (0 when d is 0), q = clamp(nearbyint(x * inv), -127, 127); sums[b] = the block's
// code sum. A block holding a NaN or an infinity gets d = NaN and zero codes, so the product is
// NaN, as the f32 path's would be (never a finite number made from garbage). With nibble_order the
// block's codes are stored even elements first (positions 0..15 hold elements 0, 2, .., 30; 16..31
// hold 1, 3, .., 31) to meet 4-bit weights as they are split; the sum is order-free, so the
// integers are the same.
//
// The product (the definition every path equals bit for bit; fmaf is one rounding):
//   off = 2^(bits-1)
//   acc = 0
//   for each weight group g of row r (its blocks: those of the group's elements):
//     gacc = 0
//     for each block b of g: isum = sum_j (code_j - off) * q_j      (exact int32)
//                            gacc = fmaf(float(isum), d_b, gacc)
//     asymmetric:            gacc = fmaf(-(zero_rg - off), zero_terms_g, gacc)
//     acc = fmaf(scale_rg, gacc, acc)
//     min form:              acc = fmaf(min_rg, zero_terms_g, acc)   (zero_rg is 0 there)
//   y = acc
// zero_terms_g = sum over the group's blocks, in order, of d_b * float(sums_b) (q8_zero_terms).
// Groups of 16 (symmetric only): group g is half h = g % 2 of block b = g / 2, and
//     isum = sum over that half of (code_j - off) * q_j,  gacc = fmaf(float(isum), d_b, +0),
//     acc = fmaf(scale_rg, gacc, acc)
// (the SIMD kernels need each half's activation code sum, Q8Rows::half_sums).
// zero_rg - off is exact in f32 (zero is an f16 in [0, 2^bits - 1]). In the min form
// (w = scale * q + min) zero_rg is 0 and the min multiplies the same activation sums.
#pragma once

#include <cstdint>

#include "kernels/cpu/weight_view.h"
#include "kernels/exec_context.h"

namespace lowbit::kernels::cpu {

inline constexpr int64_t kQ8Block = 32;

// Whether `w` runs through the block products.
bool block_q8_supports(const WeightView& w);

// Quantized activation rows [m, k] (k % 32 == 0), row stride k codes and k / 32 blocks.
struct Q8Rows {
  const int8_t* q = nullptr;          // [m, k]
  const float* d = nullptr;           // [m, k / 32]
  const int32_t* sums = nullptr;      // [m, k / 32]
  const float* zero_terms = nullptr;  // [m, groups of the weight]; asymmetric weights only
  int64_t m = 0;
  int64_t k = 0;
  const int32_t* half_sums = nullptr;  // [m, 2 * k / 32] code sums of each half block; weights
                                       // with groups of 16 only
  int64_t blocks() const { return k / kQ8Block; }
};

// half_sums for rows quantized in element order: out[i * 2 * blocks + 2b + h] = the sum of
// codes 16h..16h+15 of block b of row i.
void q8_half_sums(const int8_t* q, int64_t m, int64_t k, int32_t* out);

// zero_terms for a weight of `group_len` (a multiple of 32): out[i * groups + g], groups =
// ceil(k / group_len).
void q8_zero_terms(const float* d, const int32_t* sums, int64_t m, int64_t k, int64_t group_len,
                   float* out);

// The block quantizer of `isa` (all equal the reference bit for bit): rows [0, m) of x [m, k]
// (see the header comment), k % 32 == 0.
using QuantizeBlocksFn = void (*)(const float* x, int64_t m, int64_t k, bool nibble_order,
                                  int8_t* q, float* d, int32_t* sums);
QuantizeBlocksFn quantize_blocks_kernel(Isa isa);

namespace ref {
void quantize_blocks_q8(const float* x, int64_t m, int64_t k, bool nibble_order, int8_t* q,
                        float* d, int32_t* sums);
// The product (the definition above): y[i * ldy + r] for every activation row i of a and weight
// row r in [row_begin, row_end); a was quantized with nibble_order == (w.bits == 4). The SIMD
// paths run it on a repacked copy of the weight (packed_q8.h).
void dot_rows_q8(const WeightView& w, const Q8Rows& a, int64_t row_begin, int64_t row_end, float* y,
                 int64_t ldy);
}  // namespace ref

namespace avx2 {
void quantize_blocks_q8(const float* x, int64_t m, int64_t k, bool nibble_order, int8_t* q,
                        float* d, int32_t* sums);
}  // namespace avx2

}  // namespace lowbit::kernels::cpu
