// SPDX-License-Identifier: MIT
// HF name builders, the GGUF name table and natural ordering.
#include "io/hf_names.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace lowbit::io {
namespace {

TEST(HfNames, LayerTensor) {
  EXPECT_EQ(layer_tensor(0, kQProj), "model.layers.0.self_attn.q_proj.weight");
  EXPECT_EQ(layer_tensor(31, kDownProj), "model.layers.31.mlp.down_proj.weight");
  EXPECT_EQ(layer_tensor(2, kPostNorm), "model.layers.2.post_attention_layernorm.weight");
}

TEST(HfNames, GgufLlamaNames) {
  const std::vector<std::pair<std::string, std::string>> table = {
      {"token_embd.weight", "model.embed_tokens.weight"},
      {"output_norm.weight", "model.norm.weight"},
      {"output.weight", "lm_head.weight"},
      {"blk.0.attn_norm.weight", "model.layers.0.input_layernorm.weight"},
      {"blk.1.attn_q.weight", "model.layers.1.self_attn.q_proj.weight"},
      {"blk.1.attn_k.weight", "model.layers.1.self_attn.k_proj.weight"},
      {"blk.1.attn_v.weight", "model.layers.1.self_attn.v_proj.weight"},
      {"blk.1.attn_q.bias", "model.layers.1.self_attn.q_proj.bias"},
      {"blk.12.attn_output.weight", "model.layers.12.self_attn.o_proj.weight"},
      {"blk.3.ffn_norm.weight", "model.layers.3.post_attention_layernorm.weight"},
      {"blk.3.ffn_gate.weight", "model.layers.3.mlp.gate_proj.weight"},
      {"blk.3.ffn_up.weight", "model.layers.3.mlp.up_proj.weight"},
      {"blk.3.ffn_down.weight", "model.layers.3.mlp.down_proj.weight"},
  };
  for (const auto& [gguf, hf] : table) EXPECT_EQ(hf_name_from_gguf(gguf), hf) << gguf;
  for (const char* bad :
       {"blk..attn_q.weight", "blk.x.attn_q.weight", "blk.01.attn_q.weight", "blk.1.attn_qq.weight",
        "rope_freqs.weight", "blk.-1.attn_q.weight", "blk.99999999.attn_q.weight", "token_embd"})
    EXPECT_FALSE(hf_name_from_gguf(bad).has_value()) << bad;
}

TEST(HfNames, NaturalOrder) {
  std::vector<std::string> names = {"model.layers.10.a", "model.layers.2.b",  "lm_head.weight",
                                    "model.layers.2.a",  "model.norm.weight", "model.layers.02.a"};
  std::sort(names.begin(), names.end(),
            [](const auto& a, const auto& b) { return natural_less(a, b); });
  EXPECT_EQ(names, (std::vector<std::string>{"lm_head.weight", "model.layers.02.a",
                                             "model.layers.2.a", "model.layers.2.b",
                                             "model.layers.10.a", "model.norm.weight"}));
  EXPECT_FALSE(natural_less("a", "a"));
  EXPECT_TRUE(natural_less("a", "a1"));
}

}  // namespace
}  // namespace lowbit::io
