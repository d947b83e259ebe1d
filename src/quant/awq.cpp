// SPDX-License-Identifier: MIT
// AWQ scale and clip searches (reference: llm-awq auto_scale.py / auto_clip.py, see
// ../shared/reference/algorithms.md section 6), with x-only scales s = mean|x|^r (llm-awq and
// the paper; AutoAWQ's duo scaling also divides by a weight statistic).
#include "quant/awq.h"

#include <algorithm>
#include <cmath>

#include "numerics/linalg.h"
#include "quant/affine_store.h"
#include "quant/grid.h"
#include "quant/rtn.h"
#include "tensor/dequantize.h"
#include "util/check.h"

namespace lowbit::quant {
namespace {

// Q(W·diag(s))·diag(s)^-1, the fake-quantized weight in the original input space.
std::vector<float> fake_quant_scaled(const AwqLinear& l, int64_t cols, const std::vector<float>& s,
                                     const QuantFormat& format) {
  std::vector<float> scaled(static_cast<size_t>(l.rows * cols));
  for (int64_t r = 0; r < l.rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      scaled[static_cast<size_t>(r * cols + c)] = l.w[r * cols + c] * s[static_cast<size_t>(c)];
  std::vector<float> q =
      dequantize_reference(quantize_rtn(scaled.data(), l.rows, cols, format, l.name));
  for (int64_t r = 0; r < l.rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      q[static_cast<size_t>(r * cols + c)] /= s[static_cast<size_t>(c)];
  return q;
}

std::vector<float> ratio_scales(const float* x_abs_mean, int64_t cols, double r) {
  std::vector<float> s(static_cast<size_t>(cols));
  float lo = 0.0f, hi = 0.0f;
  for (int64_t c = 0; c < cols; ++c) {
    float v = std::pow(x_abs_mean[c], static_cast<float>(r));
    v = std::isfinite(v) ? std::max(v, 1e-4f) : 1.0f;
    s[static_cast<size_t>(c)] = v;
    lo = c == 0 ? v : std::min(lo, v);
    hi = c == 0 ? v : std::max(hi, v);
  }
  const float norm = std::sqrt(hi * lo);
  for (auto& v : s) v /= norm;
  return s;
}

void check_group(const std::vector<AwqLinear>& linears, int64_t cols, const QuantFormat& format) {
  LB_CHECK_ARG(!linears.empty() && cols > 0, "AWQ: empty scaling group");
  for (const AwqLinear& l : linears) {
    LB_CHECK_ARG(format.kind == QuantKind::affine_int, "tensor ", l.name,
                 ": AWQ needs an integer format, got ", format_name(format));
    LB_CHECK_ARG(l.w != nullptr && l.rows > 0, "tensor ", l.name, ": AWQ got no weight");
    check_weights(l.w, l.rows, cols, format, l.name);
  }
}

}  // namespace

std::vector<float> channel_abs_mean(const float* x, int64_t n, int64_t cols) {
  std::vector<double> sum(static_cast<size_t>(cols), 0.0);
  for (int64_t t = 0; t < n; ++t)
    for (int64_t c = 0; c < cols; ++c) sum[static_cast<size_t>(c)] += std::fabs(x[t * cols + c]);
  std::vector<float> mean(static_cast<size_t>(cols));
  for (int64_t c = 0; c < cols; ++c)
    mean[static_cast<size_t>(c)] =
        static_cast<float>(sum[static_cast<size_t>(c)] / static_cast<double>(n));
  return mean;
}

AwqCandidateError awq_output_error(const std::vector<AwqLinear>& linears, int64_t cols,
                                   const float* x, int64_t n) {
  return [&linears, cols, x, n](const std::vector<std::vector<float>>& fake) {
    double err = 0.0;
    for (size_t i = 0; i < linears.size(); ++i) {
      const AwqLinear& l = linears[i];
      std::vector<float> diff(static_cast<size_t>(l.rows * cols));
      for (size_t k = 0; k < diff.size(); ++k) diff[k] = l.w[k] - fake[i][k];
      std::vector<float> out(static_cast<size_t>(n * l.rows));
      sgemm_nt(n, l.rows, cols, x, diff.data(), out.data());
      for (float v : out) err += static_cast<double>(v) * v;
    }
    return err;
  };
}

AwqScaleSearch awq_search_scales(const std::vector<AwqLinear>& linears, int64_t cols,
                                 const float* x_abs_mean, const QuantFormat& format,
                                 const AwqCandidateError& error, const AwqOptions& options) {
  check_group(linears, cols, format);
  LB_CHECK_ARG(options.n_grid >= 1, "AWQ: n_grid must be >= 1");
  for (int64_t c = 0; c < cols; ++c)
    LB_CHECK_ARG(std::isfinite(x_abs_mean[c]) && x_abs_mean[c] >= 0.0f, "tensor ", linears[0].name,
                 ": AWQ input statistic of channel ", c, " is ", x_abs_mean[c]);
  AwqScaleSearch best;
  for (int i = 0; i < options.n_grid; ++i) {
    const double r = static_cast<double>(i) / options.n_grid;
    std::vector<float> s = ratio_scales(x_abs_mean, cols, r);
    std::vector<std::vector<float>> fake;
    for (const AwqLinear& l : linears) fake.push_back(fake_quant_scaled(l, cols, s, format));
    const double e = error(fake);
    if (i == 0) best.error_rtn = e;
    if (i == 0 || e < best.error) {
      best.error = e;
      best.ratio = r;
      best.scales = std::move(s);
    }
  }
  return best;
}

std::vector<float> awq_clip(const float* w, int64_t rows, int64_t cols, const float* x, int64_t n,
                            const QuantFormat& format, const AwqOptions& options) {
  std::vector<float> out(w, w + rows * cols);
  if (format.group_size == kPerTensor || n <= 0) return out;
  const int64_t group = format.group_size > 0 ? std::min<int64_t>(format.group_size, cols) : cols;
  // Evenly strided input rows, at most clip_max_rows.
  const int64_t stride = std::max<int64_t>(1, n / std::max<int64_t>(1, options.clip_max_rows));
  const int64_t m = (n + stride - 1) / stride;
  const int steps = static_cast<int>(options.max_shrink * options.clip_grid);
  std::vector<float> xg, diff, y(static_cast<size_t>(m * rows)),
      best_err(static_cast<size_t>(rows));
  std::vector<float> best_bound(static_cast<size_t>(rows)), absmax(static_cast<size_t>(rows));
  for (int64_t c0 = 0; c0 < cols; c0 += group) {
    const int64_t g = std::min(group, cols - c0);
    xg.resize(static_cast<size_t>(m * g));
    for (int64_t t = 0; t < m; ++t)
      std::copy(x + t * stride * cols + c0, x + t * stride * cols + c0 + g, xg.begin() + t * g);
    diff.resize(static_cast<size_t>(rows * g));
    for (int64_t r = 0; r < rows; ++r)
      absmax[static_cast<size_t>(r)] = abs_max(w + r * cols + c0, g);
    for (int i = 0; i < std::max(steps, 1); ++i) {
      for (int64_t r = 0; r < rows; ++r) {
        const float bound =
            absmax[static_cast<size_t>(r)] * (1.0f - static_cast<float>(i) / options.clip_grid);
        const float* wr = w + r * cols + c0;
        float lo = 0.0f, hi = 0.0f;
        for (int64_t j = 0; j < g; ++j) {
          const float v = std::clamp(wr[j], -bound, bound);
          lo = j == 0 ? v : std::min(lo, v);
          hi = j == 0 ? v : std::max(hi, v);
        }
        const AffineParams p = affine_params(format, lo, hi);
        for (int64_t j = 0; j < g; ++j) {
          const float v = std::clamp(wr[j], -bound, bound);
          diff[static_cast<size_t>(r * g + j)] = affine_value(affine_code(v, p), p) - wr[j];
        }
        if (i == 0) best_bound[static_cast<size_t>(r)] = bound;
      }
      sgemm_nt(m, rows, g, xg.data(), diff.data(), y.data());
      for (int64_t r = 0; r < rows; ++r) {
        double e = 0.0;
        for (int64_t t = 0; t < m; ++t) e += static_cast<double>(y[t * rows + r]) * y[t * rows + r];
        const auto ef = static_cast<float>(e / static_cast<double>(m));
        if (i == 0 || ef < best_err[static_cast<size_t>(r)]) {
          best_err[static_cast<size_t>(r)] = ef;
          best_bound[static_cast<size_t>(r)] =
              absmax[static_cast<size_t>(r)] * (1.0f - static_cast<float>(i) / options.clip_grid);
        }
      }
    }
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < g; ++j) {
        float& v = out[static_cast<size_t>(r * cols + c0 + j)];
        v = std::clamp(v, -best_bound[static_cast<size_t>(r)], best_bound[static_cast<size_t>(r)]);
      }
  }
  return out;
}

AwqGroupResult quantize_awq_group(const std::vector<AwqLinear>& linears, int64_t cols,
                                  const float* x, int64_t n, const QuantFormat& format,
                                  const AwqOptions& options) {
  check_group(linears, cols, format);
  LB_CHECK_ARG(x != nullptr && n > 0, "tensor ", linears[0].name, ": AWQ needs input rows");
  for (int64_t i = 0; i < n * cols; ++i)
    LB_CHECK_ARG(std::isfinite(x[i]), "tensor ", linears[0].name,
                 ": non-finite calibration input at row ", i / cols);
  AwqGroupResult result;
  const std::vector<float> stat = channel_abs_mean(x, n, cols);
  result.search = awq_search_scales(linears, cols, stat.data(), format,
                                    awq_output_error(linears, cols, x, n), options);
  const std::vector<float>& s = result.search.scales;
  std::vector<float> xs(x, x + n * cols);
  for (int64_t t = 0; t < n; ++t)
    for (int64_t c = 0; c < cols; ++c)
      xs[static_cast<size_t>(t * cols + c)] /= s[static_cast<size_t>(c)];
  for (const AwqLinear& l : linears) {
    std::vector<float> ws(static_cast<size_t>(l.rows * cols));
    for (int64_t r = 0; r < l.rows; ++r)
      for (int64_t c = 0; c < cols; ++c)
        ws[static_cast<size_t>(r * cols + c)] = l.w[r * cols + c] * s[static_cast<size_t>(c)];
    if (l.clip) ws = awq_clip(ws.data(), l.rows, cols, xs.data(), n, format, options);
    result.weights.push_back(quantize_rtn(ws.data(), l.rows, cols, format, l.name));
  }
  return result;
}

}  // namespace lowbit::quant
