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
// problem. The full correction over-fits: much of the drift is rounding noise that no linear map
// of X~ predicts, and on SmolLM2 at 3 bits the whole dW ruins the model (perplexity in the
// thousands; a quarter of it lowers KL by 12%, half of it raises it).
// So the correction is shrunk, W' = W + a dW, with the strength a in [0, 1] chosen per input
// by two-fold cross-validation on the calibration windows: dW fitted on the even windows is
// scored on the odd ones and vice versa; a minimises the held-out float-target error
// ||D W^T - a X~ dW^T||^2, which is quadratic in a. No strength is tuned to a model.
//
// G is accumulated from D directly (not as X^T X~ - X~^T X~), so where the inputs have not
// drifted (block 0) it is exactly zero and the result is plain GPTQ's, bit for bit. Each solve
// is a ridge regression: H gets GPTQ's dampening.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "util/thread_pool.h"

namespace lowbit::ptq {

// What the float-target correction of one linear input needs, each scaled 2/n as
// InputStats::hessian() scales X~^T X~ (n: the rows it sums over); [cols, cols] row-major.
struct DriftMoments {
  std::vector<double> cross;                      // G over all rows (not symmetric)
  std::vector<double> drift;                      // E = D^T D over all rows (symmetric)
  std::array<std::vector<double>, 2> gram;        // X~^T X~ of each half (symmetric)
  std::array<std::vector<double>, 2> cross_half;  // G of each half
};

// Accumulates G = D^T X~, E = D^T D and, per half of the rows, X~^T X~ and G. The caller puts
// alternate windows in alternate halves. Memory: 6 cols^2 doubles plus an f32 scratch.
class DriftStats {
 public:
  explicit DriftStats(int64_t cols);
  // Adds rows of the partly quantized model's inputs x_quant and the unquantized model's inputs
  // x_float (both [rows, cols], the same token positions) to half `half` (0 or 1). Identical at
  // any pool size.
  void add(const float* x_quant, const float* x_float, int64_t rows, int half, ThreadPool& pool);
  int64_t rows() const { return rows_[0] + rows_[1]; }
  DriftMoments moments() const;

 private:
  int64_t cols_;
  std::array<int64_t, 2> rows_{};
  std::array<std::vector<double>, 2> g_, h_;  // h_: upper triangle valid
  std::vector<double> e_;                     // upper triangle valid
  std::vector<float> partial_, d_;
};

struct FloatTarget {
  std::vector<float> weight;  // W + strength * dW, [rows, cols]
  double strength = 0;        // the cross-validated a (0: no drift, or none worth correcting)
};

// The shrunk float-target weight for w[rows, cols], h = 2 X~^T X~ / n over all rows. Each ridge
// solve adds damp * mean(diag) to the diagonal, raised x10 up to max_raises times when the
// factorization fails; nullopt when a solve never succeeds (the caller then keeps W).
std::optional<FloatTarget> float_target_weights(const float* w, int64_t rows, int64_t cols,
                                                const double* h, const DriftMoments& m, double damp,
                                                int max_raises);

// ||X W^T - X~ Q^T||^2 / ||X W^T||^2 on the calibration rows, from h, g = 2 G / n and
// e = 2 E / n: the relative error against the unquantized model's output (0 when that is 0).
double float_target_error(const float* w, const float* q, int64_t rows, int64_t cols,
                          const double* h, const double* g, const double* e);

}  // namespace lowbit::ptq
