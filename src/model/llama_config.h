// SPDX-License-Identifier: MIT
// LlamaConfig: the shape and numerics of a Llama-family decoder (llama, mistral, qwen2).
// Family differences are fields here, never subclasses.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace lowbit::model {

struct RopeScaling {
  std::string type;  // "" (none), "llama3", "linear"
  double factor = 1.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int64_t original_max_position = 8192;
};

struct LlamaConfig {
  std::string model_type = "llama";
  int64_t dim = 0;         // hidden_size
  int64_t hidden_dim = 0;  // intermediate_size (SwiGLU width)
  int64_t n_layers = 0;
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;
  int64_t head_dim = 0;  // dim / n_heads unless given
  int64_t vocab_size = 0;
  int64_t max_seq_len = 2048;
  double norm_eps = 1e-5;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  bool rope_interleaved = false;  // adjacent-pair RoPE (llama2.c, GGUF llama)
  bool tie_embeddings = false;
  bool qkv_bias = false;
  int32_t bos_id = 1;
  int32_t eos_id = 2;

  int64_t q_dim() const { return n_heads * head_dim; }
  int64_t kv_dim() const { return n_kv_heads * head_dim; }

  // Parses HF config.json keys (see io/model_source.h); throws FormatError naming the
  // missing or invalid field.
  static LlamaConfig from_json(const nlohmann::json& config);
  nlohmann::json to_json() const;

  // Exact parameter counts: all, and the part in the seven linear layers of each block.
  int64_t parameter_count() const;
  int64_t linear_parameter_count() const;

  // Per-pair inverse frequencies [head_dim / 2], with rope scaling applied.
  std::vector<float> rope_inv_freq() const;
};

}  // namespace lowbit::model
