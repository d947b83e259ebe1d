// SPDX-License-Identifier: MIT
// GPTQ, following the reference algorithm (IST-DASLab gptq.py, see
// ../shared/reference/algorithms.md section 7):
//   1. dead inputs: H_ii = 0 -> H_ii = 1, W[:, i] = 0;
//   2. static grids (act-order, static groups, per-channel, per-tensor) from W before the sweep;
//   3. act-order: permute columns of W and rows/columns of H by descending diag(H);
//   4. H += damp · mean(diag H) · I; U = upper Cholesky factor of H^-1 (raise damp on failure);
//   5. sweep column c: q = Q(w_c); e = (w_c - q) / U_cc; w_j -= e · U_cj for j > c, inside the
//      block now and for later blocks with one GEMM per block (lazy batch updates).
// Dynamic group grids are computed when the sweep reaches a group's first column from that
// group's fully updated weights. (The reference reads them from a copy that lacks the updates
// of earlier columns of the same block, so its grids depend on the block size when groups are
// smaller than blocks; here blocks never cut a group that starts inside them, which makes the
// result independent of the block size and equal to the unblocked sweep.)
// Rows are independent once U is known: each row's sweep only reads U.
#include "quant/gptq.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <type_traits>
#include <vector>

#include "numerics/linalg.h"
#include "numerics/nf4.h"
#include "quant/affine_store.h"
#include "quant/gptq_trellis.h"
#include "quant/grid.h"
#include "quant/rtn.h"
#include "tensor/dequantize.h"
#include "util/check.h"
#include "util/log.h"

namespace lowbit::quant {
namespace {

// One group's grid: an affine (scale, zero) or an NF4 block absmax (format.kind says which).
struct GroupGrid {
  AffineParams affine;
  float absmax = 0.0f;
};

bool is_nf4(const QuantFormat& f) { return f.kind == QuantKind::nf4; }

uint8_t grid_code(const QuantFormat& f, const GroupGrid& g, float w) {
  return is_nf4(f) ? nf4_code(w, g.absmax) : affine_code(w, g.affine);
}

// The value the reference decoder gives for code q.
float grid_value(const QuantFormat& f, const GroupGrid& g, uint8_t q) {
  return is_nf4(f) ? g.absmax * kNf4Codebook[q] : affine_value(q, g.affine);
}

// Squared error of x[0, n) on grid g, each value's weighted by its input's importance
// diag(H)_j (the expected squared input of that column: an error on a column the layer barely
// reads costs little), as an importance matrix weighs llama.cpp's block scale search.
double grid_error(const float* x, int64_t n, const QuantFormat& f, const GroupGrid& g,
                  const double* importance) {
  double err = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(x[i]) - grid_value(f, g, grid_code(f, g, x[i]));
    err += importance[i] * d * d;
  }
  return err;
}

// The grid of one group: min/max (RTN's grid; the absmax for NF4), or with mse_clip the best
// of 80 ranges shrunk in 1% steps by importance-weighted squared error.
GroupGrid group_params(const float* x, int64_t n, const QuantFormat& f, bool mse_clip,
                       const double* importance) {
  const MinMax range = min_max(x, n);
  const float absmax = std::max(-range.min, range.max);
  auto fit = [&](float shrink) {
    GroupGrid g;
    if (is_nf4(f))
      g.absmax = shrink * absmax;
    else
      g.affine = affine_params(f, shrink * range.min, shrink * range.max);
    return g;
  };
  GroupGrid best = fit(1.0f);
  if (!mse_clip) return best;
  double best_err = grid_error(x, n, f, best, importance);
  for (int i = 1; i < 80; ++i) {
    const GroupGrid g = fit(1.0f - static_cast<float>(i) / 100.0f);
    const double err = grid_error(x, n, f, g, importance);
    if (err < best_err) {
      best_err = err;
      best = g;
    }
  }
  return best;
}

struct Layout {
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t group = 0;  // columns per group; cols for per-channel and per-tensor
  int64_t groups_per_row = 1;
  bool dynamic = false;  // group grids computed during the sweep
};

// The end of the block that starts at `start`: `size` columns, at most `limit`, cut before a
// dynamic group that starts inside the block and would reach past it (its grid needs all of its
// columns updated by every earlier column, and columns past the block are updated lazily).
int64_t block_end(const Layout& l, int64_t start, int64_t size, int64_t limit) {
  int64_t end = std::min(start + size, limit);
  if (l.dynamic && end < limit) {
    const int64_t last_start = (end - 1) / l.group * l.group;
    if (last_start > start && last_start + l.group > end) end = last_start;
  }
  return end;
}

// Columns per inner block: the per-row sweep updates only inside an inner block; the rest of
// the outer block is updated with one small GEMM per inner block. Cuts the scalar triangular
// work of the sweep by block_size / kInnerBlock.
constexpr int64_t kInnerBlock = 32;

template <typename T>
struct Sweep {
  const Layout& layout;
  const QuantFormat& format;
  const GptqOptions& options;
  const std::vector<int64_t>& perm;       // sweep position -> original column
  const std::vector<double>& importance;  // diag(H), original column order
  std::vector<T> w;                       // [rows, cols] in sweep order, updated in place
  std::vector<T> u;                       // [cols, cols] upper factor of H^-1, sweep order
  std::vector<GroupGrid>& params;         // [rows * groups_per_row], original group order
  std::vector<uint8_t> codes;             // [rows, cols] original column order
  std::vector<double> row_loss;

