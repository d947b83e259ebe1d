// SPDX-License-Identifier: MIT
// Per-channel scale folding inside one decoder block, shared by AWQ and SmoothQuant: a linear
// group's input columns are multiplied by s and what produces that input (the preceding
// RMSNorm, or v's / up's output rows) is divided by s, so the unquantized block computes what
// it did before (up to float rounding). Works on f32 copies; the source is never changed.
#pragma once

#include <array>
#include <vector>

#include "model/block_forward.h"
#include "model/llama_config.h"
#include "model/llama_weights.h"

namespace lowbit::ptq {

// One scaling group: the linears (indices into q, k, v, o, gate, up, down) reading one input.
struct ScaleGroup {
  std::vector<int> members;
  model::LinearInput input;
};
// qkv after the attention norm, o after v, gate/up after the MLP norm, down after up.
const std::array<ScaleGroup, 4>& scale_groups();
// o can be scaled only when each of its input channels is one v output channel (no GQA head
// sharing); the other groups always.
bool group_foldable(const model::LlamaConfig& c, model::LinearInput input);

struct BlockFold {
  // Starts from the block's weights dequantized to f32 and its norms.
  explicit BlockFold(const model::BlockWeights& block);
  std::array<std::vector<float>, 7> w;  // [rows, cols] each, scaled as folding goes on
  std::array<int64_t, 7> rows{}, cols{};
  std::vector<float> attn_norm, ffn_norm;
  std::array<std::vector<float>, 7> col_scale;  // the s each linear's input columns got
  std::array<std::vector<float>, 7> row_scale;  // the s its output rows were divided by (v, up)

  // Folds s (one per input column of `group`); the group must be foldable.
  void fold(const ScaleGroup& group, const std::vector<float>& s);
  // The largest |w| of each input column over the group's linears (SmoothQuant's max|W_j|).
  std::vector<float> column_abs_max(const ScaleGroup& group) const;
  // A weight in the scaled space mapped back to linear i's original space (divide columns by
  // col_scale, multiply rows by row_scale), for error reports.
  void unfold(int i, std::vector<float>& weight) const;
};

}  // namespace lowbit::ptq
