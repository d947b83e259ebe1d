// SPDX-License-Identifier: MIT
// llama.cpp's block formats as lowbit schemes: ggml's reference quantizers (quantize_row_*_ref,
// what llama-quantize runs without an imatrix), written from the rules in
// docs/FORMATS.md ("GGUF writing"), emitting the lowbit format that holds the ggml block bit for
// bit.
//
//   scheme  lowbit format            ggml rule (per block of 32, x in f32)
//   q8_0    affine_int 8 g32 sym     d = amax / 127, id = 1/d (0 if d = 0), q = roundf(x * id)
//                                    (half away from zero); code = q + 128
//   q4_0    affine_int 4 g32 sym     max = the signed value of largest |x| (first wins);
//                                    d = max / -8, q = min(15, trunc(x * id + 8.5f)); code = q
//   q5_0    affine_int 5 g32 sym     as q4_0 with d = max / -16, q = min(31, trunc(x*id + 16.5f))
//   q4_1    affine_int 4 g32 min     min/max of the block, d = (max - min) / 15,
//                                    q = min(15, trunc((x - min) * id + 0.5f)); w = d * q + m
//   q5_1    affine_int 5 g32 min     as q4_1 with d = (max - min) / 31 and no clamp
//   q4_k    k_quant 4 (tensor/k_quant.h)  quantize_row_q4_K_ref (ggml_kquant.h); q5_k, q6_k alike
//   iq4_nl  iq4_nl g32               llama-quantize's search (no imatrix): least-squares d over
//                                    15 trial scales, codes = nearest level to x / d (ggml_rtn.cpp)
// The scale is f16(d) (round to nearest even; an all-zero q4_0/q5_0 block stores -0) and the
// min f16(min) (codes use the f32 min, as ggml does), so a
// tensor quantized here and written by io/gguf_writer.h is byte-identical to ggml's output. A
// row whose length is not a multiple of 32 (lowbit output only; GGUF needs whole blocks) gets
// the same rule over its shorter last group.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tensor/quantized_tensor.h"

namespace lowbit::quant {

struct GgmlSchemeInfo {
  std::string_view name;         // "q4_0"
  QuantFormat format;            // the lowbit format it produces
  std::string_view description;  // one line for `lowbit schemes`
};

// Every ggml scheme lowbit reproduces, in display order.
const std::vector<GgmlSchemeInfo>& ggml_schemes();
// The entry called `name`, or nullopt.
std::optional<GgmlSchemeInfo> find_ggml_scheme(std::string_view name);

// The scheme a k-quant falls back to when rows are not whole super-blocks of 256 (llama-quantize's
// rule: q4_k -> q5_0, q5_k -> q5_1, q6_k -> q8_0); empty for other schemes.
std::string_view k_quant_fallback(std::string_view scheme);

// Quantizes w[rows, cols] with ggml scheme `scheme` (one of ggml_schemes()); a k-quant whose
// rows are not whole super-blocks gets its fallback scheme's format. Throws
// InvalidArgument naming `name` on NaN/Inf or weights beyond f16, or an unknown scheme.
QuantizedTensor quantize_ggml(const float* w, int64_t rows, int64_t cols, std::string_view scheme,
                              const std::string& name);

}  // namespace lowbit::quant