  // Sweeps columns [i1, i2) of rows [r0, r1), updating only inside [i1, i2); err[r * ld + c -
  // i1] receives the scaled errors.
  void sweep_rows(int64_t r0, int64_t r1, int64_t i1, int64_t i2, T* err, int64_t ld) {
    const int64_t cols = layout.cols;
    std::vector<float> group_values(static_cast<size_t>(layout.group));
    std::vector<double> group_importance(static_cast<size_t>(layout.group));
    for (int64_t r = r0; r < r1; ++r) {
      T* wr = w.data() + r * cols;
      T* er = err + r * ld;
      double loss = 0.0;
      for (int64_t c = i1; c < i2; ++c) {
        const int64_t orig = perm[static_cast<size_t>(c)];
        GroupGrid& p = params[static_cast<size_t>(r * layout.groups_per_row + orig / layout.group)];
        if (layout.dynamic && c % layout.group == 0) {
          const int64_t n = std::min(layout.group, cols - c);
          for (int64_t j = 0; j < n; ++j) {
            group_values[static_cast<size_t>(j)] = static_cast<float>(wr[c + j]);
            group_importance[static_cast<size_t>(j)] =
                importance[static_cast<size_t>(perm[static_cast<size_t>(c + j)])];
          }
          p = group_params(group_values.data(), n, format, options.mse_clip,
                           group_importance.data());
        }
        const uint8_t q = grid_code(format, p, static_cast<float>(wr[c]));
        const T e = (wr[c] - static_cast<T>(grid_value(format, p, q))) /
                    u[static_cast<size_t>(c * cols + c)];
        loss += static_cast<double>(e) * static_cast<double>(e);
        const T* __restrict ur = u.data() + c * cols;
        T* __restrict wj = wr;
        for (int64_t j = c + 1; j < i2; ++j) wj[j] -= e * ur[j];
        er[c - i1] = e;
        codes[static_cast<size_t>(r * cols + orig)] = q;
      }
      row_loss[static_cast<size_t>(r)] += loss / 2.0;
    }
  }

  // W[:, c0:c1] -= Err[:, e0:e0+k] · U[u0:u0+k, c0:c1]; err rows have stride `ld`.
  void update(const T* err, int64_t ld, int64_t e0, int64_t k, int64_t u0, int64_t c0, int64_t c1) {
    const int64_t cols = layout.cols;
    const T* ub = u.data() + u0 * cols + c0;
    if constexpr (std::is_same_v<T, float>)
      sgemm(false, false, layout.rows, c1 - c0, k, -1.0f, err + e0, ld, ub, cols, 1.0f,
            w.data() + c0, cols);
    else
      dgemm(false, false, layout.rows, c1 - c0, k, -1.0, err + e0, ld, ub, cols, 1.0, w.data() + c0,
            cols);
  }

