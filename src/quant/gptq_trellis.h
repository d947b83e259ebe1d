// SPDX-License-Identifier: MIT
// Trellis-coded weights (QuantKind::trellis) with GPTQ's feedback, QTIP's recipe with
// one-column blocks: the weight is rotated on its input side (W' = W·R, numerics/rotation.h;
// the Hessian becomes R^T·H·R) so its entries are close to Gaussian, every row of W' gets one
// scale (gain x the row's RMS, the gain chosen on a sample of columns), and GPTQ's sweep codes
// one whole column of W' at a time as trellis runs down the rows (quant/trellis.h), pushing
// the column's error onto the columns not yet coded exactly as the scalar sweep does. The
// column is the unit because GPTQ's feedback flows along the columns: coding a column jointly
// keeps every step of the feedback.
#pragma once

#include <cstdint>
#include <string>

#include "quant/gptq.h"

namespace lowbit::quant {

// GPTQ into a trellis format with the Hessian h[cols, cols] of the inputs (options: damp and
// its raises, act_order, block_size, pool; mse_clip and static_groups do not apply). When H
// cannot be factorized the weight is coded without feedback (a warning names the tensor).
GptqResult quantize_gptq_trellis(const float* w, int64_t rows, int64_t cols, const double* h,
                                 const QuantFormat& format, const GptqOptions& options,
                                 const std::string& name);

// The data-free form: every column of W' coded alone (GPTQ with H = I, no feedback).
QuantizedTensor quantize_trellis(const float* w, int64_t rows, int64_t cols,
                                 const QuantFormat& format, ThreadPool* pool,
                                 const std::string& name);

}  // namespace lowbit::quant
