// SPDX-License-Identifier: MIT
// W8A8 / FP8 calibration on one decoder block: static activation scales from the observed
// inputs, and SmoothQuant. SmoothQuant moves activation outliers into the weights with
// s_j = max|X_j|^alpha / max|W_j|^(1 - alpha) per input channel (max|W_j| over every linear
// reading that input), folded into the preceding RMSNorm (q/k/v, gate/up), into v's rows (o,
// when no GQA sharing) and up's rows (down), so the unquantized block is unchanged; then the
// linears are rounded to the scheme's weight format with its activation quantization.
// alpha < 0 searches alpha per group (0, 0.05, ..., 1) for the smallest output error of the
// group's linears as they will run (kernels::linear on the sampled calibration rows).
#pragma once

#include <array>
#include <vector>

#include "kernels/exec_context.h"
#include "model/llama_config.h"
#include "model/llama_weights.h"
#include "ptq/input_stats.h"
#include "quant/scheme.h"

namespace lowbit::ptq {

struct SmoothOptions {
  bool smooth = true;         // false: static scales only (w8a8-static, fp8-static)
  double alpha = 0.5;         // < 0: searched per group
  int64_t search_rows = 512;  // sampled input rows the search and the reports run on
};

struct SmoothBlockResult {
  std::array<QuantizedTensor, 7> linears;  // q, k, v, o, gate, up, down, with scheme.act set
  std::vector<float> attn_norm, ffn_norm;  // divided by the q/k/v and gate/up scales
  std::array<double, 4> alphas{};          // per group (qkv, o, gate_up, down); -1 not smoothed
  // Relative output error ||X W^T - Q(X) Q(W)^T||^2 / ||X W^T||^2 on the search rows, for the
  // result and for the scheme without smoothing.
  std::array<double, 7> error{}, plain_error{};
  // The smoothed f32 weights (before rounding): with the new norms the block computes what
  // it computed before.
  std::array<std::vector<float>, 7> folded;
};

// `stats` are the inputs of the four linear groups (model::LinearInput order) observed on the
// block as stored. `scheme` has a weight format and activation kind (w8a8*, fp8*).
SmoothBlockResult quantize_smooth_block(const model::LlamaConfig& config,
                                        const model::BlockWeights& block,
                                        const std::array<const InputStats*, 4>& stats,
                                        const quant::Scheme& scheme, const SmoothOptions& options,
                                        kernels::ExecContext& ctx);

// SmoothQuant's per-channel scales for one group: max|X_j|^alpha / max|W_j|^(1-alpha),
// 1 where either maximum is 0, clamped to [1e-5, 1e5].
std::vector<float> smooth_scales(const std::vector<float>& x_max, const std::vector<float>& w_max,
                                 double alpha);

}  // namespace lowbit::ptq
