// SPDX-License-Identifier: MIT
// What every quantizer shares when it writes a QuantizedTensor: the checks on the input weight,
// allocation for a format and shape, and the stores of group scales, zero-points and packed
// code rows. RTN, GPTQ, AWQ and HQQ all emit through these, so their outputs have one layout
// and the kernels run any of them unchanged.
#pragma once

#include <cstdint>
#include <string>

#include "tensor/quantized_tensor.h"

namespace lowbit::quant {

// Throws InvalidArgument naming `name` on an empty shape, an invalid format, NaN/Inf weights,
// or weights beyond f16 where the format stores f16 values or scales. The min form (w = d*q +
// m) is refused unless `min_form_ok`: only ggml's reference quantizers (ggml_rtn.h) fit it.
void check_weights(const float* w, int64_t rows, int64_t cols, const QuantFormat& format,
                   const std::string& name, bool min_form_ok = false);

// A [rows, cols] tensor of `format` with its codes, scales, zeros (asymmetric affine_int) and
// nested scales (nf4 double quant) allocated.
QuantizedTensor allocate_quantized(const QuantFormat& format, int64_t rows, int64_t cols);

// Stores the scale of group `index` in the format's scale dtype (f16 scales must already be
// f16 values, as the grids return them: the conversion is exact).
void store_scale(QuantizedTensor& t, int64_t index, float scale);
// Stores the f16 zero-point of group `index` (asymmetric affine_int).
void store_zero(QuantizedTensor& t, int64_t index, float zero);
// Packs codes[cols] (one per element, < 2^bits) into row `row` of an affine_int/nf4 tensor.
void store_row_codes(QuantizedTensor& t, int64_t row, const uint8_t* codes);

}  // namespace lowbit::quant
