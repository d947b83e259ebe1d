// SPDX-License-Identifier: MIT
// Hugging Face Llama tensor names, built in one place so every reader (HF, GGUF, llama2.c,
// lowbit checkpoints) produces exactly the same names for the model layer to bind.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace lowbit::io {

// Whole-model tensors.
inline constexpr std::string_view kEmbedTokens = "model.embed_tokens.weight";  // [vocab, dim]
inline constexpr std::string_view kFinalNorm = "model.norm.weight";            // [dim]
inline constexpr std::string_view kLmHead = "lm_head.weight";  // [vocab, dim]; absent when tied

// Per-layer suffixes, appended to "model.layers.N.".
inline constexpr std::string_view kInputNorm = "input_layernorm.weight";          // [dim]
inline constexpr std::string_view kQProj = "self_attn.q_proj.weight";             // [q_dim, dim]
inline constexpr std::string_view kKProj = "self_attn.k_proj.weight";             // [kv_dim, dim]
inline constexpr std::string_view kVProj = "self_attn.v_proj.weight";             // [kv_dim, dim]
inline constexpr std::string_view kOProj = "self_attn.o_proj.weight";             // [dim, q_dim]
inline constexpr std::string_view kQBias = "self_attn.q_proj.bias";               // [q_dim]
inline constexpr std::string_view kKBias = "self_attn.k_proj.bias";               // [kv_dim]
inline constexpr std::string_view kVBias = "self_attn.v_proj.bias";               // [kv_dim]
inline constexpr std::string_view kPostNorm = "post_attention_layernorm.weight";  // [dim]
inline constexpr std::string_view kGateProj = "mlp.gate_proj.weight";  // [hidden, dim] (w1)
inline constexpr std::string_view kUpProj = "mlp.up_proj.weight";      // [hidden, dim] (w3)
inline constexpr std::string_view kDownProj = "mlp.down_proj.weight";  // [dim, hidden] (w2)

// "model.layers.<layer>.<suffix>".
std::string layer_tensor(int layer, std::string_view suffix);

// The HF name of a GGUF "llama" tensor (token_embd.weight, blk.3.attn_q.weight, ...), or
// nullopt when the name is not one of the mapped ones.
std::optional<std::string> hf_name_from_gguf(std::string_view gguf_name);

// The inverse: the GGUF "llama" name of an HF Llama tensor name, or nullopt when it has none.
std::optional<std::string> gguf_name_from_hf(std::string_view hf_name);

// Orders names with digit runs compared as numbers, so model.layers.2 sorts before
// model.layers.10 (used to list tensors in a stable, readable order).
bool natural_less(std::string_view a, std::string_view b);

}  // namespace lowbit::io
