// SPDX-License-Identifier: MIT
// HQQ's half-quadratic zero-point solver (reference: mobiusml/hqq, optimize_weights_proximal;
// ../shared/reference/algorithms.md section 9). Per group, with the scale s fixed:
//   W_q = clamp(round(W / s + z), 0, 2^b - 1);  W_r = s · (W_q - z)
//   W_e = shrink_p(W - W_r, beta)   (sign(x) · max(|x| - |x|^(p-1) / beta, 0): keeps only the
//                                    errors large enough to be outliers under the lp-norm)
//   z   = mean(W_q - (W - W_e) / s) (the zero that fits the outlier-free target exactly)
//   beta *= kappa
// The reference stops all groups together when the tensor's mean |W - W_r| stops falling and
// keeps the last zero; here each group stops on its own and keeps the best zero it evaluated
// (starting from RTN's grid), so no group ends worse than RTN by that measure.
#include "quant/hqq.h"

#include <cfloat>
#include <cmath>
#include <vector>

#include "numerics/half.h"
#include "quant/affine_store.h"
#include "quant/grid.h"
#include "tensor/dequantize.h"
#include "util/check.h"

namespace lowbit::quant {
namespace {

struct Grid {
  float scale;
  float zero;  // f16 value when stored
};

float to_f16(float x) { return f16_to_f32(f32_to_f16(x)); }

inline float encode(float w, const Grid& g, float qmax) {
  float q = round_half_even(w / g.scale + g.zero);
  q = q > qmax ? qmax : q;
  return q >= 0.0f ? q : 0.0f;
}

// Mean |w - decode(encode(w))| over the group.
double mean_abs_error(const float* w, int64_t n, const Grid& g, float qmax) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i)
    sum += std::fabs(w[i] - g.scale * (encode(w[i], g, qmax) - g.zero));
  return sum / static_cast<double>(n);
}

float shrink_lp(float x, float beta, float p) {
  const float a = std::fabs(x);
  if (a == 0.0f) return 0.0f;
  const float t = a - std::pow(a, p - 1.0f) / beta;
  return t > 0.0f ? std::copysign(t, x) : 0.0f;
}

// The stored grid (f16 scale and zero) of one group of n weights.
Grid optimize_group(const float* w, int64_t n, const QuantFormat& f, const HqqOptions& o) {
  const MinMax range = min_max(w, n);
  const AffineParams start = asymmetric_params(range.min, range.max, f.bits, f.scale_dtype);
  const float qmax = start.qmax;
  Grid best{start.scale, start.zero};
  double best_err = mean_abs_error(w, n, best, qmax);
  Grid g = best;
  float beta = o.beta;
  std::vector<float> q(static_cast<size_t>(n)), target(static_cast<size_t>(n));
  for (int it = 0; it < o.iterations; ++it) {
    for (int64_t i = 0; i < n; ++i) {
      q[i] = encode(w[i], g, qmax);
      const float residual = w[i] - g.scale * (q[i] - g.zero);
      target[i] = w[i] - shrink_lp(residual, beta, o.p);
    }
    if (o.optimize_scale) {
      // Least squares target ≈ s · q + m, then z = -m / s.
      double mq = 0, mt = 0;
      for (int64_t i = 0; i < n; ++i) {
        mq += q[i];
        mt += target[i];
      }
      mq /= static_cast<double>(n);
      mt /= static_cast<double>(n);
      double cov = 0, var = 0;
      for (int64_t i = 0; i < n; ++i) {
        cov += (q[i] - mq) * (target[i] - mt);
        var += (q[i] - mq) * (q[i] - mq);
      }
      if (var > 0.0 && cov > 0.0) {
        const float s = to_f16(static_cast<float>(cov / var));
        if (s >= FLT_MIN && std::isfinite(s)) g.scale = s;
      }
    }
    double z = 0.0;
    for (int64_t i = 0; i < n; ++i) z += q[i] - target[i] / g.scale;
    g.zero = to_f16(static_cast<float>(z / static_cast<double>(n)));
    beta *= o.kappa;
    const double err = mean_abs_error(w, n, g, qmax);
    if (err < best_err) {
      best_err = err;
      best = g;
    } else if (o.early_stop) {
      break;
    }
  }
  return best;
}

}  // namespace

QuantizedTensor quantize_hqq(const float* w, int64_t rows, int64_t cols, const QuantFormat& format,
                             const HqqOptions& o, const std::string& name) {
  check_weights(w, rows, cols, format, name);
  LB_CHECK_ARG(format.kind == QuantKind::affine_int && !format.symmetric, "tensor ", name,
               ": HQQ needs an asymmetric integer format, got ", format_name(format));
  LB_CHECK_ARG(o.p > 0.0f && o.p <= 1.0f && o.beta > 0.0f && o.kappa >= 1.0f && o.iterations >= 0,
               "tensor ", name, ": bad HQQ options (need 0 < p <= 1, beta > 0, kappa >= 1, ",
               "iterations >= 0)");
  QuantizedTensor t = allocate_quantized(format, rows, cols);
  const int64_t group = format.group_size > 0 ? std::min<int64_t>(format.group_size, cols) : cols;
  const int64_t per_row = (cols + group - 1) / group;
  const float qmax = static_cast<float>((1 << format.bits) - 1);

  if (format.group_size == kPerTensor) {
    const Grid g = optimize_group(w, rows * cols, format, o);
    store_scale(t, 0, g.scale);
    store_zero(t, 0, g.zero);
    std::vector<uint8_t> codes(static_cast<size_t>(cols));
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t c = 0; c < cols; ++c)
        codes[c] = static_cast<uint8_t>(encode(w[r * cols + c], g, qmax));
      store_row_codes(t, r, codes.data());
    }
    return t;
  }
  auto rows_fn = [&](int64_t r0, int64_t r1) {
    std::vector<uint8_t> codes(static_cast<size_t>(cols));
    for (int64_t r = r0; r < r1; ++r) {
      for (int64_t k = 0; k < per_row; ++k) {
        const int64_t c0 = k * group, c1 = std::min(c0 + group, cols);
        const float* x = w + r * cols;
        const Grid g = optimize_group(x + c0, c1 - c0, format, o);
        const int64_t index = scale_index(format, cols, r, c0);
        store_scale(t, index, g.scale);
        store_zero(t, index, g.zero);
        for (int64_t c = c0; c < c1; ++c) codes[c] = static_cast<uint8_t>(encode(x[c], g, qmax));
      }
      store_row_codes(t, r, codes.data());
    }
  };
  if (o.pool != nullptr)
    o.pool->parallel_for(0, rows, 4, rows_fn);
  else
    rows_fn(0, rows);
  return t;
}

}  // namespace lowbit::quant
