// SPDX-License-Identifier: MIT
// LlamaConfig parsing, parameter counts and RoPE frequencies.
#include "model/llama_config.h"

#include <gtest/gtest.h>

#include <cmath>

#include "util/error.h"

namespace lowbit::model {
namespace {

nlohmann::json llama2_7b() {
  return {{"hidden_size", 4096},       {"intermediate_size", 11008},  {"num_hidden_layers", 32},
          {"num_attention_heads", 32}, {"num_key_value_heads", 32},   {"vocab_size", 32000},
          {"rms_norm_eps", 1e-5},      {"tie_word_embeddings", false}};
}

TEST(LlamaConfig, ParsesHfKeysAndDefaults) {
  const LlamaConfig c = LlamaConfig::from_json(llama2_7b());
  EXPECT_EQ(c.dim, 4096);
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_EQ(c.kv_dim(), 4096);
  EXPECT_FALSE(c.rope_interleaved);
  EXPECT_DOUBLE_EQ(c.rope_theta, 10000.0);
}

TEST(LlamaConfig, ParameterCountMatchesPublishedLlama2_7B) {
  // Llama-2-7B: 6,738,415,616 parameters (embedding + head untied).
  EXPECT_EQ(LlamaConfig::from_json(llama2_7b()).parameter_count(), 6738415616);
}

TEST(LlamaConfig, GqaAndTiedCounts) {
  nlohmann::json j = llama2_7b();
  j["num_key_value_heads"] = 8;
  j["tie_word_embeddings"] = true;
  const LlamaConfig c = LlamaConfig::from_json(j);
  const int64_t per_layer = 4096 * 4096 * 2 + 4096 * 1024 * 2 + 3 * 4096 * 11008 + 2 * 4096;
  EXPECT_EQ(c.parameter_count(), 32000LL * 4096 + 32 * per_layer + 4096);
}

TEST(LlamaConfig, Llama3RopeScalingKeepsHighFrequencies) {
  nlohmann::json j = llama2_7b();
  j["rope_theta"] = 500000.0;
  j["rope_scaling"] = {{"rope_type", "llama3"},
                       {"factor", 8.0},
                       {"low_freq_factor", 1.0},
                       {"high_freq_factor", 4.0},
                       {"original_max_position_embeddings", 8192}};
  const LlamaConfig c = LlamaConfig::from_json(j);
  const auto f = c.rope_inv_freq();
  ASSERT_EQ(f.size(), 64u);
  // The first pair has wavelength 2*pi < 8192/4: unchanged.
  EXPECT_FLOAT_EQ(f[0], 1.0f);
  // The last pair's wavelength exceeds 8192: divided by the factor.
  const double plain = std::pow(500000.0, -126.0 / 128.0);
  EXPECT_NEAR(f[63], plain / 8.0, plain * 1e-5);
}

TEST(LlamaConfig, MissingAndBadFieldsAreFormatErrors) {
  nlohmann::json j = llama2_7b();
  j.erase("hidden_size");
  EXPECT_THROW(LlamaConfig::from_json(j), FormatError);
  j = llama2_7b();
  j["num_attention_heads"] = -4;
  EXPECT_THROW(LlamaConfig::from_json(j), FormatError);
  j = llama2_7b();
  j["num_key_value_heads"] = 5;
  EXPECT_THROW(LlamaConfig::from_json(j), FormatError);
  j = llama2_7b();
  j["rms_norm_eps"] = "small";
  EXPECT_THROW(LlamaConfig::from_json(j), FormatError);
  EXPECT_THROW(LlamaConfig::from_json(nlohmann::json::array()), FormatError);
}

TEST(LlamaConfig, JsonRoundTrip) {
  nlohmann::json j = llama2_7b();
  j["num_key_value_heads"] = 8;
  j["lowbit_rope_interleaved"] = true;
  const LlamaConfig a = LlamaConfig::from_json(j);
  const LlamaConfig b = LlamaConfig::from_json(a.to_json());
  EXPECT_EQ(b.n_kv_heads, 8);
  EXPECT_TRUE(b.rope_interleaved);
  EXPECT_EQ(a.parameter_count(), b.parameter_count());
}

}  // namespace
}  // namespace lowbit::model
