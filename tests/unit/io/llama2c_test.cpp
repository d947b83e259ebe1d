// SPDX-License-Identifier: MIT
// llama2.c reader: the two real 260K checkpoints (configs, parameter counts, byte offsets),
// files without RoPE tables, separate classifiers and malformed files.
#include "io/llama2c.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "testing/test_data.h"
#include "util/error.h"

namespace lowbit::io {
namespace {

namespace fs = std::filesystem;
using lowbit::testing::TempDir;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

fs::path write_file(const TempDir& dir, const std::string& bytes) {
  const fs::path p = dir.path() / "model.bin";
  std::ofstream(p, std::ios::binary) << bytes;
  return p;
}

int64_t parameter_count(const TensorMap& m) {
  int64_t n = 0;
  for (const auto& name : m.names()) n += m.at(name).numel();
  return n;
}

float float_at(const std::string& bytes, size_t offset) {
  float f;
  std::memcpy(&f, bytes.data() + offset, 4);
  return f;
}

TEST(Llama2c, Stories260K) {
  LB_REQUIRE_DATA(path, "stories260K/stories260K.bin");
  const Llama2cModel m = read_llama2c(path);
  const nlohmann::json& c = m.config;
  EXPECT_EQ(c["hidden_size"], 64);
  EXPECT_EQ(c["intermediate_size"], 172);
  EXPECT_EQ(c["num_hidden_layers"], 5);
  EXPECT_EQ(c["num_attention_heads"], 8);
  EXPECT_EQ(c["num_key_value_heads"], 4);
  EXPECT_EQ(c["vocab_size"], 512);
  EXPECT_EQ(c["max_position_embeddings"], 512);
  EXPECT_EQ(c["tie_word_embeddings"], true);
  EXPECT_EQ(c["rms_norm_eps"], 1e-5);
  EXPECT_EQ(c["rope_theta"], 10000.0);
  EXPECT_EQ(c["bos_token_id"], 1);
  EXPECT_EQ(c["eos_token_id"], 2);
  EXPECT_EQ(c["lowbit_rope_interleaved"], true);
  EXPECT_EQ(read_llama2c_config(path), c);

  EXPECT_EQ(parameter_count(m.tensors), 260032);
  EXPECT_EQ(m.tensors.size(), 1u + 5u * 9u + 1u);  // tied: no lm_head.weight
  EXPECT_FALSE(m.tensors.contains("lm_head.weight"));
  EXPECT_EQ(m.tensors.at("model.layers.0.self_attn.k_proj.weight").shape, (Shape{32, 64}));
  EXPECT_EQ(m.tensors.at("model.layers.4.mlp.down_proj.weight").shape, (Shape{64, 172}));
  EXPECT_EQ(m.tensors.at("model.layers.4.mlp.up_proj.weight").shape, (Shape{172, 64}));
  EXPECT_EQ(m.tensors.at("model.norm.weight").shape, (Shape{64}));

  // Offsets from the layout in PROVENANCE.md, read independently of the reader.
  const std::string bytes = slurp(path);
  const auto& embed = m.tensors.at("model.embed_tokens.weight");
  EXPECT_FALSE(embed.codes.owned());
  EXPECT_EQ(embed.codes.as<float>()[0], float_at(bytes, 28));
  // wq of layer 1 starts after embedding (512*64), rms_att (5*64) and wq of layer 0 (64*64).
  const size_t wq1 = 28 + 4 * (512 * 64 + 5 * 64 + 64 * 64);
  EXPECT_EQ(m.tensors.at("model.layers.1.self_attn.q_proj.weight").codes.as<float>()[0],
            float_at(bytes, wq1));
  // rms_final is the last 64 floats before the two [512, 4] RoPE tables.
  const size_t final_norm = bytes.size() - 4 * (2 * 512 * 4 + 64);
  EXPECT_EQ(m.tensors.at("model.norm.weight").codes.as<float>()[63],
            float_at(bytes, final_norm + 4 * 63));
  // w3 (up) of the last layer ends right before rms_final.
  const auto& up4 = m.tensors.at("model.layers.4.mlp.up_proj.weight");
  EXPECT_EQ(up4.codes.as<float>()[172 * 64 - 1], float_at(bytes, final_norm - 4));
}

TEST(Llama2c, AiDreams260K) {
  LB_REQUIRE_DATA(path, "aidreams260K/aidreams260K.bin");
  const Llama2cModel m = read_llama2c(path);
  EXPECT_EQ(m.config["num_hidden_layers"], 4);
  EXPECT_EQ(m.config["num_attention_heads"], 4);
  EXPECT_EQ(m.config["num_key_value_heads"], 4);
  EXPECT_EQ(m.config["max_position_embeddings"], 128);
  EXPECT_EQ(m.config["tie_word_embeddings"], true);
  EXPECT_EQ(parameter_count(m.tensors), 230976);
  EXPECT_EQ(m.tensors.at("model.layers.3.self_attn.v_proj.weight").shape, (Shape{64, 64}));
}

TEST(Llama2c, FileWithoutRopeTablesAndTruncatedFiles) {
  LB_REQUIRE_DATA(path, "stories260K/stories260K.bin");
  const std::string bytes = slurp(path);
  TempDir dir;
  const size_t rope_bytes = 2 * 512 * 4 * 4;
  // The same weights without the trailing RoPE tables.
  const Llama2cModel m = read_llama2c(write_file(dir, bytes.substr(0, bytes.size() - rope_bytes)));
  EXPECT_EQ(parameter_count(m.tensors), 260032);
  EXPECT_EQ(m.tensors.at("model.norm.weight").codes.as<float>()[0],
            float_at(bytes, bytes.size() - rope_bytes - 4 * 64));

  for (size_t cut : {size_t{4}, size_t{1000}, rope_bytes + 4}) {
    const fs::path p = write_file(dir, bytes.substr(0, bytes.size() - cut));
    try {
      read_llama2c(p);
      ADD_FAILURE() << cut;
    } catch (const FormatError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("model.bin"), std::string::npos) << msg;
      EXPECT_NE(msg.find(std::to_string(bytes.size() - cut)), std::string::npos) << msg;
      EXPECT_NE(msg.find(std::to_string(bytes.size())), std::string::npos) << msg;
    }
  }
}

// A synthetic checkpoint: dim 4, hidden 6, 1 layer, 2 heads, 1 KV head, vocab (negative for
// a separate classifier), seq_len 3; float i holds value i.
std::string synthetic(int32_t vocab, bool rope) {
  const int32_t header[7] = {4, 6, 1, 2, 1, vocab, 3};
  const int64_t v = vocab < 0 ? -vocab : vocab;
  int64_t floats = v * 4 + 4 + 16 + 8 + 8 + 16 + 4 + 24 * 3 + 4;
  if (rope) floats += 3 * 2;  // [seq_len, head_size / 2] twice, head_size 2
  if (vocab < 0) floats += v * 4;
  std::string out(reinterpret_cast<const char*>(header), sizeof(header));
  for (int64_t i = 0; i < floats; ++i) {
    const auto f = static_cast<float>(i);
    out.append(reinterpret_cast<const char*>(&f), 4);
  }
  return out;
}

TEST(Llama2c, SeparateClassifierFollowsTheRopeTables) {
  TempDir dir;
  const Llama2cModel m = read_llama2c(write_file(dir, synthetic(-5, true)));
  EXPECT_EQ(m.config["tie_word_embeddings"], false);
  EXPECT_EQ(m.config["vocab_size"], 5);
  ASSERT_TRUE(m.tensors.contains("lm_head.weight"));
  // 20 + 4 + 16 + 8 + 8 + 16 + 4 + 72 + 4 = 152 floats, then 6 RoPE floats: wcls starts at 158.
  EXPECT_EQ(m.tensors.at("lm_head.weight").codes.as<float>()[0], 158.0f);
  EXPECT_EQ(m.tensors.at("model.layers.0.self_attn.k_proj.weight").shape, (Shape{2, 4}));
  EXPECT_EQ(m.tensors.at("model.layers.0.self_attn.k_proj.weight").codes.as<float>()[0], 40.0f);
  EXPECT_EQ(m.tensors.at("model.norm.weight").codes.as<float>()[0], 148.0f);
  const Llama2cModel no_rope = read_llama2c(write_file(dir, synthetic(-5, false)));
  EXPECT_EQ(no_rope.tensors.at("lm_head.weight").codes.as<float>()[0], 152.0f);
}

TEST(Llama2c, BadHeadersGiveFormatErrors) {
  TempDir dir;
  EXPECT_THROW(read_llama2c(write_file(dir, "short")), FormatError);
  std::string bad = synthetic(5, true);
  const int32_t zero = 0;
  std::memcpy(bad.data(), &zero, 4);  // dim 0
  EXPECT_THROW(read_llama2c(write_file(dir, bad)), FormatError);
  bad = synthetic(5, true);
  const int32_t three = 3;
  std::memcpy(bad.data() + 12, &three, 4);  // 3 heads do not divide dim 4
  EXPECT_THROW(read_llama2c(write_file(dir, bad)), FormatError);
  bad = synthetic(5, true);
  // Sizes that overflow 64 bits must not wrap around to a plausible file size.
  const int32_t huge[7] = {0x7ffffffe, 0x7fffffff, 0x7fffffff, 1, 1, 0x7fffffff, 0x7fffffff};
  std::memcpy(bad.data(), huge, sizeof(huge));
  EXPECT_THROW(read_llama2c(write_file(dir, bad)), FormatError);
  bad = synthetic(5, true);
  const int32_t most_negative = INT32_MIN;
  std::memcpy(bad.data() + 20, &most_negative, 4);
  EXPECT_THROW(read_llama2c(write_file(dir, bad)), FormatError);
}

}  // namespace
}  // namespace lowbit::io
