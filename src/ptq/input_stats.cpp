// SPDX-License-Identifier: MIT
#include "ptq/input_stats.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>

#include "util/check.h"

namespace lowbit::ptq {

InputStats::InputStats(int64_t cols, int64_t total_rows, int64_t max_sample_rows)
    : cols_(cols),
      stride_(std::max<int64_t>(
          1, (total_rows + max_sample_rows - 1) / std::max<int64_t>(1, max_sample_rows))),
      xtx_(static_cast<size_t>(cols * cols), 0.0),
      partial_(static_cast<size_t>(cols * cols), 0.0f),
      abs_sum_(static_cast<size_t>(cols), 0.0),
      abs_max_(static_cast<size_t>(cols), 0.0f) {
  LB_CHECK(cols > 0, "input stats: no columns");
}

void InputStats::add(const float* x, int64_t rows, ThreadPool& pool) {
  if (rows <= 0) return;
  const int64_t cols = cols_;
  accumulate_upper_gram(x, rows, cols, partial_, xtx_, pool);
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * cols;
    for (int64_t j = 0; j < cols; ++j) {
      const float a = std::fabs(row[j]);
      abs_sum_[static_cast<size_t>(j)] += a;
      abs_max_[static_cast<size_t>(j)] = std::max(abs_max_[static_cast<size_t>(j)], a);
    }
    if ((rows_ + r) % stride_ == 0) samples_.insert(samples_.end(), row, row + cols);
  }
  rows_ += rows;
}

void accumulate_upper_gram(const float* x, int64_t rows, int64_t cols, std::vector<float>& partial,
                           std::vector<double>& upper, ThreadPool& pool) {
  // partial = X^T X over these rows, upper triangle, by blocks of output rows (each owned by
  // one task, so any pool size gives the same sums); then summed into the f64 accumulator so
  // that long calibration runs do not lose precision.
  constexpr int64_t kBlock = 64;
  const int64_t blocks = (cols + kBlock - 1) / kBlock;
  pool.parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t i0 = b * kBlock, bi = std::min(kBlock, cols - i0);
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, static_cast<int>(bi),
                  static_cast<int>(cols - i0), static_cast<int>(rows), 1.0f, x + i0,
                  static_cast<int>(cols), x + i0, static_cast<int>(cols), 0.0f,
                  partial.data() + i0 * cols + i0, static_cast<int>(cols));
      for (int64_t i = i0; i < i0 + bi; ++i)
        for (int64_t j = i; j < cols; ++j)
          upper[static_cast<size_t>(i * cols + j)] += partial[static_cast<size_t>(i * cols + j)];
    }
  });
}

std::vector<double> InputStats::hessian() const {
  if (rows_ == 0) return std::vector<double>(xtx_.size(), 0.0);
  return symmetric_from_upper(xtx_, cols_, 2.0 / static_cast<double>(rows_));
}

std::vector<double> symmetric_from_upper(const std::vector<double>& upper, int64_t cols,
                                         double scale) {
  std::vector<double> full(static_cast<size_t>(cols * cols), 0.0);
  for (int64_t i = 0; i < cols; ++i)
    for (int64_t j = i; j < cols; ++j) {
      const double v = scale * upper[static_cast<size_t>(i * cols + j)];
      full[static_cast<size_t>(i * cols + j)] = v;
      full[static_cast<size_t>(j * cols + i)] = v;
    }
  return full;
}

std::vector<float> InputStats::abs_mean() const {
  std::vector<float> out(static_cast<size_t>(cols_), 0.0f);
  if (rows_ == 0) return out;
  for (size_t j = 0; j < out.size(); ++j)
    out[j] = static_cast<float>(abs_sum_[j] / static_cast<double>(rows_));
  return out;
}

std::vector<float> InputStats::abs_max() const { return abs_max_; }

double trace_product(const std::vector<double>& a, const std::vector<double>& b, const double* m,
                     int64_t rows, int64_t cols) {
  std::vector<double> prod(a.size());
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(rows),
              static_cast<int>(cols), static_cast<int>(cols), 1.0, b.data(), static_cast<int>(cols),
              m, static_cast<int>(cols), 0.0, prod.data(), static_cast<int>(cols));
  double sum = 0.0;
  for (size_t i = 0; i < a.size(); ++i) sum += a[i] * prod[i];
  return sum;
}

double relative_output_error(const float* w, const float* q, int64_t rows, int64_t cols,
                             const double* h) {
  // tr(D H D^T) / tr(W H W^T) with D = W - Q.
  const auto n = static_cast<size_t>(rows * cols);
  std::vector<double> d(n), wd(n);
  for (size_t i = 0; i < n; ++i) {
    wd[i] = w[i];
    d[i] = static_cast<double>(w[i]) - q[i];
  }
  const double num = trace_product(d, d, h, rows, cols), den = trace_product(wd, wd, h, rows, cols);
  return den > 0 ? num / den : 0.0;
}

}  // namespace lowbit::ptq
