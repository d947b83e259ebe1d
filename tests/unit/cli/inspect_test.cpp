// SPDX-License-Identifier: MIT
// `lowbit inspect` reports how each tensor is stored and how it was loaded, and bits per weight
// as stored and as loaded: on the mixed-type GGUF fixture (tools/make_gguf_fixtures.py), on a
// llama2.c file (stored = loaded), and on the real SmolLM2 Q4_1 GGUF.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "testing/test_data.h"

namespace lowbit::testing {
namespace {

namespace fs = std::filesystem;

nlohmann::json inspect_json(const fs::path& model) {
  const CommandResult r = run_lowbit("inspect --model " + model.string() + " --json");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return nlohmann::json::parse(r.out);
}

std::map<std::string, nlohmann::json> by_name(const nlohmann::json& j) {
  std::map<std::string, nlohmann::json> m;
  for (const auto& t : j["tensors"]) m[t["name"].get<std::string>()] = t;
  return m;
}

TEST(Inspect, GgufFixtureShowsStoredTypesAndBothBitsPerWeight) {
  const fs::path model = fs::path(LOWBIT_SOURCE_DIR) / "tests/fixtures/gguf/tiny_llama.gguf";
  const nlohmann::json j = inspect_json(model);
  EXPECT_EQ(j["source_format"], "gguf");
  const auto t = by_name(j);
  const auto& v = t.at("model.layers.0.self_attn.v_proj.weight");
  EXPECT_EQ(v["stored_type"], "Q5_0");
  EXPECT_EQ(v["loaded_as"], "packed int5 g32 sym");
  EXPECT_EQ(v["stored_bytes"], 64 * 256 / 32 * 22);
  EXPECT_EQ(v["bytes"], 64 * 256 / 32 * 22);  // exact re-pack: 20 code bytes + f16 d per block
  const auto& q = t.at("model.layers.0.self_attn.q_proj.weight");
  EXPECT_EQ(q["stored_type"], "Q2_K");
  EXPECT_EQ(q["loaded_as"], "dequantized to f32");
  EXPECT_EQ(q["format"], "f32");
  EXPECT_EQ(q["stored_bytes"], 256 * 256 / 256 * 84);
  EXPECT_EQ(q["bytes"], 256 * 256 * 4);
  EXPECT_EQ(t.at("model.norm.weight")["loaded_as"], "borrowed");

  // Linear layers [out, in] and their ggml bytes: q Q2_K, k Q4_K, v Q5_0, o Q3_K, gate Q5_K,
  // up IQ4_XS, down Q4_1 (numel / block * block bytes).
  const double linear_params = 256 * 256 * 2 + 64 * 256 * 2 + 32 * 256 * 3;
  const double linear_stored = 256 * 256 / 256 * 84 + 64 * 256 / 256 * 144 + 64 * 256 / 32 * 22 +
                               256 * 256 / 256 * 110 + 32 * 256 / 256 * 176 + 32 * 256 / 256 * 136 +
                               256 * 32 / 32 * 20;
  // Loaded: v (Q5_0), down (Q4_1), k (Q4_K) and gate (Q5_K) packed at their stored bytes, every
  // other linear f32.
  const double packed_params = 64 * 256 + 256 * 32 + 64 * 256 + 32 * 256;
  const double linear_loaded = 64 * 256 / 32 * 22 + 256 * 32 / 32 * 20 + 64 * 256 / 256 * 144 +
                               32 * 256 / 256 * 176 + (linear_params - packed_params) * 4;
  EXPECT_EQ(j["linear_parameters"], linear_params);
  EXPECT_EQ(j["stored_linear_bytes"], linear_stored);
  EXPECT_EQ(j["linear_bytes"], linear_loaded);
  EXPECT_DOUBLE_EQ(j["stored_bits_per_weight"].get<double>(), 8 * linear_stored / linear_params);
  EXPECT_DOUBLE_EQ(j["bits_per_weight"].get<double>(), 8 * linear_loaded / linear_params);
  // Whole file: + embedding Q6_K [16, 256], lm_head Q8_0 [16, 256], three f32 norms of 256.
  const double params = linear_params + 16 * 256 * 2 + 3 * 256;
  const double stored = linear_stored + 16 * 256 / 256 * 210 + 16 * 256 / 32 * 34 + 3 * 256 * 4;
  EXPECT_EQ(j["parameters"], params);
  EXPECT_EQ(j["stored_bytes"], stored);
  EXPECT_DOUBLE_EQ(j["stored_file_bits_per_weight"].get<double>(), 8 * stored / params);
  // The Q6_K embedding is held packed too (210 bytes per 256).
  const double loaded = linear_loaded + 16 * 256 / 256 * 210 + 16 * 256 * 34 / 32 + 3 * 256 * 4;
  EXPECT_DOUBLE_EQ(j["file_bits_per_weight"].get<double>(), 8 * loaded / params);

  const CommandResult table = run_lowbit("inspect --model " + model.string());
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("dequantized to f32"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("IQ4_XS"), std::string::npos) << table.out;
}

TEST(Inspect, Llama2cStoredIsLoaded) {
  LB_REQUIRE_DATA(bin, "stories260K/stories260K.bin");
  const nlohmann::json j = inspect_json(bin);
  EXPECT_EQ(j["stored_bytes"], j["bytes"]);
  EXPECT_EQ(j["stored_file_bits_per_weight"], j["file_bits_per_weight"]);
  EXPECT_EQ(j["bits_per_weight"], 32.0);
  EXPECT_EQ(j["file_bits_per_weight"], 32.0);
  for (const auto& t : j["tensors"]) {
    EXPECT_EQ(t["stored_type"], "f32") << t["name"];
    EXPECT_EQ(t["stored_bytes"], t["bytes"]) << t["name"];
  }
}

// SmolLM2-135M-Instruct Q4_1 (PROVENANCE.md): every linear layer is Q4_1, 20 bytes per 32
// weights = 5 bits exactly; the tied embedding is Q8_0 (34 bytes per 32 = 8.5 bits).
TEST(Inspect, SmolLm2Q4_1StoredBitsPerWeight) {
  LB_REQUIRE_DATA(gguf, "smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf");
  const nlohmann::json j = inspect_json(gguf);
  EXPECT_EQ(j["stored_bits_per_weight"], 5.0);
  EXPECT_EQ(j["bits_per_weight"], 5.0);  // Q4_1 is held packed: 4-bit codes, f16 d and m
  const auto t = by_name(j);
  EXPECT_EQ(t.at("model.embed_tokens.weight")["stored_type"], "Q8_0");
  EXPECT_EQ(t.at("model.embed_tokens.weight")["loaded_as"], "packed int8 g32 sym");
  EXPECT_EQ(t.at("model.layers.0.mlp.down_proj.weight")["stored_type"], "Q4_1");
  EXPECT_EQ(t.at("model.layers.0.mlp.down_proj.weight")["loaded_as"], "packed int4 g32 min");
  // 30 layers of q, o [576, 576], k, v [192, 576], gate, up [1536, 576], down [576, 1536];
  // embedding [49152, 576]; 61 f32 norms of 576.
  const int64_t linear = 30 * (576 * 576 * 2 + 192 * 576 * 2 + 1536 * 576 * 3);
  const int64_t params = linear + 49152 * 576 + 61 * 576;
  const int64_t stored = linear / 32 * 20 + 49152 * 576 / 32 * 34 + 61 * 576 * 4;
  EXPECT_EQ(j["linear_parameters"], linear);
  EXPECT_EQ(j["parameters"], params);
  EXPECT_EQ(j["stored_bytes"], stored);
  EXPECT_DOUBLE_EQ(j["stored_file_bits_per_weight"].get<double>(),
                   8.0 * static_cast<double>(stored) / static_cast<double>(params));
}

}  // namespace
}  // namespace lowbit::testing
