// SPDX-License-Identifier: MIT
// Binding LlamaWeights from HF-named tensors.
#include "model/llama_weights.h"

#include <cmath>

#include "kernels/kernels.h"
#include "util/check.h"

namespace lowbit::model {
namespace {

std::string layer_name(int64_t layer, const char* suffix) {
  return concat("model.layers.", layer, ".", suffix);
}

const QuantizedTensor& expect(const TensorMap& tensors, const std::string& name,
                              const Shape& shape) {
  const QuantizedTensor& t = tensors.at(name);
  t.check_finite(name);
  const bool same = t.shape == shape || (shape.size() == 1 && t.numel() == shape[0]);
  LB_CHECK_FORMAT(same, "tensor ", name, " has shape ", shape_string(t.shape), ", expected ",
                  shape_string(shape));
  return t;
}

// Small vectors (norms, biases) are kept as f32 whatever their stored format.
std::vector<float> as_f32(const TensorMap& tensors, const std::string& name, int64_t n) {
  const QuantizedTensor& t = expect(tensors, name, {n});
  std::vector<float> out(static_cast<size_t>(n));
  kernels::dequantize_rows(t, 0, t.rows(), out.data());
  for (float v : out) LB_CHECK_FORMAT(std::isfinite(v), "tensor ", name, " has non-finite values");
  return out;
}

}  // namespace

QuantizedTensor& BlockWeights::linear(int64_t index) {
  QuantizedTensor* const slots[7] = {&wq, &wk, &wv, &wo, &w_gate, &w_up, &w_down};
  LB_CHECK_ARG(index >= 0 && index < 7, "block linear index ", index, " is outside [0, 7)");
  return *slots[index];
}

std::vector<std::string> linear_tensor_names(int64_t layer) {
  return {
      layer_name(layer, "self_attn.q_proj.weight"), layer_name(layer, "self_attn.k_proj.weight"),
      layer_name(layer, "self_attn.v_proj.weight"), layer_name(layer, "self_attn.o_proj.weight"),
      layer_name(layer, "mlp.gate_proj.weight"),    layer_name(layer, "mlp.up_proj.weight"),
      layer_name(layer, "mlp.down_proj.weight")};
}

void for_each_linear(const LlamaConfig& c,
                     const std::function<void(const std::string&, const Shape&)>& fn) {
  for (int64_t l = 0; l < c.n_layers; ++l) {
    const auto names = linear_tensor_names(l);
    const Shape shapes[7] = {{c.q_dim(), c.dim},   {c.kv_dim(), c.dim},   {c.kv_dim(), c.dim},
                             {c.dim, c.q_dim()},   {c.hidden_dim, c.dim}, {c.hidden_dim, c.dim},
                             {c.dim, c.hidden_dim}};
    for (size_t i = 0; i < names.size(); ++i) fn(names[i], shapes[i]);
  }
}

BlockWeights bind_block(const LlamaConfig& c, const TensorMap& tensors, int64_t l) {
  BlockWeights b;
  const auto names = linear_tensor_names(l);
  b.attn_norm = as_f32(tensors, layer_name(l, "input_layernorm.weight"), c.dim);
  b.ffn_norm = as_f32(tensors, layer_name(l, "post_attention_layernorm.weight"), c.dim);
  b.wq = expect(tensors, names[0], {c.q_dim(), c.dim});
  b.wk = expect(tensors, names[1], {c.kv_dim(), c.dim});
  b.wv = expect(tensors, names[2], {c.kv_dim(), c.dim});
  b.wo = expect(tensors, names[3], {c.dim, c.q_dim()});
  b.w_gate = expect(tensors, names[4], {c.hidden_dim, c.dim});
  b.w_up = expect(tensors, names[5], {c.hidden_dim, c.dim});
  b.w_down = expect(tensors, names[6], {c.dim, c.hidden_dim});
  if (c.qkv_bias) {
    b.bq = as_f32(tensors, layer_name(l, "self_attn.q_proj.bias"), c.q_dim());
    b.bk = as_f32(tensors, layer_name(l, "self_attn.k_proj.bias"), c.kv_dim());
    b.bv = as_f32(tensors, layer_name(l, "self_attn.v_proj.bias"), c.kv_dim());
  }
  return b;
}

TensorSizes tensor_sizes(const LlamaConfig& config, const TensorMap& tensors) {
  double params = 0, bytes = 0, linear_params = 0, linear_bytes = 0;
  for (const std::string& name : tensors.names()) {
    params += static_cast<double>(tensors.at(name).numel());
    bytes += static_cast<double>(tensors.at(name).storage_bytes());
  }
  for_each_linear(config, [&](const std::string& name, const Shape&) {
    linear_params += static_cast<double>(tensors.at(name).numel());
    linear_bytes += static_cast<double>(tensors.at(name).storage_bytes());
  });
  return {linear_params > 0 ? 8 * linear_bytes / linear_params : 0,
          params > 0 ? 8 * bytes / params : 0, static_cast<size_t>(bytes)};
}

LlamaWeights LlamaWeights::bind(const LlamaConfig& c, const TensorMap& tensors) {
  LlamaWeights w;
  w.embed = expect(tensors, "model.embed_tokens.weight", {c.vocab_size, c.dim});
  w.final_norm = as_f32(tensors, "model.norm.weight", c.dim);
  if (c.tie_embeddings && !tensors.contains("lm_head.weight")) {
    w.lm_head = w.embed;  // buffers are shared, not copied
  } else {
    w.lm_head = expect(tensors, "lm_head.weight", {c.vocab_size, c.dim});
  }
  w.blocks.reserve(static_cast<size_t>(c.n_layers));
  for (int64_t l = 0; l < c.n_layers; ++l) w.blocks.push_back(bind_block(c, tensors, l));
  return w;
}

size_t LlamaWeights::storage_bytes(const LlamaConfig& c) const {
  size_t bytes = embed.storage_bytes() + final_norm.size() * 4;
  if (!(c.tie_embeddings && lm_head.codes.data() == embed.codes.data()))
    bytes += lm_head.storage_bytes();
  for (const auto& b : blocks) {
    for (const QuantizedTensor* t : {&b.wq, &b.wk, &b.wv, &b.wo, &b.w_gate, &b.w_up, &b.w_down})
      bytes += t->storage_bytes();
    bytes += (b.attn_norm.size() + b.ffn_norm.size() + b.bq.size() + b.bk.size() + b.bv.size()) * 4;
  }
  return bytes;
}

double LlamaWeights::linear_bits_per_weight() const {
  double bits = 0, weights = 0;
  for (const auto& b : blocks)
    for (const QuantizedTensor* t : {&b.wq, &b.wk, &b.wv, &b.wo, &b.w_gate, &b.w_up, &b.w_down}) {
      bits += 8.0 * static_cast<double>(t->storage_bytes());
      weights += static_cast<double>(t->numel());
    }
  return weights > 0 ? bits / weights : 0.0;
}

}  // namespace lowbit::model
