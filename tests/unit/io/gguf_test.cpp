// SPDX-License-Identifier: MIT
// GGUF reader: the real v1 stories260K file against the llama2.c export, synthetic v1-v3
// files (written here byte by byte) for every converted tensor type, and hostile inputs.
#include "io/gguf.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "io/llama2c.h"
#include "numerics/bit_pack.h"
#include "numerics/half.h"
#include "tensor/dequantize.h"
#include "testing/test_data.h"
#include "util/error.h"

namespace lowbit::io {
namespace {

namespace fs = std::filesystem;
using lowbit::testing::TempDir;

// Writes GGUF bytes from the spec: header, KV pairs, tensor infos, padding, aligned data.
class GgufBuilder {
 public:
  explicit GgufBuilder(uint32_t version) : version_(version) {}

  template <typename T>
  static std::string pod(T v) {
    return std::string(reinterpret_cast<const char*>(&v), sizeof(T));
  }
  std::string count(uint64_t n) const {
    return version_ == 1 ? pod(static_cast<uint32_t>(n)) : pod(n);
  }
  std::string str(const std::string& s) const { return count(s.size()) + s; }

  // A KV pair with an already-encoded value.
  void kv_raw(const std::string& key, uint32_t type, const std::string& value) {
    kvs_ += str(key) + pod(type) + value;
    ++n_kv_;
  }
  void kv_u32(const std::string& key, uint32_t v) { kv_raw(key, 4, pod(v)); }
  void kv_f32(const std::string& key, float v) { kv_raw(key, 6, pod(v)); }
  void kv_string(const std::string& key, const std::string& v) { kv_raw(key, 8, str(v)); }
  void kv_strings(const std::string& key, const std::vector<std::string>& v) {
    std::string body = pod(uint32_t{8}) + count(v.size());
    for (const auto& s : v) body += str(s);
    kv_raw(key, 9, body);
  }
  void kv_f32s(const std::string& key, const std::vector<float>& v) {
    std::string body = pod(uint32_t{6}) + count(v.size());
    for (float f : v) body += pod(f);
    kv_raw(key, 9, body);
  }
  void kv_i32s(const std::string& key, const std::vector<int32_t>& v) {
    std::string body = pod(uint32_t{5}) + count(v.size());
    for (int32_t i : v) body += pod(i);
    kv_raw(key, 9, body);
  }
  void tensor(const std::string& name, std::vector<uint64_t> ne, uint32_t type, std::string data) {
    tensors_.push_back({name, std::move(ne), type, std::move(data)});
  }

  uint32_t alignment = 32;
  std::optional<uint64_t> tensor_count, kv_count;
  std::map<size_t, uint64_t> offset_override;
  std::string magic = "GGUF";

  std::string build() const {
    std::string out = magic + pod(version_) + count(tensor_count.value_or(tensors_.size())) +
                      count(kv_count.value_or(n_kv_)) + kvs_;
    std::string data;
    for (size_t i = 0; i < tensors_.size(); ++i) {
      const Tensor& t = tensors_[i];
      data.append((alignment - data.size() % alignment) % alignment, '\0');
      out += str(t.name) + pod(static_cast<uint32_t>(t.ne.size()));
      for (uint64_t d : t.ne) out += count(d);
      const auto it = offset_override.find(i);
      out += pod(t.type) + pod<uint64_t>(it != offset_override.end() ? it->second : data.size());
      data += t.data;
    }
    out.append((alignment - out.size() % alignment) % alignment, '\0');
    return out + data;
  }

