// SPDX-License-Identifier: MIT
#include "ptq/scale_fold.h"

#include <algorithm>
#include <cmath>

#include "kernels/kernels.h"
#include "util/check.h"

namespace lowbit::ptq {

const std::array<ScaleGroup, 4>& scale_groups() {
  static const std::array<ScaleGroup, 4> groups = {
      ScaleGroup{{0, 1, 2}, model::LinearInput::qkv}, ScaleGroup{{3}, model::LinearInput::o},
      ScaleGroup{{4, 5}, model::LinearInput::gate_up}, ScaleGroup{{6}, model::LinearInput::down}};
  return groups;
}

bool group_foldable(const model::LlamaConfig& c, model::LinearInput input) {
  return input != model::LinearInput::o || c.kv_dim() == c.q_dim();
}

BlockFold::BlockFold(const model::BlockWeights& block)
    : attn_norm(block.attn_norm), ffn_norm(block.ffn_norm) {
  const QuantizedTensor* stored[7] = {&block.wq,     &block.wk,   &block.wv,    &block.wo,
                                      &block.w_gate, &block.w_up, &block.w_down};
  for (size_t i = 0; i < 7; ++i) {
    w[i] = kernels::dequantize_all(*stored[i]);
    rows[i] = stored[i]->rows();
    cols[i] = stored[i]->cols();
  }
}

void BlockFold::fold(const ScaleGroup& group, const std::vector<float>& s) {
  const auto n = static_cast<int64_t>(s.size());
  for (const int i : group.members) {
    auto& wi = w[static_cast<size_t>(i)];
    LB_CHECK(cols[static_cast<size_t>(i)] == n, "fold: scale count ", n, " != input width");
    for (int64_t r = 0; r < rows[static_cast<size_t>(i)]; ++r)
      for (int64_t j = 0; j < n; ++j)
        wi[static_cast<size_t>(r * n + j)] *= s[static_cast<size_t>(j)];
    col_scale[static_cast<size_t>(i)] = s;
  }
  const auto divide_rows = [&](int index) {
    auto& wi = w[static_cast<size_t>(index)];
    const int64_t in = cols[static_cast<size_t>(index)];
    LB_CHECK(rows[static_cast<size_t>(index)] == n, "fold: scale count ", n, " != rows");
    for (int64_t r = 0; r < n; ++r)
      for (int64_t j = 0; j < in; ++j)
        wi[static_cast<size_t>(r * in + j)] /= s[static_cast<size_t>(r)];
    row_scale[static_cast<size_t>(index)] = s;
  };
  switch (group.input) {
    case model::LinearInput::qkv:
      for (int64_t j = 0; j < n; ++j)
        attn_norm[static_cast<size_t>(j)] /= s[static_cast<size_t>(j)];
      break;
    case model::LinearInput::gate_up:
      for (int64_t j = 0; j < n; ++j) ffn_norm[static_cast<size_t>(j)] /= s[static_cast<size_t>(j)];
      break;
    case model::LinearInput::o:
      divide_rows(2);  // v
      break;
    case model::LinearInput::down:
      divide_rows(5);  // up
      break;
  }
}

std::vector<float> BlockFold::column_abs_max(const ScaleGroup& group) const {
  const int64_t n = cols[static_cast<size_t>(group.members.front())];
  std::vector<float> out(static_cast<size_t>(n), 0.0f);
  for (const int i : group.members) {
    const auto& wi = w[static_cast<size_t>(i)];
    for (int64_t r = 0; r < rows[static_cast<size_t>(i)]; ++r)
      for (int64_t j = 0; j < n; ++j)
        out[static_cast<size_t>(j)] =
            std::max(out[static_cast<size_t>(j)], std::fabs(wi[static_cast<size_t>(r * n + j)]));
  }
  return out;
}

void BlockFold::unfold(int i, std::vector<float>& weight) const {
  const auto& cs = col_scale[static_cast<size_t>(i)];
  const auto& rs = row_scale[static_cast<size_t>(i)];
  const int64_t n = cols[static_cast<size_t>(i)];
  for (int64_t r = 0; r < rows[static_cast<size_t>(i)]; ++r)
    for (int64_t j = 0; j < n; ++j) {
      float& v = weight[static_cast<size_t>(r * n + j)];
      if (!cs.empty()) v /= cs[static_cast<size_t>(j)];
      if (!rs.empty()) v *= rs[static_cast<size_t>(r)];
    }
}

}  // namespace lowbit::ptq
