// SPDX-License-Identifier: MIT
// LlamaWeights: every tensor of a Llama-family decoder, bound by name from a TensorMap. This is
// the only list of tensor names the model knows (HF naming, see io/model_source.h).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "model/llama_config.h"
#include "tensor/tensor_map.h"

namespace lowbit::model {

struct BlockWeights {
  std::vector<float> attn_norm;   // [dim]
  QuantizedTensor wq;             // [q_dim, dim]
  QuantizedTensor wk;             // [kv_dim, dim]
  QuantizedTensor wv;             // [kv_dim, dim]
  QuantizedTensor wo;             // [dim, q_dim]
  std::vector<float> bq, bk, bv;  // [q_dim], [kv_dim], [kv_dim]; empty without qkv bias
  std::vector<float> ffn_norm;    // [dim]
  QuantizedTensor w_gate;         // [hidden_dim, dim]
  QuantizedTensor w_up;           // [hidden_dim, dim]
  QuantizedTensor w_down;         // [dim, hidden_dim]

  // The seven linears by index in forward order (q, k, v, o, gate, up, down), the order of
  // linear_tensor_names; throws InvalidArgument outside [0, 7).
  QuantizedTensor& linear(int64_t index);
};

struct LlamaWeights {
  QuantizedTensor embed;  // [vocab, dim]
  std::vector<BlockWeights> blocks;
  std::vector<float> final_norm;  // [dim]
  QuantizedTensor lm_head;        // [vocab, dim]; shares embed's buffers when tied

  // Binds and shape-checks every tensor; throws FormatError naming a missing or misshapen one.
  static LlamaWeights bind(const LlamaConfig& config, const TensorMap& tensors);
  // Stored bytes of all tensors (tied head counted once).
  size_t storage_bytes(const LlamaConfig& config) const;
  // Stored bits per weight over the linear layers of the blocks (codes, scales, zero-points).
  double linear_bits_per_weight() const;
};

// Binds and shape-checks the tensors of block `layer` alone (calibration reads one block at a
// time).
BlockWeights bind_block(const LlamaConfig& config, const TensorMap& tensors, int64_t layer);

// The HF names of the linear layers of block `layer`, in forward order
// (q, k, v, o, gate, up, down): the tensors that quantization schemes apply to.
std::vector<std::string> linear_tensor_names(int64_t layer);

// What a set of model tensors costs: stored bits per weight over the block linears and over
// every tensor, and stored bytes of every tensor (a tied head is one tensor, counted once).
// These are the figures every command reports as bits_per_weight / file_bits_per_weight / bytes.
struct TensorSizes {
  double bits_per_weight = 0;
  double file_bits_per_weight = 0;
  size_t bytes = 0;
};
TensorSizes tensor_sizes(const LlamaConfig& config, const TensorMap& tensors);

// Calls fn(name, expected_shape) for every linear-layer weight of the model.
void for_each_linear(const LlamaConfig& config,
                     const std::function<void(const std::string&, const Shape&)>& fn);

}  // namespace lowbit::model
