// SPDX-License-Identifier: MIT
#include "ptq/awq_block.h"

#include "kernels/kernels.h"
#include "model/block_forward.h"
#include "ptq/scale_fold.h"
#include "quant/rtn.h"
#include "util/check.h"

namespace lowbit::ptq {

AwqBlockResult quantize_awq_block(const model::LlamaConfig& c, const model::BlockWeights& block,
                                  const std::array<const InputStats*, 4>& stats,
                                  const QuantFormat& format, const quant::AwqOptions& options) {
  BlockFold fold(block);
  AwqBlockResult out;
  const std::array<ScaleGroup, 4>& groups = scale_groups();
  for (size_t g = 0; g < groups.size(); ++g) {
    const ScaleGroup& group = groups[g];
    const InputStats& st = *stats[static_cast<size_t>(group.input)];
    const int64_t cols = st.cols();
    // An unfoldable o is clipped and rounded unscaled, as the reference does.
    if (!group_foldable(c, group.input)) {
      out.ratios[g] = -1;
      continue;
    }
    std::vector<quant::AwqLinear> linears;
    for (const int i : group.members)
      linears.push_back({"linear", fold.w[static_cast<size_t>(i)].data(),
                         fold.rows[static_cast<size_t>(i)], true});
    const std::vector<float> x_mean = st.abs_mean();
    const quant::AwqScaleSearch search = quant::awq_search_scales(
        linears, cols, x_mean.data(), format,
        quant::awq_output_error(linears, cols, st.samples().data(), st.sample_rows()), options);
    out.ratios[g] = search.ratio;
    fold.fold(group, search.scales);
  }
  out.attn_norm = fold.attn_norm;
  out.ffn_norm = fold.ffn_norm;
  const auto& w = fold.w;
  const auto& col_scale = fold.col_scale;
  for (size_t i = 0; i < 7; ++i) out.folded[i] = w[i];
  // Clip (not q and k: their errors meet in q.k, not in this layer's output) and round.
  for (size_t i = 0; i < 7; ++i) {
    const model::LinearInput input = model::linear_input_of(static_cast<int>(i));
    const InputStats& st = *stats[static_cast<size_t>(input)];
    const int64_t rows = fold.rows[i], cols = fold.cols[i];
    std::vector<float> x = st.samples();  // into the scaled space: x / s
    if (!col_scale[i].empty())
      for (size_t k = 0; k < x.size(); ++k) x[k] /= col_scale[i][k % static_cast<size_t>(cols)];
    const bool clip = i != 0 && i != 1;
    const std::vector<float> clipped =
        clip ? quant::awq_clip(w[i].data(), rows, cols, x.data(), st.sample_rows(), format, options)
             : w[i];
    out.linears[i] = quant::quantize_rtn(clipped.data(), rows, cols, format, "awq");
    // Back to the original space for reports.
    std::vector<float> e = kernels::dequantize_all(out.linears[i]);
    fold.unfold(static_cast<int>(i), e);
    out.effective[i] = std::move(e);
  }
  return out;
}

}  // namespace lowbit::ptq
