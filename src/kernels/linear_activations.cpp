// SPDX-License-Identifier: MIT
// W8A8 linear: activations quantized once per call, then tiles of weight rows through the
// per-Isa int8 product (kernels/cpu/int8_gemm.h). LLM.int8()'s outlier columns are zeroed in
// the int8 operand and added back as an f32 product with the dequantized weight columns.
#include "kernels/linear_activations.h"

#include <algorithm>
#include <cmath>

#include "kernels/cpu/int8_gemm.h"
#include "numerics/fp8.h"
#include "tensor/scale_reader.h"

namespace lowbit::kernels {

namespace {

// Output rows per task: M == 1 streams weights (small tiles keep both threads busy); M > 1
// reuses each tile of weight rows across all M activation rows.
constexpr int64_t kDecodeRowsPerTask = 16;
constexpr int64_t kPrefillRowsPerTask = 64;
// Activation rows quantized per task.
constexpr int64_t kQuantizeRowsPerTask = 16;

std::vector<float> weight_scales(const QuantizedTensor& w) {
  const int64_t n = w.rows();
  std::vector<float> out(static_cast<size_t>(n));
  const ScaleReader reader = ScaleReader::of(w);
  if (w.format.group_size == kPerTensor) {
    std::fill(out.begin(), out.end(), reader.at(0));
  } else {
    reader.read(0, n, out.data());
  }
  return out;
}

float max_abs(const float* x, int64_t count) {
  float amax = 0.0f;
  for (int64_t i = 0; i < count; ++i) amax = std::max(amax, std::fabs(x[i]));
  return amax;
}

// Columns in which any row reaches the threshold (LLM.int8()'s outlier features).
std::vector<int64_t> outlier_columns(const float* x, int64_t m, int64_t k, float threshold) {
  std::vector<uint8_t> hit(static_cast<size_t>(k), 0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < k; ++j)
      if (std::fabs(x[i * k + j]) >= threshold) hit[j] = 1;
  std::vector<int64_t> cols;
  for (int64_t j = 0; j < k; ++j)
    if (hit[j]) cols.push_back(j);
  return cols;
}

}  // namespace

void linear_int8(const float* x, int64_t m, const QuantizedTensor& w, const float* bias, float* y,
                 ExecContext& ctx) {
  const int64_t n = w.rows(), k = w.cols();
  const ActivationQuant& act = w.act;

  // The int8 operand's source: x itself, or a copy with the outlier columns zeroed.
  std::vector<int64_t> outliers;
  std::vector<float> inliers;
  const float* src = x;
  if (act.kind == ActQuantKind::int8_outlier_split) {
    outliers = outlier_columns(x, m, k, act.threshold);
    ctx.stats.outlier_split_calls += 1;
    ctx.stats.outlier_split_columns += k;
    ctx.stats.outlier_split_routed += static_cast<int64_t>(outliers.size());
    if (!outliers.empty()) {
      inliers.assign(x, x + m * k);
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j : outliers) inliers[i * k + j] = 0.0f;
      src = inliers.data();
    }
  }

  float static_scale = 0.0f;  // <= 0: per-row dynamic
  if (act.kind == ActQuantKind::int8_tensor_static) {
    static_scale = act.scale;
  } else if (act.kind == ActQuantKind::int8_tensor_dynamic) {
    // An all-zero input keeps scale 0, which quantizes per row to the same zeros.
    static_scale = max_abs(src, m * k) / 127.0f;
  }
  std::vector<int8_t> a(static_cast<size_t>(m * k));
  std::vector<float> a_scales(static_cast<size_t>(m));
  std::vector<int32_t> a_sums(static_cast<size_t>(m));
  const cpu::Int8Kernels& kernels = cpu::int8_kernels(ctx.isa);
  const int64_t row_tasks = (m + kQuantizeRowsPerTask - 1) / kQuantizeRowsPerTask;
  ctx.pool->parallel_for(0, row_tasks, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t r0 = t * kQuantizeRowsPerTask;
      const int64_t rows = std::min(m, r0 + kQuantizeRowsPerTask) - r0;
      kernels.quantize_rows(src + r0 * k, rows, k, static_scale, a.data() + r0 * k,
                            a_scales.data() + r0, a_sums.data() + r0);
    }
  });

  const std::vector<float> w_scales = weight_scales(w);
  const int64_t per_task = m == 1 ? kDecodeRowsPerTask : kPrefillRowsPerTask;
  const int64_t tasks = (n + per_task - 1) / per_task;
  const uint8_t* codes = w.codes.data();
  ctx.pool->parallel_for(0, tasks, 1, [&](int64_t t0, int64_t t1) {
    std::vector<float> column;  // one weight row's outlier columns, dequantized
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t r0 = t * per_task;
      const int64_t r1 = std::min(n, r0 + per_task);
      kernels.gemm(a.data(), a_scales.data(), a_sums.data(), m, codes, w_scales.data(), r0, r1, k,
                   y, n);
      if (!outliers.empty()) {
        column.resize(outliers.size());
        for (int64_t r = r0; r < r1; ++r) {
          for (size_t c = 0; c < outliers.size(); ++c)
            column[c] = w_scales[r] * (static_cast<float>(codes[r * k + outliers[c]]) - 128.0f);
          for (int64_t i = 0; i < m; ++i) {
            float sum = 0.0f;
            for (size_t c = 0; c < outliers.size(); ++c) sum += x[i * k + outliers[c]] * column[c];
            y[i * n + r] += sum;
          }
        }
      }
      if (bias != nullptr)
        for (int64_t i = 0; i < m; ++i)
          for (int64_t r = r0; r < r1; ++r) y[i * n + r] += bias[r];
    }
  });
}

std::vector<float> round_to_fp8(const float* x, int64_t m, int64_t k, const ActivationQuant& act,
                                ExecContext& ctx) {
  std::vector<float> out(static_cast<size_t>(m * k));
  const int64_t row_tasks = (m + kQuantizeRowsPerTask - 1) / kQuantizeRowsPerTask;
  ctx.pool->parallel_for(0, row_tasks, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t i = t0 * kQuantizeRowsPerTask; i < std::min(m, t1 * kQuantizeRowsPerTask); ++i) {
      const float* row = x + i * k;
      const float scale =
          act.kind == ActQuantKind::fp8_tensor_static ? act.scale : max_abs(row, k) / kE4M3Max;
      float* dst = out.data() + i * k;
      if (!(scale > 0.0f)) {
        std::fill(dst, dst + k, 0.0f);
        continue;
      }
      const float inv = 1.0f / scale;
      for (int64_t j = 0; j < k; ++j) dst[j] = e4m3_to_f32(f32_to_e4m3(row[j] * inv)) * scale;
    }
  });
  return out;
}

}  // namespace lowbit::kernels
