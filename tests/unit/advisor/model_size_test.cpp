// SPDX-License-Identifier: MIT
// Exact parameter counts from published configs and shared models, presets and --params parsing.
#include "advisor/model_size.h"

#include <gtest/gtest.h>

#include <fstream>

#include "util/error.h"

namespace lowbit::advisor {
namespace {

nlohmann::json fixture(const std::string& name) {
  std::ifstream in(std::string(LOWBIT_SOURCE_DIR) + "/tests/fixtures/configs/" + name);
  EXPECT_TRUE(in.good()) << name;
  return nlohmann::json::parse(in);
}

TEST(ModelSize, PublishedConfigsGiveTheTrueCounts) {
  const ModelShape l2_7b = model_from_config(fixture("llama2-7b.json"), "llama2-7b.json");
  EXPECT_EQ(l2_7b.total_params, 6'738'415'616);
  EXPECT_EQ(l2_7b.linear_params, 6'476'005'376);
  EXPECT_EQ(l2_7b.other_params(), 262'410'240);  // two 32000x4096 embeddings + norms
  const ModelShape l3_8b = model_from_config(fixture("llama3-8b.json"), "llama3-8b.json");
  EXPECT_EQ(l3_8b.total_params, 8'030'261'248);
  EXPECT_EQ(l3_8b.config.n_kv_heads, 8);
  const ModelShape l2_70b = model_from_config(fixture("llama2-70b.json"), "llama2-70b.json");
  EXPECT_EQ(l2_70b.total_params, 68'976'648'192);
  EXPECT_EQ(l2_70b.linear_params, 68'451'041'280);
  EXPECT_TRUE(l2_70b.kv_geometry_exact);
  EXPECT_EQ(l2_70b.other_bits, 16);
}

TEST(ModelSize, SharedTinyModelsAreCountedWithTiedEmbeddings) {
  const ModelShape stories = model_from_config(fixture("stories260k.json"), "stories");
  EXPECT_EQ(stories.total_params, 260'032);  // shared/data/PROVENANCE.md
  EXPECT_EQ(stories.other_bits, 32);         // torch_dtype float32
  const ModelShape dreams = model_from_config(fixture("aidreams260k.json"), "aidreams");
  EXPECT_EQ(dreams.total_params, 230'976);
}

TEST(ModelSize, BlockLinearsSumToTheLinearCount) {
  const ModelShape m = model_from_config(fixture("llama3-8b.json"), "x");
  int64_t per_block = 0;
  for (const auto& l : m.block_linears()) per_block += l.rows * l.cols;
  EXPECT_EQ(per_block * m.config.n_layers, m.linear_params);
  ASSERT_EQ(m.block_linears().size(), 7u);
  EXPECT_EQ(m.block_linears()[1].rows, 1024);  // k_proj: 8 KV heads x 128
}

TEST(ModelSize, MissingFieldNamesTheFileAndField) {
  try {
    model_from_config(fixture("missing-field.json"), "cfg/missing-field.json");
    FAIL() << "expected FormatError";
  } catch (const FormatError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("cfg/missing-field.json"), std::string::npos) << msg;
    EXPECT_NE(msg.find("num_hidden_layers"), std::string::npos) << msg;
  }
}

TEST(ModelSize, PresetsMatchPublishedCounts) {
  EXPECT_EQ(model_from_preset("llama2-7b").total_params, 6'738'415'616);
  EXPECT_EQ(model_from_preset("llama3-8b").total_params, 8'030'261'248);
  EXPECT_EQ(model_from_preset("llama2-70b").total_params, 68'976'648'192);
  EXPECT_EQ(model_from_preset("llama3-70b").total_params, 70'553'706'496);
  EXPECT_EQ(model_from_preset("llama3.2-1b").total_params, 1'235'814'400);
  EXPECT_EQ(model_from_preset("mistral-7b").total_params, 7'241'732'096);
  // Qwen2 has q/k/v biases: 28 layers x (3584 + 2 x 512) on top of the plain count.
  const ModelShape qwen = model_from_preset("qwen2-7b");
  model::LlamaConfig no_bias = qwen.config;
  no_bias.qkv_bias = false;
  EXPECT_EQ(qwen.total_params - no_bias.parameter_count(), 28 * (3584 + 2 * 512));
  EXPECT_THROW(model_from_preset("llama9-1t"), InvalidArgument);
}

TEST(ModelSize, ParamsUseTheNearestPresetGeometry) {
  const ModelShape m = model_from_params(70'000'000'000);
  EXPECT_EQ(m.total_params, 70'000'000'000);
  EXPECT_FALSE(m.kv_geometry_exact);
  EXPECT_EQ(m.config.n_layers, 80);
  EXPECT_EQ(m.config.n_kv_heads, 8);
  EXPECT_NE(m.source.find("nearest preset"), std::string::npos);
  EXPECT_GT(m.linear_params, 67'000'000'000);
  EXPECT_LT(m.linear_params, m.total_params);
  const ModelShape small = model_from_params(7'000'000'000);
  EXPECT_EQ(small.config.dim, 4096);
  const ModelShape shaped = model_from_params(70'000'000'000, "llama2-70b");
  EXPECT_TRUE(shaped.kv_geometry_exact);
  EXPECT_EQ(shaped.total_params, 70'000'000'000);
  // The split keeps the preset's proportion.
  EXPECT_NEAR(static_cast<double>(shaped.linear_params) / 70e9, 68'451'041'280.0 / 68'976'648'192.0,
              1e-9);
}

TEST(ModelSize, ParsesParamCounts) {
  EXPECT_EQ(parse_param_count("70B"), 70'000'000'000);
  EXPECT_EQ(parse_param_count("70b"), 70'000'000'000);
  EXPECT_EQ(parse_param_count("6.74B"), 6'740'000'000);
  EXPECT_EQ(parse_param_count("350M"), 350'000'000);
  EXPECT_EQ(parse_param_count("1.5T"), 1'500'000'000'000);
  EXPECT_EQ(parse_param_count("7e9"), 7'000'000'000);
  EXPECT_EQ(parse_param_count("7000000000"), 7'000'000'000);
  for (const char* bad : {"", "B", "abc", "70X", "-70B", "0", "70BB", "1e30"}) {
    try {
      parse_param_count(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find("--params"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace lowbit::advisor
