// SPDX-License-Identifier: MIT
#include "ptq/smooth_block.h"

#include <algorithm>
#include <cmath>

#include "kernels/kernels.h"
#include "numerics/fp8.h"
#include "numerics/linalg.h"
#include "ptq/scale_fold.h"
#include "quant/rtn.h"
#include "util/check.h"

namespace lowbit::ptq {

namespace {

constexpr int kAlphaSteps = 20;  // alpha in {0, 0.05, ..., 1}

// Every stride-th sampled row, at most `limit` of them (the samples are already strided over
// all calibration rows, so this keeps them spread over the windows).
std::vector<float> search_rows(const InputStats& st, int64_t limit) {
  const int64_t have = st.sample_rows(), cols = st.cols();
  const int64_t stride = std::max<int64_t>(1, (have + limit - 1) / limit);
  std::vector<float> out;
  for (int64_t r = 0; r < have; r += stride)
    out.insert(out.end(), st.samples().begin() + r * cols, st.samples().begin() + (r + 1) * cols);
  return out;
}

// The static activation scale for inputs whose largest |x| is amax: the int8 or e4m3 range.
float static_scale(const ActivationQuant& act, float amax) {
  const float range = act.is_fp8() ? kE4M3Max : 127.0f;
  return amax > 0.0f ? amax / range : 1.0f;
}

// Linear i of `fold` rounded to the scheme with its activation quantization, and its relative
// output error on the search rows `x` (original space: x / col_scale goes in, the output rows
// are multiplied back by row_scale) against `reference` = x W_original^T.
struct Trial {
  QuantizedTensor q;
  double err = 0, norm = 0;
  double relative() const { return norm > 0 ? err / norm : 0.0; }
};

Trial try_linear(const BlockFold& fold, int i, const std::vector<float>& x_max,
                 const std::vector<float>& x, const std::vector<float>& reference,
                 const quant::Scheme& scheme, kernels::ExecContext& ctx) {
  const auto ui = static_cast<size_t>(i);
  const int64_t n = fold.rows[ui], cols = fold.cols[ui];
  const int64_t m = static_cast<int64_t>(x.size()) / cols;
  const std::vector<float>& cs = fold.col_scale[ui];
  const std::vector<float>& rs = fold.row_scale[ui];
  float amax = 0.0f;
  for (int64_t j = 0; j < cols; ++j)
    amax = std::max(
        amax, x_max[static_cast<size_t>(j)] / (cs.empty() ? 1.0f : cs[static_cast<size_t>(j)]));
  std::vector<float> scaled = x;
  if (!cs.empty())
    for (int64_t r = 0; r < m; ++r)
      for (int64_t j = 0; j < cols; ++j)
        scaled[static_cast<size_t>(r * cols + j)] /= cs[static_cast<size_t>(j)];
  Trial t;
  t.q = quant::quantize_rtn(fold.w[ui].data(), n, cols, scheme.format, "smoothquant");
  t.q.act = scheme.act;
  if (t.q.act.is_static()) t.q.act.scale = static_scale(t.q.act, amax);
  if (m == 0) return t;
  std::vector<float> y(static_cast<size_t>(m * n));
  kernels::linear(scaled.data(), m, t.q, nullptr, y.data(), ctx);
  for (int64_t r = 0; r < m; ++r)
    for (int64_t c = 0; c < n; ++c) {
      double v = y[static_cast<size_t>(r * n + c)];
      if (!rs.empty()) v *= rs[static_cast<size_t>(c)];
      const double ref = reference[static_cast<size_t>(r * n + c)];
      t.err += (v - ref) * (v - ref);
      t.norm += ref * ref;
    }
  return t;
}

}  // namespace

std::vector<float> smooth_scales(const std::vector<float>& x_max, const std::vector<float>& w_max,
                                 double alpha) {
  LB_CHECK(x_max.size() == w_max.size(), "smooth_scales: ", x_max.size(), " activation maxima, ",
           w_max.size(), " weight maxima");
  std::vector<float> s(x_max.size(), 1.0f);
  for (size_t j = 0; j < s.size(); ++j) {
    if (!(x_max[j] > 0.0f) || !(w_max[j] > 0.0f)) continue;
    const double v = std::pow(static_cast<double>(x_max[j]), alpha) /
                     std::pow(static_cast<double>(w_max[j]), 1.0 - alpha);
    s[j] = static_cast<float>(std::clamp(v, 1e-5, 1e5));
  }
  return s;
}

SmoothBlockResult quantize_smooth_block(const model::LlamaConfig& c,
                                        const model::BlockWeights& block,
                                        const std::array<const InputStats*, 4>& stats,
                                        const quant::Scheme& scheme, const SmoothOptions& options,
                                        kernels::ExecContext& ctx) {
  BlockFold fold(block);
  const BlockFold original = fold;
  SmoothBlockResult out;
  const std::array<ScaleGroup, 4>& groups = scale_groups();
  // Per input: max |x| per channel, the search rows, and each linear's unquantized output.
  std::array<std::vector<float>, 4> x_max, rows;
  std::array<std::vector<float>, 7> reference;
  for (const ScaleGroup& group : groups) {
    const auto gi = static_cast<size_t>(group.input);
    const InputStats& st = *stats[gi];
    x_max[gi] = st.abs_max();
    rows[gi] = search_rows(st, options.search_rows);
    const int64_t m = static_cast<int64_t>(rows[gi].size()) / st.cols();
    for (const int i : group.members) {
      const auto ui = static_cast<size_t>(i);
      reference[ui].resize(static_cast<size_t>(m * fold.rows[ui]));
      if (m > 0)
        sgemm_nt(m, fold.rows[ui], st.cols(), rows[gi].data(), fold.w[ui].data(),
                 reference[ui].data());
    }
  }
  // Choose and fold each group's scales (the search sees the folds of the groups before it).
  for (size_t g = 0; g < groups.size(); ++g) {
    const ScaleGroup& group = groups[g];
    const auto gi = static_cast<size_t>(group.input);
    out.alphas[g] = -1;
    if (!options.smooth || !group_foldable(c, group.input)) continue;
    const std::vector<float> w_max = fold.column_abs_max(group);
    std::vector<double> alphas;
    if (options.alpha >= 0) {
      alphas.push_back(options.alpha);
    } else {
      for (int a = 0; a <= kAlphaSteps; ++a) alphas.push_back(static_cast<double>(a) / kAlphaSteps);
    }
    double best_error = -1;
    std::vector<float> best_s;
    for (const double alpha : alphas) {
      std::vector<float> s = smooth_scales(x_max[gi], w_max, alpha);
      if (alphas.size() > 1) {
        BlockFold trial = fold;
        trial.fold(group, s);
        double err = 0, norm = 0;
        for (const int i : group.members) {
          const Trial t = try_linear(trial, i, x_max[gi], rows[gi],
                                     reference[static_cast<size_t>(i)], scheme, ctx);
          err += t.err;
          norm += t.norm;
        }
        const double e = norm > 0 ? err / norm : 0.0;
        if (best_error >= 0 && e >= best_error) continue;
        best_error = e;
      }
      out.alphas[g] = alpha;
      best_s = std::move(s);
    }
    fold.fold(group, best_s);
  }
  // Round every linear from its final scaled weights; report against the unsmoothed scheme.
  for (int i = 0; i < 7; ++i) {
    const auto ui = static_cast<size_t>(i);
    const auto gi = static_cast<size_t>(model::linear_input_of(i));
    Trial t = try_linear(fold, i, x_max[gi], rows[gi], reference[ui], scheme, ctx);
    out.error[ui] = t.relative();
    out.linears[ui] = std::move(t.q);
    out.plain_error[ui] =
        try_linear(original, i, x_max[gi], rows[gi], reference[ui], scheme, ctx).relative();
  }
  out.attn_norm = fold.attn_norm;
  out.ffn_norm = fold.ffn_norm;
  out.folded = fold.w;
  return out;
}

}  // namespace lowbit::ptq
