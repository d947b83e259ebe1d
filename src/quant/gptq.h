// SPDX-License-Identifier: MIT
// GPTQ (Frantar et al., 2022): quantizes a linear weight column by column, pushing each
// column's rounding error onto the columns not yet quantized through the inverse Hessian of
// the layer's inputs, so the layer OUTPUT error ||W·X - Q·X|| is small, not the weight error.
// A pure function of (weight, Hessian): the calibration driver accumulates H = 2·X^T·X / n
// over the layer's input rows X and calls it.
#pragma once

#include <cstdint>
#include <string>

#include "tensor/quantized_tensor.h"
#include "util/thread_pool.h"

namespace lowbit::quant {

struct GptqOptions {
  // Dampening: damp · mean(diag H) is added to the diagonal before factorization. When the
  // Cholesky factorization fails, damp is raised x10, at most max_damp_raises times.
  double damp = 0.01;
  int max_damp_raises = 4;  // so at most 100 x mean(diag H)
  // Lazy batch updates: columns are swept in blocks of block_size; the rest of the matrix is
  // updated once per block with one GEMM. Any block size gives the same result.
  int64_t block_size = 128;
  // Sweep columns in descending diag(H) order. Implies static groups, so the stored groups
  // stay contiguous in the original column order and no g_idx is needed at inference.
  bool act_order = false;
  // Group grids fixed before the sweep from the original weights (otherwise each group's grid
  // is computed from the error-updated weights when the sweep reaches the group).
  bool static_groups = false;
  // Search each group's range: shrink [min, max] (NF4: the absmax) by 1% steps down to 0.21x
  // and keep the grid with the smallest diag(H)-weighted squared error on the group's
  // (current) weights.
  bool mse_clip = false;
  // Sweep in double instead of f32. Slower; used by tests to compare code for code with a
  // straightforward column-by-column sweep (f32 sums in another order can flip a rare code).
  bool double_precision = false;
  // Rows are independent given the factor: the per-row sweep is split over this pool (results
  // are identical at any pool size). nullptr runs on the calling thread.
  ThreadPool* pool = nullptr;
};

struct GptqResult {
  QuantizedTensor weight;    // laid out exactly as quantize_rtn's output for the format
  double damp = 0.0;         // the relative dampening that factorized (0 after an RTN fallback)
  int damp_raises = 0;       // how many x10 raises that took
  int64_t dead_columns = 0;  // inputs with H_ii = 0: their weights were zeroed
  // GPTQ's error proxy: sum over weights of (w - q)^2 / (2 · U_cc^2), U the upper Cholesky
  // factor of H^-1 (the reference's "error" figure; 0 after an RTN fallback).
  double loss = 0.0;
  bool rtn_fallback = false;  // the Hessian could not be factorized (a warning was printed)
};

// Quantizes the row-major f32 weight w[rows, cols] into `format` (affine_int: 2..8 bits, any
// group size, symmetric or asymmetric; or nf4 without double quantization, whose grid is the
// NF4 codebook times each block's absmax) with the symmetric Hessian h[cols, cols] of its
// inputs.
// Dead inputs (H_ii = 0) get H_ii = 1 and a zero weight column, as the reference does. When H
// cannot be factorized even after the last damp raise (or is not finite), the weight falls
// back to quantize_rtn with a warning naming `name`. Throws InvalidArgument naming `name` on
// another format, bad options or weights quantize_rtn would reject.
GptqResult quantize_gptq(const float* w, int64_t rows, int64_t cols, const double* h,
                         const QuantFormat& format, const GptqOptions& options,
                         const std::string& name);
// The same with an f32 Hessian (converted to double for the factorization).
GptqResult quantize_gptq(const float* w, int64_t rows, int64_t cols, const float* h,
                         const QuantFormat& format, const GptqOptions& options,
                         const std::string& name);

}  // namespace lowbit::quant