 private:
  struct Tensor {
    std::string name;
    std::vector<uint64_t> ne;
    uint32_t type;
    std::string data;
  };
  uint32_t version_;
  std::string kvs_;
  uint64_t n_kv_ = 0;
  std::vector<Tensor> tensors_;
};

fs::path write_file(const TempDir& dir, const std::string& bytes, const char* name = "m.gguf") {
  const fs::path p = dir.path() / name;
  std::ofstream(p, std::ios::binary) << bytes;
  return p;
}

template <typename T>
std::string bytes_of(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

TEST(GgufReal, StoriesV1MatchesTheLlama2cExportBitForBit) {
  LB_REQUIRE_DATA(gguf_path, "stories260K/tinyllamas-stories-260k-f32.gguf");
  LB_REQUIRE_DATA(bin_path, "stories260K/stories260K.bin");
  const GgufFile g = GgufFile::open(gguf_path);
  EXPECT_EQ(g.version(), 1u);
  EXPECT_EQ(g.tensors().size(), 48u);
  EXPECT_EQ(g.metadata().size(), 18u);
  EXPECT_EQ(g.alignment(), 32u);
  EXPECT_EQ(g.data_offset(), 11456u);
  for (const auto& t : g.tensors()) EXPECT_EQ(t.type, kGgmlF32) << t.name;
  EXPECT_EQ(g.find("token_embd.weight")->ne, (std::vector<uint64_t>{64, 512}));

  const nlohmann::json c = g.hf_config();
  EXPECT_EQ(c["hidden_size"], 64);
  EXPECT_EQ(c["intermediate_size"], 172);
  EXPECT_EQ(c["num_hidden_layers"], 5);
  EXPECT_EQ(c["num_attention_heads"], 8);
  EXPECT_EQ(c["num_key_value_heads"], 4);
  EXPECT_EQ(c["vocab_size"], 512);
  EXPECT_EQ(c["max_position_embeddings"], 512);
  EXPECT_EQ(c["rms_norm_eps"], 1e-5);  // f32 1e-5 read as its shortest decimal
  EXPECT_EQ(c["rope_theta"], 10000.0);
  EXPECT_EQ(c["tie_word_embeddings"], false);  // output.weight is an explicit copy
  EXPECT_EQ(c["bos_token_id"], 1);
  EXPECT_EQ(c["eos_token_id"], 2);
  EXPECT_EQ(c["lowbit_rope_interleaved"], true);
  EXPECT_EQ(c["model_type"], "llama");

  const TensorMap from_gguf = g.hf_tensors();
  const Llama2cModel bin = read_llama2c(bin_path);
  EXPECT_EQ(from_gguf.size(), bin.tensors.size() + 1);  // + lm_head
  for (const std::string& name : bin.tensors.names()) {
    ASSERT_TRUE(from_gguf.contains(name)) << name;
    const QuantizedTensor& a = from_gguf.at(name);
    const QuantizedTensor& b = bin.tensors.at(name);
    EXPECT_EQ(a.shape, b.shape) << name;
    EXPECT_EQ(a.format, b.format) << name;
    ASSERT_EQ(a.codes.size(), b.codes.size()) << name;
    EXPECT_EQ(std::memcmp(a.codes.data(), b.codes.data(), a.codes.size()), 0) << name;
    EXPECT_FALSE(a.codes.owned()) << name;
  }
  const QuantizedTensor& head = from_gguf.at("lm_head.weight");
  const QuantizedTensor& embed = bin.tensors.at("model.embed_tokens.weight");
  EXPECT_EQ(head.shape, (Shape{512, 64}));
  EXPECT_EQ(std::memcmp(head.codes.data(), embed.codes.data(), embed.codes.size()), 0);

  const auto vocab = g.spm_vocab();
  ASSERT_TRUE(vocab.has_value());
  EXPECT_EQ(vocab->pieces.size(), 512u);
  EXPECT_EQ(vocab->pieces[0], "<unk>");
  EXPECT_EQ(vocab->pieces[1], "<s>");
  EXPECT_EQ(vocab->pieces[3], "<0x00>");
  EXPECT_EQ(vocab->types[0], 2);
  EXPECT_EQ(vocab->types[1], 3);
  EXPECT_EQ(vocab->types[3], 6);
  // Merges are scored -(rank): id 259 is rank 0, id 511 rank 252 (PROVENANCE.md).
  EXPECT_EQ(vocab->scores[259], 0.0f);
  EXPECT_EQ(vocab->scores[511], -252.0f);
  EXPECT_EQ(vocab->bos_id, 1);
  EXPECT_EQ(vocab->eos_id, 2);
  EXPECT_EQ(vocab->unk_id, 0);
}

// One block of each converted type, with expectations from the ggml block definitions.
class GgufTypes : public ::testing::TestWithParam<uint32_t> {};

TEST_P(GgufTypes, DecodesEveryConvertedType) {
  TempDir dir;
  GgufBuilder b(GetParam());
  b.kv_string("general.architecture", "llama");
  // F16 [2, 3] and BF16 [4].
  const std::vector<uint16_t> f16 = {0x3C00, 0xC000, 0x3800, 0x0001, 0x7BFF, 0x8000};
  const std::vector<uint16_t> bf16 = {0x3F80, 0xBF80, 0x4049, 0x0000};
  b.tensor("f16", {3, 2}, kGgmlF16, bytes_of(f16));
  b.tensor("bf16", {4}, kGgmlBF16, bytes_of(bf16));
  // Q8_0 [2 rows, 64]: 4 blocks of {f16 d, int8 q[32]}.
  std::vector<float> q8_expected;
  std::string q8;
  for (int blk = 0; blk < 4; ++blk) {
    const uint16_t d = f32_to_f16(0.25f * static_cast<float>(blk + 1));
    q8 += GgufBuilder::pod(d);
    for (int j = 0; j < 32; ++j) {
      const auto q = static_cast<int8_t>(j * 8 - 128 + blk);
      q8 += static_cast<char>(q);
      q8_expected.push_back(f16_to_f32(d) * static_cast<float>(q));
    }
  }
  b.tensor("q8", {64, 2}, kGgmlQ8_0, q8);
  // Q4_0 [1 row, 64]: 2 blocks of {f16 d, 16 bytes}; element j < 16 = low nibble of qs[j],
  // element j + 16 = high nibble of qs[j]; y = d * (q - 8).
  std::vector<uint8_t> q4_elements;
  std::vector<float> q4_expected;
  std::string q4;
  for (int blk = 0; blk < 2; ++blk) {
    const uint16_t d = f32_to_f16(blk == 0 ? 0.5f : -1.5f);
    q4 += GgufBuilder::pod(d);
    uint8_t qs[16];
    for (int j = 0; j < 16; ++j)
      qs[j] = static_cast<uint8_t>(((j + blk) & 15) | ((j * 3 + blk) & 15) << 4);
    q4.append(reinterpret_cast<const char*>(qs), 16);
    for (int j = 0; j < 32; ++j) {
      const uint8_t e = j < 16 ? qs[j] & 15 : qs[j - 16] >> 4;
      q4_elements.push_back(e);
      q4_expected.push_back(f16_to_f32(d) * static_cast<float>(e - 8));
    }
  }
  b.tensor("q4", {64, 1}, kGgmlQ4_0, q4);
  // Q4_1 [2 rows, 32]: {f16 d, f16 m, 16 bytes}; y = d * q + m (values chosen exact).
  std::vector<float> q41_expected;
  std::string q41;
  const float ds[2] = {0.5f, 0.25f}, ms[2] = {-2.25f, 1.0f};
  for (int blk = 0; blk < 2; ++blk) {
    q41 += GgufBuilder::pod(f32_to_f16(ds[blk])) + GgufBuilder::pod(f32_to_f16(ms[blk]));
    uint8_t qs[16];
    for (int j = 0; j < 16; ++j) qs[j] = static_cast<uint8_t>((15 - j) | (j << 4));
    q41.append(reinterpret_cast<const char*>(qs), 16);
    for (int j = 0; j < 32; ++j)
      q41_expected.push_back(ds[blk] * static_cast<float>(j < 16 ? 15 - j : j - 16) + ms[blk]);
  }
  b.tensor("q41", {32, 2}, kGgmlQ4_1, q41);
  b.tensor("iq2", {256}, 16, std::string(66, '\0'));
  b.tensor("mystery", {4}, 99, "");

  const GgufFile g = GgufFile::open(write_file(dir, b.build()));
  EXPECT_EQ(g.version(), GetParam());
  EXPECT_EQ(g.metadata().at("general.architecture"), "llama");

  const QuantizedTensor tf16 = g.tensor(*g.find("f16"));
  EXPECT_EQ(tf16.format, QuantFormat::dense(QuantKind::f16));
  EXPECT_EQ(tf16.shape, (Shape{2, 3}));
  EXPECT_EQ(std::memcmp(tf16.codes.data(), f16.data(), 12), 0);
  const QuantizedTensor tbf = g.tensor(*g.find("bf16"));
  EXPECT_EQ(tbf.format, QuantFormat::dense(QuantKind::bf16));
  EXPECT_EQ(std::memcmp(tbf.codes.data(), bf16.data(), 8), 0);

  const QuantizedTensor t8 = g.tensor(*g.find("q8"));
  EXPECT_EQ(t8.format, QuantFormat::affine(8, 32, true));
  EXPECT_EQ(t8.shape, (Shape{2, 64}));
  for (int i = 0; i < 128; ++i) {
    const float scale = f16_to_f32(t8.scales.as<uint16_t>()[i / 32]);
    const float w = scale * static_cast<float>(t8.codes.data()[i] - 128);
    EXPECT_EQ(w, q8_expected[i]) << i;
  }
  EXPECT_EQ(t8.codes.data()[0], 0);     // q = -128
  EXPECT_EQ(t8.codes.data()[31], 248);  // q = 120

  const QuantizedTensor t4 = g.tensor(*g.find("q4"));
  EXPECT_EQ(t4.format, QuantFormat::affine(4, 32, true));
  EXPECT_EQ(t4.shape, (Shape{1, 64}));
  // lowbit order: element 2k in the low nibble of byte k.
  EXPECT_EQ(t4.codes.data()[0], q4_elements[0] | q4_elements[1] << 4);
  for (int i = 0; i < 64; ++i) {
    const uint8_t code = packed_code(t4.codes.data(), i, 4);
    EXPECT_EQ(code, q4_elements[i]) << i;
    const float w = f16_to_f32(t4.scales.as<uint16_t>()[i / 32]) * static_cast<float>(code - 8);
    EXPECT_EQ(w, q4_expected[i]) << i;
  }

  // Q4_1 is held packed in the min form: d and m bit for bit, codes = q.
  const QuantizedTensor t41 = g.tensor(*g.find("q41"));
  EXPECT_EQ(t41.format, QuantFormat::affine_min(4, 32));
  EXPECT_EQ(t41.shape, (Shape{2, 32}));
  EXPECT_EQ(t41.zeros.as<uint16_t>()[0], f32_to_f16(ms[0]));
  const std::vector<float> d41 = dequantize_reference(t41);
  for (int i = 0; i < 64; ++i) EXPECT_EQ(d41[static_cast<size_t>(i)], q41_expected[i]) << i;

  try {
    g.tensor(*g.find("iq2"));
    ADD_FAILURE();
  } catch (const Unsupported& e) {
    EXPECT_NE(std::string(e.what()).find("tensor 'iq2' has ggml type IQ2_XXS (16), which lowbit "
                                         "does not read"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(g.tensor(*g.find("mystery")), Unsupported);
}

INSTANTIATE_TEST_SUITE_P(Versions, GgufTypes, ::testing::Values(1u, 2u, 3u));

GgufBuilder tiny_llama(uint32_t version) {
  GgufBuilder b(version);
  b.kv_string("general.architecture", "llama");
  b.kv_u32("llama.embedding_length", 32);
  b.kv_u32("llama.feed_forward_length", 64);
  b.kv_u32("llama.block_count", 1);
  b.kv_u32("llama.attention.head_count", 4);
  b.kv_u32("llama.attention.head_count_kv", 2);
  b.kv_u32("llama.context_length", 128);
  b.kv_f32("llama.attention.layer_norm_rms_epsilon", 1e-6f);
  b.kv_f32("llama.rope.freq_base", 500000.0f);
  b.kv_string("tokenizer.ggml.model", "gpt2");
  b.kv_strings("tokenizer.ggml.tokens", {"a", "b", "ab", "<s>", "</s>"});
  b.kv_strings("tokenizer.ggml.merges", {"a b"});
  b.kv_u32("tokenizer.ggml.bos_token_id", 3);
  b.kv_u32("tokenizer.ggml.eos_token_id", 4);
  b.tensor("token_embd.weight", {32, 5}, kGgmlF16, std::string(32 * 5 * 2, '\0'));
  b.tensor("blk.0.attn_q.weight", {32, 32}, kGgmlQ8_0, std::string(32 * 34, '\0'));
  b.tensor("blk.0.ffn_down.weight", {64, 32}, kGgmlQ4_0, std::string(64 * 18, '\0'));
  b.tensor("blk.0.attn_norm.weight", {32}, kGgmlF32, std::string(32 * 4, '\0'));
  b.tensor("output_norm.weight", {32}, kGgmlF32, std::string(32 * 4, '\0'));
  return b;
}

TEST(Gguf, LlamaConfigNamesAndGpt2TokenizerFromSyntheticV3) {
  TempDir dir;
  GgufBuilder b = tiny_llama(3);
  const GgufFile g = GgufFile::open(write_file(dir, b.build()));
  const nlohmann::json c = g.hf_config();
  EXPECT_EQ(c["hidden_size"], 32);
  EXPECT_EQ(c["intermediate_size"], 64);
  EXPECT_EQ(c["num_key_value_heads"], 2);
  EXPECT_EQ(c["vocab_size"], 5);  // from the tokens array
  EXPECT_EQ(c["max_position_embeddings"], 128);
  EXPECT_EQ(c["rms_norm_eps"], 1e-6);
  EXPECT_EQ(c["rope_theta"], 500000.0);
  EXPECT_EQ(c["tie_word_embeddings"], true);  // no output.weight
  EXPECT_EQ(c["bos_token_id"], 3);
  EXPECT_EQ(c["eos_token_id"], 4);
  EXPECT_FALSE(g.spm_vocab().has_value());
  EXPECT_EQ(g.metadata().at("tokenizer.ggml.merges"), nlohmann::json::array({"a b"}));
  EXPECT_EQ(g.metadata().at("tokenizer.ggml.tokens")[2], "ab");
  const TensorMap m = g.hf_tensors();
  EXPECT_EQ(m.names(), (std::vector<std::string>{
                           "model.embed_tokens.weight", "model.layers.0.input_layernorm.weight",
                           "model.layers.0.mlp.down_proj.weight",
                           "model.layers.0.self_attn.q_proj.weight", "model.norm.weight"}));
  EXPECT_EQ(m.at("model.embed_tokens.weight").shape, (Shape{5, 32}));
  EXPECT_EQ(m.at("model.layers.0.mlp.down_proj.weight").format.bits, 4);
}

TEST(Gguf, NestedArraysAndOtherArchitectures) {
  TempDir dir;
  GgufBuilder b(2);
  b.kv_string("general.architecture", "qwen2");
  // Array of two arrays of i32: {1, 2}, {3}.
  std::string inner1 = b.pod(uint32_t{5}) + b.count(2) + b.pod(int32_t{1}) + b.pod(int32_t{2});
  std::string inner2 = b.pod(uint32_t{5}) + b.count(1) + b.pod(int32_t{3});
  b.kv_raw("nested", 9, b.pod(uint32_t{9}) + b.count(2) + inner1 + inner2);
  b.tensor("foo.weight", {4}, kGgmlF32, std::string(16, '\0'));
  const GgufFile g = GgufFile::open(write_file(dir, b.build()));
  EXPECT_EQ(g.metadata().at("nested"), nlohmann::json::parse("[[1, 2], [3]]"));
  EXPECT_THROW(g.hf_config(), Unsupported);
  EXPECT_THROW(g.hf_tensors(), Unsupported);  // foo.weight has no HF name
}

void expect_format_error(const std::string& bytes, const std::string& part) {
  TempDir dir;
  const fs::path p = write_file(dir, bytes, "bad.gguf");
  try {
    GgufFile::open(p);
    ADD_FAILURE() << "no error; wanted " << part;
  } catch (const FormatError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("bad.gguf"), std::string::npos) << msg;
    EXPECT_NE(msg.find(part), std::string::npos) << msg;
  }
}

TEST(Gguf, BadInputsGiveFormatErrors) {
  expect_format_error("GG", "truncated");
  {
    GgufBuilder b = tiny_llama(3);
    b.magic = "GGML";
    expect_format_error(b.build(), "bad magic");
  }
  expect_format_error(GgufBuilder(4).build(), "unsupported GGUF version 4");
  expect_format_error(GgufBuilder(0).build(), "unsupported GGUF version 0");
  {
    GgufBuilder b = tiny_llama(3);
    b.tensor_count = uint64_t{1} << 40;
    expect_format_error(b.build(), "tensor count");
  }
  {
    GgufBuilder b = tiny_llama(2);
    b.kv_count = ~uint64_t{0};
    expect_format_error(b.build(), "KV count");
  }
  {
    GgufBuilder b(3);
    b.kv_raw("huge", 9, b.pod(uint32_t{0}) + b.count(uint64_t{1} << 50));
    expect_format_error(b.build(), "'huge'");
  }
  {
    GgufBuilder b(3);
    b.kv_raw("s", 8, b.count(uint64_t{1} << 60) + "abc");
    expect_format_error(b.build(), "truncated");
  }
  {
    GgufBuilder b = tiny_llama(3);
    b.offset_override[1] = uint64_t{1} << 32;
    expect_format_error(b.build(), "outside");
  }
  {
    GgufBuilder b = tiny_llama(3);
    b.offset_override[1] = 16;
    expect_format_error(b.build(), "not a multiple of the alignment");
  }
  {
    GgufBuilder b(3);
    b.tensor("q", {48}, kGgmlQ8_0, std::string(51, '\0'));
    expect_format_error(b.build(), "block size");
  }
  {
    GgufBuilder b(3);
    b.tensor("t", {1, 1, 1, 1, 1}, kGgmlF32, std::string(4, '\0'));
    expect_format_error(b.build(), "5 dimensions");
  }
  {
    GgufBuilder b(3);
    b.kv_u32("general.alignment", 48);
    expect_format_error(b.build(), "power of two");
  }
  {
    GgufBuilder b(3);
    b.kv_raw("flag", 7, std::string(1, '\2'));
    expect_format_error(b.build(), "'flag'");
  }
  {
    GgufBuilder b(3);
    b.kv_u32("k", 1);
    b.kv_u32("k", 2);
    expect_format_error(b.build(), "twice");
  }
  {
    GgufBuilder b(3);
    b.kv_raw("x", 13, "");
    expect_format_error(b.build(), "unknown value type 13");
  }
  {
    GgufBuilder b(3);
    b.kv_string("bad", std::string("\xff\xfe", 2));
    expect_format_error(b.build(), "UTF-8");
  }
}

// Every type lowbit decodes: a row length that is not a whole number of blocks, and tensor data
// cut short by the end of the file, are FormatErrors naming the file and the tensor.
TEST(Gguf, BlockTypesCheckRowLengthAndDataSize) {
  struct Case {
    uint32_t type;
    uint64_t block, bytes;
  };
  const Case cases[] = {{kGgmlQ4_0, 32, 18},   {kGgmlQ4_1, 32, 20},   {kGgmlQ5_0, 32, 22},
                        {kGgmlQ5_1, 32, 24},   {kGgmlQ8_0, 32, 34},   {kGgmlQ2_K, 256, 84},
                        {kGgmlQ3_K, 256, 110}, {kGgmlQ4_K, 256, 144}, {kGgmlQ5_K, 256, 176},
                        {kGgmlQ6_K, 256, 210}, {kGgmlIQ4_NL, 32, 18}, {kGgmlIQ4_XS, 256, 136},
                        {kGgmlTQ1_0, 256, 54}, {kGgmlTQ2_0, 256, 66}, {kGgmlMXFP4, 32, 17}};
  for (const Case& c : cases) {
    SCOPED_TRACE(ggml_type_name(c.type));
    {
      // Two rows of 1.5 blocks: 3 blocks of bytes, but ne[0] is not a multiple of the block.
      GgufBuilder b(3);
      b.tensor("w", {c.block * 3 / 2, 2}, c.type, std::string(3 * c.bytes, '\0'));
      expect_format_error(b.build(), "tensor 'w': ne[0] = " + std::to_string(c.block * 3 / 2) +
                                         " is not a multiple of the " + ggml_type_name(c.type) +
                                         " block size " + std::to_string(c.block));
    }
    {
      // Two rows of two blocks with the last byte missing.
      GgufBuilder b(3);
      b.tensor("w", {c.block * 2, 2}, c.type, std::string(4 * c.bytes - 1, '\0'));
      expect_format_error(b.build(),
                          "tensor 'w': data [0, " + std::to_string(4 * c.bytes) + ") lies outside");
    }
    {
      // The same tensor whole decodes to the logical shape.
      TempDir dir;
      GgufBuilder b(3);
      b.tensor("w", {c.block * 2, 2}, c.type, std::string(4 * c.bytes, '\0'));
      const GgufFile g = GgufFile::open(write_file(dir, b.build()));
      const QuantizedTensor t = g.tensor(g.tensors()[0]);
      EXPECT_EQ(t.shape, (Shape{2, static_cast<int64_t>(c.block * 2)}));
      t.validate("w");
    }
  }
}

// Decoded non-finite values (an f16 scale of inf or NaN) are caught the way a dense f32 NaN is:
// QuantizedTensor::check_finite, run by the model loader and the quantizer, names the tensor.
TEST(Gguf, NonFiniteScalesAreCaughtByCheckFinite) {
  TempDir dir;
  GgufBuilder b(3);
  std::string q4k(144, '\0');
  q4k[1] = static_cast<char>(0x7C);  // d = +inf (f16 0x7C00)
  q4k[4] = 1;                        // sub-block 0 scale 1
  b.tensor("q4k_inf", {256}, kGgmlQ4_K, q4k);
  std::string q41(20, '\0');
  q41[2] = static_cast<char>(0x01);
  q41[3] = static_cast<char>(0x7E);  // m = NaN (f16 0x7E01)
  b.tensor("q41_nan", {32}, kGgmlQ4_1, q41);
  std::string f32(8, '\0');
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::memcpy(f32.data() + 4, &nan, 4);
  b.tensor("f32_nan", {2}, kGgmlF32, f32);
  const GgufFile g = GgufFile::open(write_file(dir, b.build()));
  // Q4_K and Q4_1 load packed, so their infinity and NaN are the stored scale's and min's; the
  // f32 tensor holds a non-finite weight.
  for (const auto& [name, what] : {std::pair{"q4k_inf", "super-block scale"},
                                   std::pair{"q41_nan", "min"}, std::pair{"f32_nan", "weight"}}) {
    const QuantizedTensor t = g.tensor(*g.find(name));
    try {
      t.check_finite(name);
      ADD_FAILURE() << name;
    } catch (const FormatError& e) {
      EXPECT_NE(std::string(e.what()).find(concat("tensor ", name, ": non-finite ", what)),
                std::string::npos)
          << e.what();
    }
  }
}

TEST(Gguf, EveryTruncationIsAFormatError) {
  TempDir dir;
  const std::string bytes = tiny_llama(2).build();
  for (size_t n = 0; n < bytes.size(); n += (n < 700 ? 1 : 61)) {
    const fs::path p = write_file(dir, bytes.substr(0, n));
    EXPECT_THROW(GgufFile::open(p), FormatError) << "prefix " << n;
  }
}

TEST(Gguf, CorruptedBytesNeverEscapeAsOtherExceptions) {
  TempDir dir;
  const std::string good = tiny_llama(3).build();
  std::mt19937 rng(1234);
  for (int iter = 0; iter < 400; ++iter) {
    std::string bytes = good;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f)
      bytes[rng() % std::min<size_t>(bytes.size(), 700)] = static_cast<char>(rng());
    const fs::path p = write_file(dir, bytes);
    try {
      const GgufFile g = GgufFile::open(p);
      (void)g.hf_config();
      (void)g.spm_vocab();
      (void)g.hf_tensors();
    } catch (const Error&) {
      // Any lowbit error is fine; anything else fails the test by escaping.
    }
  }
}

}  // namespace
}  // namespace lowbit::io
