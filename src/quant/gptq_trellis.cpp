// SPDX-License-Identifier: MIT
#include "quant/gptq_trellis.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "numerics/half.h"
#include "numerics/linalg.h"
#include "numerics/trellis_code.h"
#include "quant/affine_store.h"
#include "quant/trellis.h"
#include "tensor/dequantize.h"
#include "util/check.h"
#include "util/log.h"

namespace lowbit::quant {
namespace {

TrellisShape shape_of(const QuantFormat& f) { return {f.state_bits, f.bits}; }

float f16_round(float v) { return f16_to_f32(f32_to_f16(v)); }

// Codes column x[rows] run by run: states[rows] and the decoded values q[rows]. Runs are
// independent, so the pool splits them; each run is written by one task.
void code_column(const float* x, const float* scales, int64_t rows, const TrellisShape& shape,
                 uint32_t* states, float* q, ThreadPool* pool) {
  const int64_t runs = (rows + kTrellisRun - 1) / kTrellisRun;
  auto fn = [&](int64_t r0, int64_t r1) {
    thread_local TrellisScratch scratch;
    for (int64_t run = r0; run < r1; ++run) {
      const int64_t a = run * kTrellisRun, n = std::min(kTrellisRun, rows - a);
      trellis_encode(x + a, scales + a, n, shape, states + a, scratch);
      for (int64_t i = a; i < a + n; ++i) q[i] = scales[i] * trellis_value(states[i]);
    }
  };
  if (pool != nullptr && runs > 1)
    pool->parallel_for(0, runs, 1, fn);
  else
    fn(0, runs);
}

// The rotated weight w'[rows, cols] (in place), its row scales (f16 values), and the weight's
// dead columns zeroed.
struct Rotated {
  std::vector<float> w;
  std::vector<float> scales;
};

Rotated rotate_and_scale(const float* w_in, int64_t rows, int64_t cols, const double* h,
                         const QuantFormat& format, ThreadPool* pool, const std::string& name) {
  Rotated out;
  out.w.assign(w_in, w_in + rows * cols);
  if (h != nullptr)
    for (int64_t i = 0; i < cols; ++i)
      if (h[i * cols + i] == 0.0)
        for (int64_t r = 0; r < rows; ++r) out.w[static_cast<size_t>(r * cols + i)] = 0.0f;
  trellis_rotation(cols).rotate(out.w.data(), rows);
  std::vector<float> rms(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    double s = 0.0;
    for (int64_t c = 0; c < cols; ++c) {
      const double v = out.w[static_cast<size_t>(r * cols + c)];
      s += v * v;
    }
    rms[static_cast<size_t>(r)] = static_cast<float>(std::sqrt(s / static_cast<double>(cols)));
  }
  // The codebook has unit variance; the best reproduction of a Gaussian column is a little
  // wider than the column (the walk cannot follow every value). The gain is measured on up to
  // 16 evenly spaced columns, coded alone.
  const int64_t sample = std::min<int64_t>(cols, 16);
  std::vector<float> col(static_cast<size_t>(rows)), q(static_cast<size_t>(rows)),
      trial(static_cast<size_t>(rows));
  std::vector<uint32_t> st(static_cast<size_t>(rows));
  float best_gain = 1.0f;
  double best_err = std::numeric_limits<double>::infinity();
  for (int i = 0; i <= 6; ++i) {
    const float gain = 0.90f + 0.05f * static_cast<float>(i);
    for (int64_t r = 0; r < rows; ++r)
      trial[static_cast<size_t>(r)] = f16_round(gain * rms[static_cast<size_t>(r)]);
    double err = 0.0;
    for (int64_t j = 0; j < sample; ++j) {
      const int64_t c = j * cols / sample;
      for (int64_t r = 0; r < rows; ++r)
        col[static_cast<size_t>(r)] = out.w[static_cast<size_t>(r * cols + c)];
      code_column(col.data(), trial.data(), rows, shape_of(format), st.data(), q.data(), pool);
      for (int64_t r = 0; r < rows; ++r) {
        const double d =
            static_cast<double>(col[static_cast<size_t>(r)]) - q[static_cast<size_t>(r)];
        err += d * d;
      }
    }
    if (err < best_err) {
      best_err = err;
      best_gain = gain;
    }
  }
  out.scales.resize(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    out.scales[static_cast<size_t>(r)] = f16_round(best_gain * rms[static_cast<size_t>(r)]);
    LB_CHECK_ARG(std::isfinite(out.scales[static_cast<size_t>(r)]), "tensor ", name, ": row ", r,
                 "'s scale ", best_gain * rms[static_cast<size_t>(r)],
                 " is beyond the f16 range of a trellis scale");
  }
  return out;
}

// The tensor of states[cols, rows] (state of W'(r, c) at c * rows + r) and the row scales.
QuantizedTensor store(const QuantFormat& f, int64_t rows, int64_t cols,
                      const std::vector<uint32_t>& states, const std::vector<float>& scales) {
  QuantizedTensor t = allocate_quantized(f, rows, cols);
  uint8_t* codes = t.codes.mutable_data();
  for (int64_t run = 0; run * kTrellisRun < rows; ++run) {
    const int64_t a = run * kTrellisRun, n = std::min(kTrellisRun, rows - a);
    for (int64_t c = 0; c < cols; ++c)
      trellis_write_stream(states.data() + c * rows + a, n, f.bits, f.state_bits,
                           codes + trellis_stream_offset(rows, cols, f.bits, f.state_bits, run, c));
  }
  for (int64_t r = 0; r < rows; ++r) store_scale(t, r, scales[static_cast<size_t>(r)]);
  return t;
}

void check_format(const QuantFormat& f, int64_t rows, int64_t cols, const std::string& name) {
  LB_CHECK_ARG(f.kind == QuantKind::trellis, "tensor ", name,
               ": not a trellis format: ", format_name(f));
  validate_format(f);
  LB_CHECK_ARG(rows > 0 && cols > 0, "tensor ", name, ": cannot quantize shape [", rows, ", ", cols,
               "]");
}

}  // namespace

QuantizedTensor quantize_trellis(const float* w, int64_t rows, int64_t cols,
                                 const QuantFormat& format, ThreadPool* pool,
                                 const std::string& name) {
  check_format(format, rows, cols, name);
  check_weights(w, rows, cols, format, name);
  const Rotated rot = rotate_and_scale(w, rows, cols, nullptr, format, pool, name);
  std::vector<uint32_t> states(static_cast<size_t>(rows * cols));
  std::vector<float> col(static_cast<size_t>(rows)), q(static_cast<size_t>(rows));
  for (int64_t c = 0; c < cols; ++c) {
    for (int64_t r = 0; r < rows; ++r)
      col[static_cast<size_t>(r)] = rot.w[static_cast<size_t>(r * cols + c)];
    code_column(col.data(), rot.scales.data(), rows, shape_of(format), states.data() + c * rows,
                q.data(), pool);
  }
  return store(format, rows, cols, states, rot.scales);
}

GptqResult quantize_gptq_trellis(const float* w, int64_t rows, int64_t cols, const double* h_in,
                                 const QuantFormat& format, const GptqOptions& options,
                                 const std::string& name) {
  check_format(format, rows, cols, name);
  check_weights(w, rows, cols, format, name);
  LB_CHECK_ARG(options.block_size > 0, "tensor ", name, ": GPTQ block size must be > 0, got ",
               options.block_size);
  LB_CHECK_ARG(std::isfinite(options.damp) && options.damp > 0.0, "tensor ", name,
               ": GPTQ damp must be > 0, got ", options.damp);
  GptqResult result;
  auto fallback = [&](const std::string& why) {
    log_warning("tensor ", name, ": GPTQ ", why, "; coding it without feedback instead");
    result.weight = quantize_trellis(w, rows, cols, format, options.pool, name);
    result.rtn_fallback = true;
    return result;
  };
  const auto n2 = static_cast<size_t>(cols * cols);
  for (size_t i = 0; i < n2; ++i)
    if (!std::isfinite(h_in[i])) return fallback("Hessian is not finite");

  std::vector<double> h(h_in, h_in + n2);
  for (int64_t i = 0; i < cols; ++i)
    if (h[static_cast<size_t>(i * cols + i)] == 0.0) {
      h[static_cast<size_t>(i * cols + i)] = 1.0;
      ++result.dead_columns;
    }
  Rotated rot = rotate_and_scale(w, rows, cols, h_in, format, options.pool, name);
  trellis_rotation(cols).rotate_hessian(h.data());

  std::vector<int64_t> perm(static_cast<size_t>(cols));
  std::iota(perm.begin(), perm.end(), 0);
  if (options.act_order)
    std::stable_sort(perm.begin(), perm.end(), [&](int64_t a, int64_t b) {
      return h[static_cast<size_t>(a * cols + a)] > h[static_cast<size_t>(b * cols + b)];
    });
  double mean_diag = 0.0;
  for (int64_t i = 0; i < cols; ++i) mean_diag += h[static_cast<size_t>(i * cols + i)];
  mean_diag /= static_cast<double>(cols);
  std::vector<double> u(n2);
  bool factorized = false;
  double damp = options.damp;
  for (int raise = 0; raise <= options.max_damp_raises && !factorized; ++raise, damp *= 10.0) {
    for (int64_t i = 0; i < cols; ++i)
      for (int64_t j = 0; j < cols; ++j)
        u[static_cast<size_t>(i * cols + j)] = h[static_cast<size_t>(
            perm[static_cast<size_t>(i)] * cols + perm[static_cast<size_t>(j)])];
    for (int64_t i = 0; i < cols; ++i) u[static_cast<size_t>(i * cols + i)] += damp * mean_diag;
    factorized = mean_diag > 0.0 && inverse_cholesky_upper(u.data(), cols);
    if (factorized) {
      result.damp = damp;
      result.damp_raises = raise;
    }
  }
  if (!factorized)
    return fallback(concat("could not factorize the Hessian even with damp ",
                           options.damp * std::pow(10.0, options.max_damp_raises),
                           " x mean diagonal"));
  h = {};
  const std::vector<float> uf(u.begin(), u.end());
  u = {};

  // wt[c, r]: column c (sweep order) of the rotated weight, contiguous.
  std::vector<float> wt(static_cast<size_t>(cols * rows));
  for (int64_t c = 0; c < cols; ++c)
    for (int64_t r = 0; r < rows; ++r)
      wt[static_cast<size_t>(c * rows + r)] =
          rot.w[static_cast<size_t>(r * cols + perm[static_cast<size_t>(c)])];
  rot.w = {};
  std::vector<uint32_t> states(static_cast<size_t>(cols * rows));
  const int64_t bs = options.block_size;
  std::vector<float> err(static_cast<size_t>(std::min(bs, cols) * rows)),
      q(static_cast<size_t>(rows));
  for (int64_t i1 = 0; i1 < cols; i1 += bs) {
    const int64_t i2 = std::min(cols, i1 + bs);
    for (int64_t c = i1; c < i2; ++c) {
      float* x = wt.data() + c * rows;
      code_column(x, rot.scales.data(), rows, shape_of(format),
                  states.data() + perm[static_cast<size_t>(c)] * rows, q.data(), options.pool);
      const float d = uf[static_cast<size_t>(c * cols + c)];
      float* e = err.data() + (c - i1) * rows;
      double loss = 0.0;
      for (int64_t r = 0; r < rows; ++r) {
        e[r] = (x[r] - q[static_cast<size_t>(r)]) / d;
        loss += static_cast<double>(e[r]) * static_cast<double>(e[r]);
      }
      result.loss += loss / 2.0;
      for (int64_t j = c + 1; j < i2; ++j) {
        const float f = uf[static_cast<size_t>(c * cols + j)];
        float* xj = wt.data() + j * rows;
        for (int64_t r = 0; r < rows; ++r) xj[r] -= f * e[r];
      }
    }
    // The columns after the block: wt[i2:, :] -= U[i1:i2, i2:]^T · err.
    if (i2 < cols)
      sgemm(true, false, cols - i2, rows, i2 - i1, -1.0f, uf.data() + i1 * cols + i2, cols,
            err.data(), rows, 1.0f, wt.data() + i2 * rows, rows);
  }
  result.weight = store(format, rows, cols, states, rot.scales);
  return result;
}

}  // namespace lowbit::quant
