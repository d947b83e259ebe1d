// SPDX-License-Identifier: MIT
#include "ptq/float_target.h"

#include <algorithm>

#include "numerics/linalg.h"
#include "ptq/input_stats.h"
#include "util/check.h"

namespace lowbit::ptq {

DriftStats::DriftStats(int64_t cols)
    : cols_(cols),
      g_(static_cast<size_t>(cols * cols), 0.0),
      e_(static_cast<size_t>(cols * cols), 0.0),
      partial_(static_cast<size_t>(cols * cols), 0.0f) {
  LB_CHECK(cols > 0, "drift stats: no columns");
}

void DriftStats::add(const float* x_quant, const float* x_float, int64_t rows, ThreadPool& pool) {
  if (rows <= 0) return;
  const int64_t cols = cols_;
  d_.resize(static_cast<size_t>(rows * cols));
  for (size_t i = 0; i < d_.size(); ++i) d_[i] = x_float[i] - x_quant[i];
  // G as accumulate_upper_gram forms X^T X: f32 products over these rows by blocks of output
  // rows (each block owned by one task), summed into f64.
  constexpr int64_t kBlock = 64;
  const int64_t blocks = (cols + kBlock - 1) / kBlock;
  const int64_t ld = cols;
  pool.parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t i0 = b * kBlock, bi = std::min(kBlock, cols - i0);
      float* part = partial_.data() + i0 * cols;
      // G[i0.., :] = D[:, i0..]^T X~
      sgemm(true, false, bi, cols, rows, 1.0f, d_.data() + i0, ld, x_quant, ld, 0.0f, part, ld);
      for (int64_t i = i0; i < i0 + bi; ++i)
        for (int64_t j = 0; j < cols; ++j)
          g_[static_cast<size_t>(i * cols + j)] += part[(i - i0) * cols + j];
    }
  });
  accumulate_upper_gram(d_.data(), rows, cols, partial_, e_, pool);
  rows_ += rows;
}

DriftMoments DriftStats::moments() const {
  const double scale = rows_ > 0 ? 2.0 / static_cast<double>(rows_) : 0.0;
  DriftMoments m;
  m.cross.resize(g_.size());
  for (size_t i = 0; i < g_.size(); ++i) m.cross[i] = scale * g_[i];
  m.drift = symmetric_from_upper(e_, cols_, scale);
  return m;
}

namespace {

// dW = W G (H + lambda I)^-1, [rows, cols], lambda = damp * mean(diag H) (raised on failure).
std::optional<std::vector<double>> ridge_correction(const std::vector<double>& w, int64_t rows,
                                                    int64_t cols, const double* h, const double* g,
                                                    double damp, int max_raises) {
  double mean_diag = 0.0;
  for (int64_t i = 0; i < cols; ++i) mean_diag += h[i * cols + i];
  mean_diag /= static_cast<double>(cols);
  if (!(mean_diag > 0.0)) return std::nullopt;
  std::vector<double> l(static_cast<size_t>(cols * cols));
  bool factorized = false;
  for (int raise = 0; raise <= max_raises && !factorized; ++raise, damp *= 10.0) {
    std::copy(h, h + cols * cols, l.begin());
    for (int64_t i = 0; i < cols; ++i) l[static_cast<size_t>(i * cols + i)] += damp * mean_diag;
    factorized = cholesky_lower(l.data(), cols);
  }
  if (!factorized) return std::nullopt;
  // (H + lambda I) dW^T = G^T W^T, by L L^T.
  std::vector<double> t(w.size());
  dgemm(true, true, cols, rows, cols, 1.0, g, cols, w.data(), cols, 0.0, t.data(), rows);
  if (!triangular_solve(l.data(), cols, false, false, t.data(), rows) ||
      !triangular_solve(l.data(), cols, false, true, t.data(), rows))
    return std::nullopt;
  std::vector<double> dw(w.size());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < cols; ++j)
      dw[static_cast<size_t>(r * cols + j)] = t[static_cast<size_t>(j * rows + r)];
  return dw;
}

}  // namespace

std::optional<std::vector<float>> float_target_weights(const float* w, int64_t rows, int64_t cols,
                                                       const double* h, const DriftMoments& m,
                                                       double strength, double damp,
                                                       int max_raises) {
  const auto n = static_cast<size_t>(rows * cols);
  std::vector<float> out(w, w + n);
  if (strength == 0.0 ||
      std::all_of(m.cross.begin(), m.cross.end(), [](double v) { return v == 0.0; }))
    return out;
  const std::vector<double> wd(w, w + n);
  const auto dw = ridge_correction(wd, rows, cols, h, m.cross.data(), damp, max_raises);
  if (!dw) return std::nullopt;
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<float>(wd[i] + strength * (*dw)[i]);
  return out;
}

double float_target_error(const float* w, const float* q, int64_t rows, int64_t cols,
                          const double* h, const double* g, const double* e) {
  // With D_w = W - Q and inputs X = X~ + D:
  //   ||X W^T - X~ Q^T||^2 = tr(D_w H D_w^T) + 2 tr(D_w G^T W^T) + tr(W E W^T),
  //   ||X W^T||^2 = tr(W (H + G + G^T + E) W^T),
  // where tr(A G^T W^T) = sum of A .* (W G).
  const auto n = static_cast<size_t>(rows * cols);
  const std::vector<double> wd(w, w + n);
  std::vector<double> dw(n);
  for (size_t i = 0; i < n; ++i) dw[i] = wd[i] - q[i];
  const double w_e_w = trace_product(wd, wd, e, rows, cols);
  const double num =
      trace_product(dw, dw, h, rows, cols) + 2.0 * trace_product(dw, wd, g, rows, cols) + w_e_w;
  const double den =
      trace_product(wd, wd, h, rows, cols) + 2.0 * trace_product(wd, wd, g, rows, cols) + w_e_w;
  return den > 0 ? num / den : 0.0;
}

}  // namespace lowbit::ptq
