// SPDX-License-Identifier: MIT
// One decoder block (attention + SwiGLU MLP with their RMSNorms and residuals) as a free
// function over hidden states. LlamaModel::forward is a loop over it, and calibration
// (GPTQ, AWQ, SmoothQuant statistics) runs it block by block with an observer that sees the
// input rows of each group of linear layers before they are multiplied.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "kernels/exec_context.h"
#include "model/kv_cache.h"
#include "model/llama_config.h"
#include "model/llama_weights.h"

namespace lowbit::model {

// The inputs the linear layers of a block read: q, k and v share the attention norm's
// output, gate and up the MLP norm's; o reads the attention output, down the SwiGLU product.
enum class LinearInput : uint8_t { qkv, o, gate_up, down };
inline constexpr int kLinearInputs = 4;
const char* linear_input_name(LinearInput input);
// The input each of the 7 linears of linear_tensor_names() reads (q, k, v, o, gate, up, down).
LinearInput linear_input_of(int index);

// Called with `rows` input rows of `cols` values (row-major) for `input` of block `layer`.
using LinearObserver = std::function<void(int64_t layer, LinearInput input, const float* x,
                                          int64_t rows, int64_t cols)>;

// Activation buffers reused across calls.
struct BlockScratch {
  std::vector<float> xn, q, k, v, att, gate, up;
  void reserve(const LlamaConfig& c, int64_t n);
};

// Runs block `layer` on hidden states x [n, dim] at positions start_pos .. start_pos + n - 1,
// in place. Keys and values are stored in `cache` at layer `cache_layer` (earlier positions
// must be there already). `inv_freq` is LlamaConfig::rope_inv_freq().
void run_block(const LlamaConfig& c, const BlockWeights& b, const std::vector<float>& inv_freq,
               int64_t layer, int64_t cache_layer, float* x, int64_t n, int64_t start_pos,
               KvCache& cache, BlockScratch& s, kernels::ExecContext& ctx,
               const LinearObserver* observer = nullptr);

}  // namespace lowbit::model