  void run() {
    const int64_t rows = layout.rows, cols = layout.cols;
    codes.assign(static_cast<size_t>(rows * cols), 0);
    row_loss.assign(static_cast<size_t>(rows), 0.0);
    std::vector<T> err(static_cast<size_t>(rows * options.block_size));
    for (int64_t i1 = 0, i2 = 0; i1 < cols; i1 = i2) {
      i2 = block_end(layout, i1, options.block_size, cols);
      const int64_t width = i2 - i1;
      for (int64_t j1 = i1, j2 = i1; j1 < i2; j1 = j2) {
        j2 = block_end(layout, j1, kInnerBlock, i2);
        // err[:, j1 - i1 : j2 - i1] (row stride width) receives this inner block's errors.
        auto fn = [&](int64_t r0, int64_t r1) {
          sweep_rows(r0, r1, j1, j2, err.data() + (j1 - i1), width);
        };
        if (options.pool != nullptr)
          options.pool->parallel_for(0, rows, 8, fn);
        else
          fn(0, rows);
        if (j2 < i2) update(err.data(), width, j1 - i1, j2 - j1, j1, j2, i2);
      }
      if (i2 < cols) update(err.data(), width, 0, width, i1, i2, cols);
    }
  }
};

GptqResult rtn_fallback(const float* w, int64_t rows, int64_t cols, const QuantFormat& format,
                        const std::string& name, const std::string& why) {
  log_warning("tensor ", name, ": GPTQ ", why, "; quantizing it with RTN instead");
  GptqResult result;
  result.weight = quantize_rtn(w, rows, cols, format, name);
  result.rtn_fallback = true;
  return result;
}

void check_options(const QuantFormat& format, const GptqOptions& o, const std::string& name) {
  LB_CHECK_ARG(format.kind == QuantKind::affine_int ||
                   (format.kind == QuantKind::nf4 && !format.double_quant),
               "tensor ", name,
               ": GPTQ needs an integer or NF4 (without double quantization) format, got ",
               format_name(format));
  LB_CHECK_ARG(o.block_size > 0, "tensor ", name, ": GPTQ block size must be > 0, got ",
               o.block_size);
  LB_CHECK_ARG(std::isfinite(o.damp) && o.damp > 0.0, "tensor ", name,
               ": GPTQ damp must be > 0, got ", o.damp);
  LB_CHECK_ARG(o.max_damp_raises >= 0, "tensor ", name, ": GPTQ damp raises must be >= 0");
}

}  // namespace

