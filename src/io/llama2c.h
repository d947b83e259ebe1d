// SPDX-License-Identifier: MIT
// llama2.c "legacy" (version 0) checkpoint reader: an HF config plus HF-named f32 tensors
// borrowed from the memory-mapped file.
//
// Layout (little-endian): 7 int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads,
// vocab_size, seq_len; a negative vocab_size means a separate classifier), then f32 arrays,
// each row-major [out, in], grouped by kind across layers:
//   token_embedding [vocab, dim]      rms_att [L, dim]          wq [L, dim, dim]
//   wk [L, kv_dim, dim]               wv [L, kv_dim, dim]       wo [L, dim, dim]
//   rms_ffn [L, dim]                  w1 [L, hidden, dim]       w2 [L, dim, hidden]
//   w3 [L, hidden, dim]               rms_final [dim]
//   freq_cis_real [seq_len, head_size / 2]   freq_cis_imag [seq_len, head_size / 2]
//   wcls [vocab, dim] (only when vocab_size < 0)
// with head_size = dim / n_heads and kv_dim = n_kv_heads * head_size. The RoPE tables are
// optional here (a file without them is accepted when its size matches exactly) and are not
// returned: RoPE is recomputed from rope_theta. w1/w2/w3 are gate/down/up.
#pragma once

#include <filesystem>

#include <nlohmann/json.hpp>

#include "tensor/tensor_map.h"

namespace lowbit::io {

struct Llama2cModel {
  // hidden_size, intermediate_size, num_hidden_layers, num_attention_heads,
  // num_key_value_heads, vocab_size, max_position_embeddings (= seq_len), rms_norm_eps 1e-5,
  // rope_theta 10000, tie_word_embeddings (vocab_size > 0), bos 1, eos 2, model_type llama,
  // lowbit_rope_interleaved true (llama2.c rotates adjacent pairs).
  nlohmann::json config;
  TensorMap tensors;  // HF names; lm_head.weight only when the classifier is separate
};

// Reads the header only, checking it against the file size as read_llama2c does.
nlohmann::json read_llama2c_config(const std::filesystem::path& path);

// Throws FormatError naming the file when the header is invalid or the file size is not the
// one the header implies (the message gives expected and actual sizes).
Llama2cModel read_llama2c(const std::filesystem::path& path);

}  // namespace lowbit::io
