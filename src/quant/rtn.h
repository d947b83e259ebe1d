// SPDX-License-Identifier: MIT
// Round-to-nearest (RTN) quantization of a dense weight into any QuantFormat. Data-free: the
// grid of each group comes from its own min/max (affine), absmax (symmetric, NF4, FP8); a
// trellis tensor gets the best code sequence of each rotated column alone (quant/gptq_trellis.h).
#pragma once

#include <cstdint>
#include <string>

#include "tensor/quantized_tensor.h"
#include "util/thread_pool.h"

namespace lowbit::quant {

// Quantizes the row-major f32 weight w[rows, cols] into `format` (dense formats convert).
// Throws InvalidArgument naming `name` when w holds NaN or Inf. Handles all-zero rows,
// constant rows, tiny ranges and a ragged last group. Only a trellis format's search uses
// `pool` (the caller must not be inside that pool's parallel_for); every other format rounds
// on the calling thread.
QuantizedTensor quantize_rtn(const float* w, int64_t rows, int64_t cols, const QuantFormat& format,
                             const std::string& name, ThreadPool* pool = nullptr);

}  // namespace lowbit::quant
