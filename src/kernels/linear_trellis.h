// SPDX-License-Identifier: MIT
// y = x·W^T for a trellis weight (QuantKind::trellis, numerics/trellis_code.h): the input is
// rotated once per call (W·x = W'·(R^T·x)), then each run of up to 256 output rows is one task
// that decodes its column streams in order: for one token it accumulates the 256 outputs column
// by column; for several it decodes the run into f32 rows and multiplies them with sgemm. Each
// output is summed inside one task in a fixed order, so results do not depend on the thread
// count. Scalar C++; tested against the reference decoder (tensor/dequantize.h).
#pragma once

#include <cstdint>

#include "kernels/exec_context.h"
#include "tensor/quantized_tensor.h"

namespace lowbit::kernels {

// x[m, cols] -> y[m, rows] (+ bias[rows] when not null). The caller has checked the shapes.
void linear_trellis(const float* x, int64_t m, const QuantizedTensor& w, const float* bias,
                    float* y, ExecContext& ctx);

}  // namespace lowbit::kernels