GptqResult quantize_gptq(const float* w_in, int64_t rows, int64_t cols, const double* h_in,
                         const QuantFormat& format, const GptqOptions& options,
                         const std::string& name) {
  if (format.kind == QuantKind::trellis)
    return quantize_gptq_trellis(w_in, rows, cols, h_in, format, options, name);
  check_weights(w_in, rows, cols, format, name);
  check_options(format, options, name);
  const auto n2 = static_cast<size_t>(cols * cols);
  for (size_t i = 0; i < n2; ++i)
    if (!std::isfinite(h_in[i]))
      return rtn_fallback(w_in, rows, cols, format, name, "Hessian is not finite");

  GptqResult result;
  std::vector<float> w(w_in, w_in + rows * cols);
  std::vector<double> h(h_in, h_in + n2);
  for (int64_t i = 0; i < cols; ++i) {
    if (h[static_cast<size_t>(i * cols + i)] != 0.0) continue;
    h[static_cast<size_t>(i * cols + i)] = 1.0;
    for (int64_t r = 0; r < rows; ++r) w[static_cast<size_t>(r * cols + i)] = 0.0f;
    ++result.dead_columns;
  }

  Layout layout;
  layout.rows = rows;
  layout.cols = cols;
  layout.group = format.group_size > 0 ? std::min<int64_t>(format.group_size, cols) : cols;
  layout.groups_per_row = (cols + layout.group - 1) / layout.group;
  const bool act_order = options.act_order;
  layout.dynamic = format.group_size > 0 && !act_order && !options.static_groups;

  std::vector<double> importance(static_cast<size_t>(cols));
  for (int64_t i = 0; i < cols; ++i)
    importance[static_cast<size_t>(i)] = h[static_cast<size_t>(i * cols + i)];
  std::vector<GroupGrid> params(static_cast<size_t>(rows * layout.groups_per_row));
  if (format.group_size == kPerTensor) {
    std::vector<double> every(static_cast<size_t>(rows * cols));
    for (int64_t r = 0; r < rows; ++r)
      std::copy(importance.begin(), importance.end(), every.begin() + r * cols);
    const GroupGrid p = group_params(w.data(), rows * cols, format, options.mse_clip, every.data());
    std::fill(params.begin(), params.end(), p);
  } else if (!layout.dynamic) {
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t g = 0; g < layout.groups_per_row; ++g) {
        const int64_t c0 = g * layout.group;
        params[static_cast<size_t>(r * layout.groups_per_row + g)] =
            group_params(w.data() + r * cols + c0, std::min(layout.group, cols - c0), format,
                         options.mse_clip, importance.data() + c0);
      }
  }

  std::vector<int64_t> perm(static_cast<size_t>(cols));
  std::iota(perm.begin(), perm.end(), 0);
  if (act_order) {
    std::stable_sort(perm.begin(), perm.end(), [&](int64_t a, int64_t b) {
      return h[static_cast<size_t>(a * cols + a)] > h[static_cast<size_t>(b * cols + b)];
    });
    std::vector<double> hp(n2);
    for (int64_t i = 0; i < cols; ++i)
      for (int64_t j = 0; j < cols; ++j)
        hp[static_cast<size_t>(i * cols + j)] = h[static_cast<size_t>(
            perm[static_cast<size_t>(i)] * cols + perm[static_cast<size_t>(j)])];
    h.swap(hp);
  }

  std::vector<uint8_t> codes;
  std::vector<double> row_loss;
  // Factorizes in T (the reference works in f32; double when asked) and sweeps.
  auto factor_and_sweep = [&](auto zero) -> bool {
    using T = decltype(zero);
    double mean_diag = 0.0;
    for (int64_t i = 0; i < cols; ++i) mean_diag += h[static_cast<size_t>(i * cols + i)];
    mean_diag /= static_cast<double>(cols);
    Sweep<T> s{layout, format, options, perm, importance, {}, {}, params, {}, {}};
    bool factorized = false;
    double damp = options.damp;
    for (int raise = 0; raise <= options.max_damp_raises && !factorized; ++raise, damp *= 10.0) {
      s.u.assign(h.begin(), h.end());
      for (int64_t i = 0; i < cols; ++i)
        s.u[static_cast<size_t>(i * cols + i)] =
            static_cast<T>(h[static_cast<size_t>(i * cols + i)] + damp * mean_diag);
      factorized = mean_diag > 0.0 && inverse_cholesky_upper(s.u.data(), cols);
      if (factorized) {
        result.damp = damp;
        result.damp_raises = raise;
      }
    }
    if (!factorized) return false;
    h.clear();
    h.shrink_to_fit();
    s.w.resize(static_cast<size_t>(rows * cols));
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < cols; ++j)
        s.w[static_cast<size_t>(r * cols + j)] =
            static_cast<T>(w[static_cast<size_t>(r * cols + perm[static_cast<size_t>(j)])]);
    s.run();
    codes = std::move(s.codes);
    row_loss = std::move(s.row_loss);
    return true;
  };
  const bool ok = options.double_precision ? factor_and_sweep(0.0) : factor_and_sweep(0.0f);
  if (!ok)
    return rtn_fallback(
        w_in, rows, cols, format, name,
        concat("could not factorize the Hessian even with damp ",
               options.damp * std::pow(10.0, options.max_damp_raises), " x mean diagonal"));

  result.loss = std::accumulate(row_loss.begin(), row_loss.end(), 0.0);
  QuantizedTensor t = allocate_quantized(format, rows, cols);
  for (int64_t r = 0; r < rows; ++r) {
    store_row_codes(t, r, codes.data() + r * cols);
    for (int64_t g = 0; g < (format.group_size == kPerTensor ? 1 : layout.groups_per_row); ++g) {
      if (format.group_size == kPerTensor && r > 0) break;
      const int64_t index = scale_index(format, cols, r, g * layout.group);
      const GroupGrid& p = params[static_cast<size_t>(r * layout.groups_per_row + g)];
      store_scale(t, index, is_nf4(format) ? p.absmax : p.affine.scale);
      if (format.has_zeros()) store_zero(t, index, p.affine.zero);
    }
  }
  result.weight = std::move(t);
  return result;
}

GptqResult quantize_gptq(const float* w, int64_t rows, int64_t cols, const float* h,
                         const QuantFormat& format, const GptqOptions& options,
                         const std::string& name) {
  LB_CHECK_ARG(cols > 0, "tensor ", name, ": cannot quantize shape [", rows, ", ", cols, "]");
  const std::vector<double> hd(h, h + cols * cols);
  return quantize_gptq(w, rows, cols, hd.data(), format, options, name);
}

}  // namespace lowbit::quant
