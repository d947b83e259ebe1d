// SPDX-License-Identifier: MIT
// AWQ (Lin et al., 2023), the pure parts: for a group of linears that share one input (q/k/v
// after the input norm, gate/up after the post-attention norm, o after v, down after up),
// search the per-input-channel scale s that protects the salient channels, then search each
// weight group's clipping range. The calibration driver folds 1/s into the preceding norm or
// linear (so W·diag(s) sees inputs X·diag(s)^-1 and the model is unchanged before
// quantization) and stores the returned weights.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tensor/quantized_tensor.h"

namespace lowbit::quant {

// One linear of a scaling group: w[rows, cols], cols = the shared input width.
struct AwqLinear {
  std::string name;
  const float* w = nullptr;
  int64_t rows = 0;
  bool clip = true;  // run the clipping search (the reference skips q and k: their errors meet
                     // in the q·k product, not in this layer's output)
};

struct AwqOptions {
  int n_grid = 20;          // ratios r = 0, 1/n_grid, ..., (n_grid - 1)/n_grid
  double max_shrink = 0.5;  // clip candidates absmax · (1 - i/clip_grid), i < max_shrink·clip_grid
  int clip_grid = 20;
  int64_t clip_max_rows = 512;  // input rows used by the clip search (evenly strided)
};

// The loss of one candidate scale, given each linear's fake-quantized weight in the ORIGINAL
// input space, Q(W·diag(s))·diag(s)^-1 (row-major [rows, cols], in `linears` order). The
// default (awq_output_error) is the linears' own output error; a driver can score the block
// output instead, as the reference does for q/k/v and gate/up.
using AwqCandidateError = std::function<double(const std::vector<std::vector<float>>&)>;

// sum over linears of ||X·W^T - X·W_hat^T||^2 on the input rows x[n, cols].
AwqCandidateError awq_output_error(const std::vector<AwqLinear>& linears, int64_t cols,
                                   const float* x, int64_t n);

// Per-channel mean |x| over x[n, cols] (the AWQ activation statistic).
std::vector<float> channel_abs_mean(const float* x, int64_t n, int64_t cols);

struct AwqScaleSearch {
  std::vector<float> scales;  // s[cols] of the best ratio (all 1 when r = 0 won)
  double ratio = 0.0;         // the best r
  double error = 0.0;         // its loss
  double error_rtn = 0.0;     // the loss of r = 0 (s = 1): plain RTN
};

// s = clamp(x_abs_mean^r, 1e-4) / sqrt(max(s) · min(s)) for the grid of r; keeps the r with the
// smallest `error` of the RTN-quantized (format) scaled weights (ties keep the smaller r).
AwqScaleSearch awq_search_scales(const std::vector<AwqLinear>& linears, int64_t cols,
                                 const float* x_abs_mean, const QuantFormat& format,
                                 const AwqCandidateError& error, const AwqOptions& options);

// Clipping search on one weight w[rows, cols] whose inputs are x[n, cols] (both in the same
// space: after scaling, W·diag(s) and X·diag(s)^-1): per row and group, the bound
// absmax · (1 - i / clip_grid) that minimizes the group's mean squared output error
// sum_t (x_t · (Q(clip(w)) - w))^2. Returns the clipped weights (not yet quantized).
// Per-tensor formats are returned unclipped (one grid spans every row).
std::vector<float> awq_clip(const float* w, int64_t rows, int64_t cols, const float* x, int64_t n,
                            const QuantFormat& format, const AwqOptions& options);

struct AwqGroupResult {
  AwqScaleSearch search;
  std::vector<QuantizedTensor> weights;  // Q(clip(W·diag(s))) per linear, in `linears` order
};

// The whole AWQ step for one scaling group with the linears' own output error: scale search
// on input rows x[n, cols], then the clip search (linears with clip) on the scaled weights and
// inputs, then RTN into `format`. Throws InvalidArgument naming the linear on a non-integer
// format, mismatched shapes or non-finite input.
AwqGroupResult quantize_awq_group(const std::vector<AwqLinear>& linears, int64_t cols,
                                  const float* x, int64_t n, const QuantFormat& format,
                                  const AwqOptions& options);

}  // namespace lowbit::quant
