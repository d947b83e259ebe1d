// SPDX-License-Identifier: MIT
#include "ptq/awq_block.h"

#include "kernels/kernels.h"
#include "model/block_forward.h"
#include "quant/rtn.h"
#include "util/check.h"

namespace lowbit::ptq {

namespace {

// One scaling group: the linears reading one input, and what precedes that input.
struct Group {
  std::vector<int> members;  // indices into the block's 7 linears
  model::LinearInput input;
};

}  // namespace

AwqBlockResult quantize_awq_block(const model::LlamaConfig& c, const model::BlockWeights& block,
                                  const std::array<const InputStats*, 4>& stats,
                                  const QuantFormat& format, const quant::AwqOptions& options) {
  const QuantizedTensor* stored[7] = {&block.wq,     &block.wk,   &block.wv,    &block.wo,
                                      &block.w_gate, &block.w_up, &block.w_down};
  std::array<std::vector<float>, 7> w;  // the f32 weights, scaled as folding goes on
  for (size_t i = 0; i < 7; ++i) w[i] = kernels::dequantize_all(*stored[i]);
  std::array<std::vector<float>, 7> col_scale;  // the s each linear's input columns got
  std::array<std::vector<float>, 7> row_scale;  // 1/s folded into its output rows (v, up)
  AwqBlockResult out;
  out.attn_norm = block.attn_norm;
  out.ffn_norm = block.ffn_norm;
  const std::array<Group, 4> groups = {
      Group{{0, 1, 2}, model::LinearInput::qkv}, Group{{3}, model::LinearInput::o},
      Group{{4, 5}, model::LinearInput::gate_up}, Group{{6}, model::LinearInput::down}};
  std::array<std::vector<float>, 4> group_scales;
  for (size_t g = 0; g < groups.size(); ++g) {
    const Group& group = groups[g];
    const InputStats& st = *stats[static_cast<size_t>(group.input)];
    const int64_t cols = st.cols();
    // o can be scaled only when each of its input channels is one v output channel (no GQA
    // head sharing); otherwise it is clipped and rounded unscaled, as the reference does.
    if (group.input == model::LinearInput::o && c.kv_dim() != c.q_dim()) {
      out.ratios[g] = -1;
      continue;
    }
    std::vector<quant::AwqLinear> linears;
    for (const int i : group.members)
      linears.push_back({"linear", w[static_cast<size_t>(i)].data(), stored[i]->rows(), true});
    const std::vector<float> x_mean = st.abs_mean();
    const quant::AwqScaleSearch search = quant::awq_search_scales(
        linears, cols, x_mean.data(), format,
        quant::awq_output_error(linears, cols, st.samples().data(), st.sample_rows()), options);
    out.ratios[g] = search.ratio;
    const std::vector<float>& s = search.scales;
    group_scales[g] = s;
    // Fold: the group's columns times s, what precedes the input divided by s.
    for (const int i : group.members) {
      auto& wi = w[static_cast<size_t>(i)];
      const int64_t rows = stored[i]->rows();
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t j = 0; j < cols; ++j)
          wi[static_cast<size_t>(r * cols + j)] *= s[static_cast<size_t>(j)];
      col_scale[static_cast<size_t>(i)] = s;
    }
    const auto divide_rows = [&](int index) {
      auto& wi = w[static_cast<size_t>(index)];
      const int64_t in = stored[index]->cols();
      for (int64_t r = 0; r < cols; ++r)
        for (int64_t j = 0; j < in; ++j)
          wi[static_cast<size_t>(r * in + j)] /= s[static_cast<size_t>(r)];
      row_scale[static_cast<size_t>(index)] = s;
    };
    switch (group.input) {
      case model::LinearInput::qkv:
        for (int64_t j = 0; j < cols; ++j)
          out.attn_norm[static_cast<size_t>(j)] /= s[static_cast<size_t>(j)];
        break;
      case model::LinearInput::gate_up:
        for (int64_t j = 0; j < cols; ++j)
          out.ffn_norm[static_cast<size_t>(j)] /= s[static_cast<size_t>(j)];
        break;
      case model::LinearInput::o:
        divide_rows(2);  // v
        break;
      case model::LinearInput::down:
        divide_rows(5);  // up
        break;
    }
  }
  for (size_t i = 0; i < 7; ++i) out.folded[i] = w[i];
  // Clip (not q and k: their errors meet in q.k, not in this layer's output) and round.
  for (size_t i = 0; i < 7; ++i) {
    const model::LinearInput input = model::linear_input_of(static_cast<int>(i));
    const InputStats& st = *stats[static_cast<size_t>(input)];
    const int64_t rows = stored[i]->rows(), cols = stored[i]->cols();
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
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < cols; ++j) {
        float& v = e[static_cast<size_t>(r * cols + j)];
        if (!col_scale[i].empty()) v /= col_scale[i][static_cast<size_t>(j)];
        if (!row_scale[i].empty()) v *= row_scale[i][static_cast<size_t>(r)];
      }
    out.effective[i] = std::move(e);
  }
  return out;
}

}  // namespace lowbit::ptq
