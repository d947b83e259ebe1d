// SPDX-License-Identifier: MIT
// Statistics of the rows one group of linear layers reads (q/k/v share one input, gate/up
// another), accumulated over the calibration windows: X^T X for GPTQ's Hessian, per-channel
// mean and max |x| for AWQ and SmoothQuant, and an evenly strided sample of the rows for
// searches that need the inputs themselves. Memory: cols^2 doubles plus the sampled rows.
#pragma once

#include <cstdint>
#include <vector>

#include "util/thread_pool.h"

namespace lowbit::ptq {

class InputStats {
 public:
  // `total_rows` is how many rows add() will see in all; every stride-th row of them (stride =
  // ceil(total_rows / max_sample_rows)) is kept as a sample.
  InputStats(int64_t cols, int64_t total_rows, int64_t max_sample_rows);

  // Adds x[rows, cols]. The X^T X update is split over `pool` by output rows, so results are
  // identical at any thread count.
  void add(const float* x, int64_t rows, ThreadPool& pool);

  int64_t cols() const { return cols_; }
  int64_t rows() const { return rows_; }
  // H = 2 X^T X / n, full and symmetric, [cols, cols] (GPTQ's Hessian of the squared error).
  std::vector<double> hessian() const;
  std::vector<float> abs_mean() const;  // [cols]
  std::vector<float> abs_max() const;   // [cols]
  // The sampled rows, [sample_rows(), cols].
  const std::vector<float>& samples() const { return samples_; }
  int64_t sample_rows() const { return static_cast<int64_t>(samples_.size()) / cols_; }

 private:
  int64_t cols_, stride_;
  int64_t rows_ = 0;
  std::vector<double> xtx_;  // upper triangle (row i, columns >= i) is valid
  std::vector<float> partial_;
  std::vector<double> abs_sum_;
  std::vector<float> abs_max_;
  std::vector<float> samples_;
};

// upper += X^T X for x[rows, cols] (upper triangle of [cols, cols]; partial is a [cols, cols] f32
// scratch), split over `pool` by blocks of rows of the product: identical at any pool size.
void accumulate_upper_gram(const float* x, int64_t rows, int64_t cols, std::vector<float>& partial,
                           std::vector<double>& upper, ThreadPool& pool);

// The sum over elements of a .* (b M) for a, b [rows, cols] and M [cols, cols] (row-major):
// tr(A M^T B^T), so trace_product(d, d, h) is tr(D H D^T) for a symmetric H.
double trace_product(const std::vector<double>& a, const std::vector<double>& b, const double* m,
                     int64_t rows, int64_t cols);

// scale * A as a full symmetric [cols, cols] matrix from the upper triangle of `upper` (the
// strictly lower triangle is not read).
std::vector<double> symmetric_from_upper(const std::vector<double>& upper, int64_t cols,
                                         double scale);

// The relative output error of replacing w by q on inputs whose X^T X is h (both [rows, cols],
// h [cols, cols] symmetric): sum_r (w_r - q_r)^T h (w_r - q_r) / sum_r w_r^T h w_r, i.e.
// ||W X^T - Q X^T||^2 / ||W X^T||^2 on the calibration rows. 0 when the denominator is 0.
double relative_output_error(const float* w, const float* q, int64_t rows, int64_t cols,
                             const double* h);

}  // namespace lowbit::ptq
