// SPDX-License-Identifier: MIT
// ggml's k-quant reference quantizers (quantize_row_q4_K_ref, _q5_K_ref, _q6_K_ref: what
// llama-quantize runs without an importance matrix) for one super-block of 256 values, producing
// lowbit's k_quant layout (tensor/k_quant.h): 256 codes and the super-block's scale bytes. The
// searches (make_qkx2_quants for Q4_K / Q5_K, make_qx_quants for Q6_K) are reproduced step by
// step with ggml's rounding (nearest_int = round half to even; products left to right; no fused
// multiply-add), so the bytes equal llama-quantize's.
#pragma once

#include <cstdint>

namespace lowbit::quant {

// x[256] -> codes[256] (Q4_K 0..15, Q5_K 0..31, Q6_K 0..63 with zero 32) and scale bytes
// (16 for Q4_K / Q5_K, 18 for Q6_K).
void quantize_k_super_block(int bits, const float* x, uint8_t* codes, uint8_t* scale_bytes);

}  // namespace lowbit::quant
