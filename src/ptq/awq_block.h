// SPDX-License-Identifier: MIT
// AWQ on one decoder block: for each scaling group (q/k/v after the attention norm, o after v
// when their shapes match, gate/up after the MLP norm, down after up) search the per-channel
// scale s on the observed inputs, fold it (W <- W diag(s), the preceding norm or linear
// divided by s, so the unquantized block computes exactly what it did), then clip (not q/k)
// and round each linear. The pure searches are in quant/awq.h.
#pragma once

#include <array>
#include <vector>

#include "model/llama_config.h"
#include "model/llama_weights.h"
#include "ptq/input_stats.h"
#include "quant/awq.h"
#include "tensor/quant_format.h"

namespace lowbit::ptq {

struct AwqBlockResult {
  std::array<QuantizedTensor, 7> linears;  // q, k, v, o, gate, up, down (scaled space)
  std::vector<float> attn_norm, ffn_norm;  // divided by the q/k/v and gate/up scales
  // Each linear's quantized weight mapped back to the original input space, Q(W diag(s))
  // diag(s)^-1 (and the row scale folded from the next group), for error reports.
  std::array<std::vector<float>, 7> effective;
  // The scaled f32 weights before clipping and rounding: with the new norms they compute what
  // the block computed before (the fold is exact up to float rounding).
  std::array<std::vector<float>, 7> folded;
  std::array<double, 4> ratios{};  // the chosen r per group (qkv, o, gate_up, down); -1 skipped
};

// `stats` are the inputs of the four linear groups (model::LinearInput order) observed on the
// block as stored; their sampled rows drive the searches.
AwqBlockResult quantize_awq_block(const model::LlamaConfig& config,
                                  const model::BlockWeights& block,
                                  const std::array<const InputStats*, 4>& stats,
                                  const QuantFormat& format, const quant::AwqOptions& options);

}  // namespace lowbit::ptq
