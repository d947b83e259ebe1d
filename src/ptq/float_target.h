// SPDX-License-Identifier: MIT
// Float targets ("asymmetric calibration": Qronos, GPTAQ; QEP's error propagation): GPTQ fits
// Q X~ to W X~, where X~ are a linear's inputs in the partly quantized model; the drift
// D = X - X~ that the earlier quantized layers caused is left alone. Fitting Q X~ to the
// UNQUANTIZED model's output W X instead lets each layer undo some of that drift:
//
//   ||X W^T - X~ Q^T||^2 = tr((Q - W') H (Q - W')^T) + const,
//   H = X~^T X~,  W' = W X^T X~ H^-1 = W + dW,  dW = W G H^-1,  G = D^T X~,
//
// so GPTQ on the corrected weight W' with the Hessian it already has solves the float-target
// problem. The full correction does not pay on a real model: on SmolLM2 at 3 bits (gptq-w3g128,
// wikitext-2, 20 windows) KL from the unquantized model reads 0.467 without it, 0.412 at
// strength 0.25 and 0.487 at 0.5; at 1 it reads 3.38 (40 windows, perplexity 706), and with a
// 100x ridge still 2.3; a strength chosen per layer by cross-validating the unquantized fit on
// held-out windows picked 0.1-0.9 and read 1.46. Each layer's own float-target error does fall
// monotonically with the strength: the layer-wise objective and the model's KL part ways. So the
// correction is shrunk by a strength the user gives, W' = W + a dW (--match-float a), and measured
// with eval.
//
// G is accumulated from D directly (not as X^T X~ - X~^T X~), so where the inputs have not
// drifted (block 0) it is exactly zero and the result is plain GPTQ's, bit for bit. The solve
// is a ridge regression: H gets GPTQ's dampening.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "util/thread_pool.h"

namespace lowbit::ptq {

// What the float-target correction of one linear input needs, each scaled 2/n as
// InputStats::hessian() scales X~^T X~; [cols, cols] row-major.
struct DriftMoments {
  std::vector<double> cross;  // G = D^T X~ (not symmetric)
  std::vector<double> drift;  // E = D^T D (symmetric)
};

// Accumulates G and E over the calibration rows of one linear input. Memory: 2 cols^2 doubles
// plus an f32 scratch.
class DriftStats {
 public:
  explicit DriftStats(int64_t cols);
  // Adds rows of the partly quantized model's inputs x_quant and the unquantized model's inputs
  // x_float (both [rows, cols], the same token positions). Identical at any pool size.
  void add(const float* x_quant, const float* x_float, int64_t rows, ThreadPool& pool);
  int64_t rows() const { return rows_; }
  DriftMoments moments() const;

 private:
  int64_t cols_;
  int64_t rows_ = 0;
  std::vector<double> g_, e_;  // e_: upper triangle valid
  std::vector<float> partial_, d_;
};

// W + strength * dW for w[rows, cols], dW = W G (H + lambda I)^-1 with h = 2 X~^T X~ / n,
// lambda = damp * mean(diag H) raised x10 up to max_raises times when the factorization fails;
// nullopt when it never succeeds (the caller then keeps W). W itself, bit for bit, when G is
// zero or the strength is 0.
std::optional<std::vector<float>> float_target_weights(const float* w, int64_t rows, int64_t cols,
                                                       const double* h, const DriftMoments& m,
                                                       double strength, double damp,
                                                       int max_raises);

// ||X W^T - X~ Q^T||^2 / ||X W^T||^2 on the calibration rows, from h, g = 2 G / n and
// e = 2 E / n: the relative error against the unquantized model's output (0 when that is 0).
double float_target_error(const float* w, const float* q, int64_t rows, int64_t cols,
                          const double* h, const double* g, const double* e);

}  // namespace lowbit::ptq
