// SPDX-License-Identifier: MIT
// Every ggml type lowbit reads, against the `gguf` PyPI package's own dequantizer: the fixtures
// (tools/make_gguf_fixtures.py) hold, per type, a tensor and "<TYPE>.expected", the F32 values
// gguf.quants.dequantize gave. lowbit must reproduce them bit for bit (sign of zero included):
// both sides evaluate the same f32 products in the same order, and every product of an f16
// scale with the small integers involved is exact except Q6_K's d*sc*q, which both round once
// after the exact d*sc.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "io/gguf.h"
#include "io/model_source.h"
#include "tensor/dequantize.h"

namespace lowbit::io {
namespace {

namespace fs = std::filesystem;

fs::path fixture(const char* name) {
  return fs::path(LOWBIT_SOURCE_DIR) / "tests" / "fixtures" / "gguf" / name;
}

struct TypeCase {
  const char* name;
  uint32_t id;
  QuantFormat loaded;  // the format lowbit holds it in
};

std::string case_name(const ::testing::TestParamInfo<TypeCase>& info) { return info.param.name; }

const std::vector<TypeCase>& type_cases() {
  static const std::vector<TypeCase> cases = {
      {"F32", kGgmlF32, QuantFormat::dense(QuantKind::f32)},
      {"F16", kGgmlF16, QuantFormat::dense(QuantKind::f16)},
      {"BF16", kGgmlBF16, QuantFormat::dense(QuantKind::bf16)},
      {"Q8_0", kGgmlQ8_0, QuantFormat::affine(8, 32, true)},
      {"Q4_0", kGgmlQ4_0, QuantFormat::affine(4, 32, true)},
      {"Q5_0", kGgmlQ5_0, QuantFormat::affine(5, 32, true)},
      {"Q4_1", kGgmlQ4_1, QuantFormat::affine_min(4, 32)},
      {"Q5_1", kGgmlQ5_1, QuantFormat::affine_min(5, 32)},
      {"Q2_K", kGgmlQ2_K, QuantFormat::dense(QuantKind::f32)},
      {"Q3_K", kGgmlQ3_K, QuantFormat::dense(QuantKind::f32)},
      {"Q4_K", kGgmlQ4_K, QuantFormat::k_quant_of(4)},
      {"Q5_K", kGgmlQ5_K, QuantFormat::k_quant_of(5)},
      {"Q6_K", kGgmlQ6_K, QuantFormat::k_quant_of(6)},
      {"IQ4_NL", kGgmlIQ4_NL, QuantFormat::iq4_nl(32)},
      {"IQ4_XS", kGgmlIQ4_XS, QuantFormat::dense(QuantKind::f32)},
      {"TQ1_0", kGgmlTQ1_0, QuantFormat::dense(QuantKind::f32)},
      {"TQ2_0", kGgmlTQ2_0, QuantFormat::dense(QuantKind::f32)},
      {"MXFP4", kGgmlMXFP4, QuantFormat::dense(QuantKind::f32)},
  };
  return cases;
}

class GgufBlocks : public ::testing::TestWithParam<TypeCase> {};

TEST_P(GgufBlocks, DecodesExactlyAsGgufPy) {
  const TypeCase& c = GetParam();
  const GgufFile g = GgufFile::open(fixture("blocks.gguf"));
  const GgufTensorInfo* info = g.find(c.name);
  const GgufTensorInfo* expected_info = g.find(std::string(c.name) + ".expected");
  ASSERT_NE(info, nullptr);
  ASSERT_NE(expected_info, nullptr);
  EXPECT_EQ(info->type, c.id);
  EXPECT_EQ(ggml_type_name(info->type), c.name);
  ASSERT_EQ(expected_info->type, kGgmlF32);

  const QuantizedTensor t = g.tensor(*info);
  EXPECT_EQ(t.format, c.loaded);
  EXPECT_EQ(t.shape, expected_info->shape());
  const std::vector<float> got = dequantize_reference(t);
  ASSERT_EQ(got.size() * 4, expected_info->size);
  const auto* want = reinterpret_cast<const float*>(expected_info->data);
  size_t mismatches = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    uint32_t a, b;
    std::memcpy(&a, &got[i], 4);
    std::memcpy(&b, &want[i], 4);
    if (a != b && ++mismatches <= 5)
      ADD_FAILURE() << c.name << " element " << i << ": lowbit " << got[i] << " (0x" << std::hex
                    << a << "), gguf-py " << want[i] << " (0x" << b << ")" << std::dec;
  }
  EXPECT_EQ(mismatches, 0u);
  // Mostly not zero (ternary types are a third zeros, the first block of each fixture is zero):
  // the comparison above had something to compare.
  size_t nonzero = 0;
  for (float v : got) nonzero += v != 0.0f;
  EXPECT_GT(nonzero, got.size() / 4);
}

INSTANTIATE_TEST_SUITE_P(Types, GgufBlocks, ::testing::ValuesIn(type_cases()), case_name);

TEST(GgufBlocksFixture, EveryTensorInTheFixtureIsChecked) {
  const GgufFile g = GgufFile::open(fixture("blocks.gguf"));
  std::set<std::string> in_file, tested;
  for (const GgufTensorInfo& t : g.tensors())
    if (t.name.find(".expected") == std::string::npos) in_file.insert(t.name);
  for (const TypeCase& c : type_cases()) tested.insert(c.name);
  EXPECT_EQ(in_file, tested);
}

// A 1-layer llama with a different type per tensor: HF names, what the file stored and how each
// tensor was loaded. Byte counts are the ggml block arithmetic numel / block * block_bytes.
TEST(GgufBlocksFixture, TinyLlamaRecordsStoredTypes) {
  const ModelSource s = load_model_source(fixture("tiny_llama.gguf"));
  EXPECT_EQ(s.format, "gguf");
  EXPECT_EQ(s.config["hidden_size"], 256);
  EXPECT_EQ(s.config["tie_word_embeddings"], false);
  struct Want {
    const char* name;
    const char* type;
    size_t bytes;
    const char* loaded_as;
  };
  const Want wants[] = {
      {"model.embed_tokens.weight", "Q6_K", 16 * 256 / 256 * 210, "packed q6_k"},
      {"model.layers.0.input_layernorm.weight", "F32", 256 * 4, "borrowed"},
      {"model.layers.0.self_attn.q_proj.weight", "Q2_K", 256 * 256 / 256 * 84,
       "dequantized to f32"},
      {"model.layers.0.self_attn.k_proj.weight", "Q4_K", 64 * 256 / 256 * 144, "packed q4_k"},
      {"model.layers.0.self_attn.v_proj.weight", "Q5_0", 64 * 256 / 32 * 22, "packed int5 g32 sym"},
      {"model.layers.0.self_attn.o_proj.weight", "Q3_K", 256 * 256 / 256 * 110,
       "dequantized to f32"},
      {"model.layers.0.post_attention_layernorm.weight", "F32", 256 * 4, "borrowed"},
      {"model.layers.0.mlp.gate_proj.weight", "Q5_K", 32 * 256 / 256 * 176, "packed q5_k"},
      {"model.layers.0.mlp.up_proj.weight", "IQ4_XS", 32 * 256 / 256 * 136, "dequantized to f32"},
      {"model.layers.0.mlp.down_proj.weight", "Q4_1", 256 * 32 / 32 * 20, "packed int4 g32 min"},
      {"model.norm.weight", "F32", 256 * 4, "borrowed"},
      {"lm_head.weight", "Q8_0", 16 * 256 / 32 * 34, "packed int8 g32 sym"},
  };
  EXPECT_EQ(s.stored.size(), std::size(wants));
  EXPECT_EQ(s.tensors.size(), std::size(wants));
  for (const Want& w : wants) {
    SCOPED_TRACE(w.name);
    ASSERT_TRUE(s.stored.contains(w.name));
    const StoredTensor& st = s.stored.at(w.name);
    EXPECT_EQ(st.type, w.type);
    EXPECT_EQ(st.bytes, w.bytes);
    EXPECT_EQ(st.loaded_as, w.loaded_as);
    s.tensors.at(w.name).check_finite(w.name);
  }
  EXPECT_EQ(s.tensors.at("model.layers.0.mlp.down_proj.weight").shape, (Shape{256, 32}));
}

}  // namespace
}  // namespace lowbit::io
