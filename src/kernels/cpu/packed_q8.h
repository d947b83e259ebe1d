// SPDX-License-Identifier: MIT
// The block-int8 products' SIMD layout: 4- to 8-bit integer weights repacked once (on first
// use) into tiles of 8 rows interleaved 4 codes at a time, so one 32-byte load holds 4 codes of
// each of 8 rows and vpdpbusd / maddubs against 4 broadcast activation codes leaves row j's
// partial sum in int32 lane j: whole 8-row blocks need no horizontal reduction. The products
// equal ref::dot_rows_q8 (block_q8.h) on the original layout bit for bit: the same exact block
// sums, then the same fused multiply-adds lane by lane.
//
// 5- and 6-bit weights use the 6-bit layout with code + 32 - 2^(bits-1), so that stored code
// - 32 = code - 2^(bits-1) exactly as the definition subtracts it (6 bits read per weight, not
// 8); parameters stay f16 only where the weight's offset is the layout's (4, 6 and 8 bits).
// Layout (rows padded to a multiple of 8 with zero codes and zero scales; K % 32 == 0):
//   codes: tile t (rows 8t..8t+7), block b (elements 32b..32b+31): a segment of
//     8-bit: 256 bytes, byte [c * 32 + j * 4 + u] = code of row 8t+j, element 32b + 4c + u
//            (c in 0..7, u in 0..3);
//     4-bit: 128 bytes, byte [c * 32 + j * 4 + u] = code of element 32b + 4c + u in the low
//            nibble, of element 32b + 16 + 4c + u in the high one (c in 0..3);
//     6-bit: 192 bytes: the 4-bit segment of the codes' low 4 bits (128 bytes), then byte
//            [128 + h * 32 + j * 4 + u] holding in bits 2f..2f+1 the high 2 bits of element
//            32b + 4c + u, chunk c = 4h + f (h in 0..1, f in 0..3);
//     segments in order t * blocks + b.
//   scales: [tiles][groups][8], row 8t+j's scale of group g at (t * groups + g) * 8 + j; the
//     stored f16 bits when the tensor's scales are f16 (half; decode reads as many scale bytes
//     as the source has), else f32.
//   zeros (asymmetric only): the same shape; when half the stored f16 zero-point bits (the kernel
//     subtracts 2^(bits-1) in f32, exactly), else zero - 2^(bits-1) in f32 (exact). In the min
//     form they hold the mins (f16 bits when half, else f32) and the zero-point is 0.
//   k-quants (Q4_K, Q5_K, Q6_K; k_super) keep ggml's compact parameters instead of one f32 per
//     group (which would cost 2 bits per weight beside 4-bit codes): per tile t and super-block
//     s of 256 elements (supers per row), row 8t+j's
//       k_d[(t * supers + s) * 8 + j]      the f16 bits of d,
//       k_dmin[(t * supers + s) * 8 + j]   the f16 bits of dmin (Q4_K / Q5_K),
//       k_sc[((t * supers + s) * k_subs() + i) * 8 + j]  sub-block i's scale (6-bit unsigned,
//                                          or Q6_K's int8 as its byte),
//       k_m[...]                           the same shape, sub-block i's 6-bit min (Q4_K / Q5_K);
//     kernels form d * sc and dmin * m in f32, both exact (11 x 8 significant bits at most), so
//     they are the very scales and (negated) mins ScaleReader gives the reference.
// Activations for these kernels are quantized in element order (nibble_order false).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/cpu/block_q8.h"
#include "kernels/cpu/weight_view.h"
#include "kernels/exec_context.h"
#include "tensor/quantized_tensor.h"

namespace lowbit::kernels::cpu {

inline constexpr int64_t kPackRows = 8;

struct PackedQ8 {
  int bits = 4;              // the layout's: 4, 6 (5- and 6-bit weights) or 8
  int weight_bits = 4;       // the weight's
  bool half_groups = false;  // groups of 16: two per block (symmetric weights only)
  bool symmetric = true;
  bool min_offset = false;  // zeros hold additive mins (block_q8.h's min form)
  int64_t rows = 0, cols = 0, group_len = 0;
  int64_t tiles = 0, blocks = 0, groups = 0;
  std::vector<uint8_t> codes;
  bool half = false;
  std::vector<float> scales;  // not half
  std::vector<float> zeros;
  std::vector<uint16_t> scales16;  // half
  std::vector<uint16_t> zeros16;
  bool k_super = false;  // k-quant parameters (k_d ... k_m) instead of scales / zeros
  int k_subs_log2 = 0;   // log2 of the sub-blocks (groups) per super-block: 8, or 16 for Q6_K
  int64_t supers = 0;    // super-blocks per row
  std::vector<uint16_t> k_d, k_dmin;
  std::vector<uint8_t> k_sc, k_m;
  // The buffers it was built from (kernels rebuild when a tensor's buffers are others).
  const uint8_t* source_codes = nullptr;
  const uint8_t* source_scales = nullptr;
  const uint8_t* source_zeros = nullptr;

  int64_t k_subs() const { return int64_t{1} << k_subs_log2; }
  int64_t segment_bytes() const { return bits == 4 ? 128 : bits == 6 ? 192 : 256; }
  // Bytes of codes and parameters the kernels read per pass over the weight.
  int64_t kernel_bytes() const;
  // What the definition subtracts from the weight's codes: 2^(weight_bits - 1).
  float offset() const { return static_cast<float>(1 << (weight_bits - 1)); }
  const uint8_t* segment(int64_t t, int64_t b) const {
    return codes.data() + static_cast<size_t>((t * blocks + b) * segment_bytes());
  }
};

// Repacks `w` (block_q8_supports(w) must hold); tiles in parallel on ctx's pool.
std::shared_ptr<const PackedQ8> pack_q8(const WeightView& w, ExecContext& ctx);

// The packed form of `tensor`, built on first use and kept in tensor.kernel_layout (shared by
// copies of the tensor, rebuilt when its buffers are others).
const PackedQ8& packed_q8_of(const QuantizedTensor& tensor, const WeightView& w, ExecContext& ctx);

// y[i * ldy + r] for every activation row i of a (quantized in element order) and the rows r of
// tiles [tile_begin, tile_end) below p.rows.
using PackedDotFn = void (*)(const PackedQ8& p, const Q8Rows& a, int64_t tile_begin,
                             int64_t tile_end, float* y, int64_t ldy);

// The kernel for `isa`; nullptr for Isa::scalar (which runs ref::dot_rows_q8 on the original
// layout).
PackedDotFn packed_dot_kernel(Isa isa);

namespace avx2 {
void packed_dot_q8(const PackedQ8& p, const Q8Rows& a, int64_t tile_begin, int64_t tile_end,
                   float* y, int64_t ldy);
}  // namespace avx2
namespace avx512 {
void packed_dot_q8(const PackedQ8& p, const Q8Rows& a, int64_t tile_begin, int64_t tile_end,
                   float* y, int64_t ldy);
}  // namespace avx512

}  // namespace lowbit::kernels::cpu
