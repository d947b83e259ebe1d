// SPDX-License-Identifier: MIT
// Synthetic layers for the calibrated-quantizer tests: weights, correlated input rows, their
// Hessian and the output error of a quantized weight.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "tensor/dequantize.h"

namespace lowbit::quant::testing {

// Normal weights with a per-row spread (Llama-like), row-major [rows, cols].
inline std::vector<float> random_weights(int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> row_scale(0.01f, 0.05f);
  std::vector<float> w(static_cast<size_t>(rows * cols));
  for (int64_t r = 0; r < rows; ++r) {
    const float s = row_scale(rng);
    for (int64_t c = 0; c < cols; ++c) w[static_cast<size_t>(r * cols + c)] = s * normal(rng);
  }
  return w;
}

// Correlated inputs X[n, cols] = Z · A with Z normal and A = I + a dense random mixing, and
// channel scales spread over two decades (as the inputs of a real linear layer).
inline std::vector<float> correlated_inputs(int64_t n, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> log_scale(-1.0f, 1.0f);
  std::vector<float> a(static_cast<size_t>(cols * cols));
  for (int64_t i = 0; i < cols; ++i)
    for (int64_t j = 0; j < cols; ++j)
      a[static_cast<size_t>(i * cols + j)] =
          (i == j ? 1.0f : 0.0f) + 0.3f * normal(rng) / std::sqrt(static_cast<float>(cols));
  std::vector<float> channel(static_cast<size_t>(cols));
  for (auto& s : channel) s = std::pow(10.0f, log_scale(rng));
  std::vector<float> z(static_cast<size_t>(cols)), x(static_cast<size_t>(n * cols), 0.0f);
  for (int64_t t = 0; t < n; ++t) {
    for (auto& v : z) v = normal(rng);
    float* xt = x.data() + t * cols;
    for (int64_t i = 0; i < cols; ++i)
      for (int64_t j = 0; j < cols; ++j)
        xt[j] += z[static_cast<size_t>(i)] * a[static_cast<size_t>(i * cols + j)];
    for (int64_t j = 0; j < cols; ++j) xt[j] *= channel[static_cast<size_t>(j)];
  }
  return x;
}

// H = 2 · X^T X / n, in double.
inline std::vector<double> hessian(const std::vector<float>& x, int64_t n, int64_t cols) {
  std::vector<double> h(static_cast<size_t>(cols * cols), 0.0);
  for (int64_t t = 0; t < n; ++t) {
    const float* xt = x.data() + t * cols;
    for (int64_t i = 0; i < cols; ++i)
      for (int64_t j = 0; j < cols; ++j)
        h[static_cast<size_t>(i * cols + j)] += static_cast<double>(xt[i]) * xt[j];
  }
  for (auto& v : h) v *= 2.0 / static_cast<double>(n);
  return h;
}

// ||W X^T - W_hat X^T||^2 over the n input rows.
inline double output_error(const std::vector<float>& w, const std::vector<float>& w_hat,
                           const std::vector<float>& x, int64_t rows, int64_t cols, int64_t n) {
  double err = 0.0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t t = 0; t < n; ++t) {
      double d = 0.0;
      for (int64_t c = 0; c < cols; ++c)
        d += (static_cast<double>(w[static_cast<size_t>(r * cols + c)]) -
              w_hat[static_cast<size_t>(r * cols + c)]) *
             x[static_cast<size_t>(t * cols + c)];
      err += d * d;
    }
  return err;
}

inline double output_error(const std::vector<float>& w, const QuantizedTensor& q,
                           const std::vector<float>& x, int64_t n) {
  return output_error(w, dequantize_reference(q), x, q.rows(), q.cols(), n);
}

}  // namespace lowbit::quant::testing
