// SPDX-License-Identifier: MIT
// HQQ (Badri & Shaji, 2023): calibration-free. Each group keeps RTN's min/max scale and moves
// its zero-point (optionally its scale too) to minimize an lp-norm (p < 1) of the weight error
// with the half-quadratic solver, which lets a few outliers keep large errors instead of
// dragging the whole grid. Emits lowbit's asymmetric affine_int layout: the zero-point is
// stored in f16, so the non-integer zeros HQQ finds are kept (w = scale · (q - zero)).
#pragma once

#include <cstdint>
#include <string>

#include "tensor/quantized_tensor.h"
#include "util/thread_pool.h"

namespace lowbit::quant {

struct HqqOptions {
  float p = 0.7f;       // the lp-norm of the error being minimized
  float beta = 10.0f;   // initial half-quadratic penalty
  float kappa = 1.01f;  // beta grows by this factor every iteration
  int iterations = 20;
  bool early_stop = true;  // stop a group when its mean |error| stops decreasing
  // Also refit the scale each iteration (least squares on the outlier-free target), stored in
  // f16 like every affine scale. Off by default, as in the reference.
  bool optimize_scale = false;
  ThreadPool* pool = nullptr;  // groups are independent; identical results at any pool size
};

// Quantizes the row-major f32 weight w[rows, cols] into the asymmetric affine_int `format`
// (2..8 bits, any group size). Each group ends with the best (by mean |error|) of the grids
// it visited, RTN's own grid included. Throws InvalidArgument naming `name` on a symmetric or
// non-integer format, bad options or weights quantize_rtn would reject.
QuantizedTensor quantize_hqq(const float* w, int64_t rows, int64_t cols, const QuantFormat& format,
                             const HqqOptions& options, const std::string& name);

}  // namespace lowbit::quant
