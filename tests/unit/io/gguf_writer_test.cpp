// SPDX-License-Identifier: MIT
// The GGUF writer against lowbit's own GGUF reader: every tensor and metadata key survives a
// write and a read bit for bit, the layout rules llama.cpp checks hold (v3, offsets equal the
// running padded sizes, alignment 32), HF RoPE rows are permuted to GGUF order, and tensors no
// GGUF type holds are refused by name.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "io/gguf.h"
#include "io/gguf_writer.h"
#include "io/hf_names.h"
#include "quant/ggml_rtn.h"
#include "quant/rtn.h"
#include "tensor/dequantize.h"
#include "testing/test_data.h"
#include "util/error.h"

namespace lowbit::io {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

GgufFile tiny() {
  return GgufFile::open(fs::path(LOWBIT_SOURCE_DIR) / "tests" / "fixtures" / "gguf" /
                        "tiny_llama.gguf");
}

// A 16-token SentencePiece vocabulary for the tiny model.
std::vector<GgufKv> tiny_tokenizer() {
  json tokens = json::array(), scores = json::array(), types = json::array();
  const char* pieces[] = {"<unk>", "<s>", "</s>", "\xE2\x96\x81", "a",  "b",   "c",   "d",
                          "e",     "▁a",  "▁b",   "ab",           "cd", "▁ab", "abc", "de"};
  for (int i = 0; i < 16; ++i) {
    tokens.push_back(pieces[i]);
    scores.push_back(-0.5 * i);
    types.push_back(i == 0 ? 2 : i < 3 ? 3 : 1);
  }
  GgufKv t{"tokenizer.ggml.tokens", GgufValueType::array, tokens, GgufValueType::string};
  GgufKv s{"tokenizer.ggml.scores", GgufValueType::array, scores, GgufValueType::f32};
  GgufKv y{"tokenizer.ggml.token_type", GgufValueType::array, types, GgufValueType::i32};
  return {{"tokenizer.ggml.model", GgufValueType::string, "llama"},
          t,
          s,
          y,
          {"tokenizer.ggml.bos_token_id", GgufValueType::u32, 1},
          {"tokenizer.ggml.eos_token_id", GgufValueType::u32, 2},
          {"tokenizer.ggml.add_bos_token", GgufValueType::boolean, true}};
}

void expect_same_tensor(const QuantizedTensor& a, const QuantizedTensor& b,
                        const std::string& name) {
  EXPECT_EQ(a.format, b.format) << name;
  EXPECT_EQ(a.shape, b.shape) << name;
  ASSERT_EQ(a.codes.size(), b.codes.size()) << name;
  EXPECT_EQ(std::memcmp(a.codes.data(), b.codes.data(), a.codes.size()), 0) << name;
  ASSERT_EQ(a.scales.size(), b.scales.size()) << name;
  if (a.scales.size() > 0) {
    EXPECT_EQ(std::memcmp(a.scales.data(), b.scales.data(), a.scales.size()), 0) << name;
  }
}

TEST(GgufWriter, RoundTripsTensorsConfigAndTokenizerBitForBit) {
  testing::TempDir tmp;
  const GgufFile src = tiny();
  const TensorMap tensors = src.hf_tensors();
  const json config = src.hf_config();
  const fs::path out = tmp.path() / "out.gguf";
  write_gguf(out, config, tensors, tiny_tokenizer(), 7);

  const GgufFile back = GgufFile::open(out);
  EXPECT_EQ(back.version(), 3u);
  EXPECT_EQ(back.alignment(), 32u);
  EXPECT_EQ(back.hf_config(), config);
  const json& m = back.metadata();
  EXPECT_EQ(m.at("general.architecture"), "llama");
  EXPECT_EQ(m.at("general.file_type"), 7);
  EXPECT_EQ(m.at("general.quantization_version"), 2);
  EXPECT_EQ(m.at("llama.rope.dimension_count"), 64);
  EXPECT_EQ(m.at("tokenizer.ggml.tokens").size(), 16u);
  EXPECT_EQ(m.at("tokenizer.ggml.token_type")[0], 2);
  ASSERT_TRUE(back.spm_vocab().has_value());
  EXPECT_EQ(back.spm_vocab()->pieces[13], "▁ab");
  EXPECT_EQ(back.spm_vocab()->scores[4], -2.0f);

  const TensorMap read = back.hf_tensors();
  ASSERT_EQ(read.names(), tensors.names());
  for (const std::string& name : tensors.names())
    expect_same_tensor(read.at(name), tensors.at(name), name);
  // Offsets are the running sums of the padded sizes, in tensor-info order.
  uint64_t offset = 0;
  for (const GgufTensorInfo& t : back.tensors()) {
    EXPECT_EQ(t.offset, offset) << t.name;
    offset += (t.size + 31) / 32 * 32;
  }
  EXPECT_EQ(back.data_offset() % 32, 0u);
  EXPECT_EQ(fs::file_size(out), back.data_offset() + offset);
  EXPECT_EQ(back.find("output.weight")->type, kGgmlQ8_0);
  EXPECT_EQ(back.find("blk.0.attn_v.weight")->type, kGgmlQ5_0);
  EXPECT_EQ(back.find("blk.0.attn_q.weight")->type, kGgmlF32);
  // Nothing but the file is left beside it.
  EXPECT_EQ(std::distance(fs::directory_iterator(tmp.path()), fs::directory_iterator()), 1);
}

TEST(GgufWriter, PermutesHfRopeRowsToAdjacentPairs) {
  testing::TempDir tmp;
  const GgufFile src = tiny();
  TensorMap tensors = src.hf_tensors();
  // q_proj as q4_1, whose per-row mins live in `zeros`: they must move with their rows too.
  const std::string q_name = "model.layers.0.self_attn.q_proj.weight";
  const std::vector<float> q_values = dequantize_reference(tensors.at(q_name));
  tensors.set(q_name, quant::quantize_ggml(q_values.data(), tensors.at(q_name).rows(),
                                           tensors.at(q_name).cols(), "q4_1", q_name));
  json config = src.hf_config();
  config["lowbit_rope_interleaved"] = false;  // as if the rows were in HF half-split order
  const fs::path out = tmp.path() / "hf.gguf";
  write_gguf(out, config, tensors, tiny_tokenizer());
  const TensorMap read = GgufFile::open(out).hf_tensors();
  const int64_t hd = 64, cols = 256;
  for (const char* name :
       {"model.layers.0.self_attn.q_proj.weight", "model.layers.0.self_attn.k_proj.weight"}) {
    // q_proj (Q4_1) and k_proj (Q4_K) are packed: compare decoded values.
    const std::vector<float> hf_values = dequantize_reference(tensors.at(name));
    const std::vector<float> gg_values = dequantize_reference(read.at(name));
    const float* hf = hf_values.data();
    const float* gg = gg_values.data();
    const int64_t heads = tensors.at(name).rows() / hd;
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t i = 0; i < hd / 2; ++i) {
        EXPECT_EQ(std::memcmp(gg + (h * hd + 2 * i) * cols, hf + (h * hd + i) * cols, cols * 4), 0)
            << name;
        EXPECT_EQ(std::memcmp(gg + (h * hd + 2 * i + 1) * cols, hf + (h * hd + hd / 2 + i) * cols,
                              cols * 4),
                  0)
            << name;
      }
  }
  // The packed Q5_0 v_proj is not a RoPE tensor and is untouched.
  expect_same_tensor(read.at("model.layers.0.self_attn.v_proj.weight"),
                     tensors.at("model.layers.0.self_attn.v_proj.weight"), "v_proj");
}

TEST(GgufWriter, RefusesFormatsNoGgufTypeHolds) {
  testing::TempDir tmp;
  const GgufFile src = tiny();
  TensorMap tensors = src.hf_tensors();
  const std::string name = "model.layers.0.mlp.gate_proj.weight";
  // A copy (it shares the bytes): tensors.set below replaces the map's entry.
  const std::vector<float> values = dequantize_reference(tensors.at(name));
  const int64_t rows = tensors.at(name).rows(), cols = tensors.at(name).cols();
  tensors.set(name, quant::quantize_rtn(values.data(), rows, cols,
                                        QuantFormat::affine(4, 128, false), name));
  const fs::path out = tmp.path() / "bad.gguf";
  try {
    write_gguf(out, src.hf_config(), tensors, tiny_tokenizer());
    FAIL() << "expected Unsupported";
  } catch (const Unsupported& e) {
    EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("int4 g128 asym"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(out));
  EXPECT_FALSE(gguf_type_for(tensors.at(name)).has_value());
  EXPECT_EQ(gguf_type_for(QuantizedTensor::from_f32(values.data(), {32, 256})), kGgmlF32);
}

TEST(GgufWriter, NamesMapBothWays) {
  const GgufFile src = tiny();
  for (const GgufTensorInfo& t : src.tensors()) {
    const std::optional<std::string> hf = hf_name_from_gguf(t.name);
    ASSERT_TRUE(hf.has_value()) << t.name;
    EXPECT_EQ(gguf_name_from_hf(*hf), t.name);
  }
  EXPECT_EQ(gguf_name_from_hf("model.layers.12.self_attn.q_proj.bias"), "blk.12.attn_q.bias");
  EXPECT_FALSE(gguf_name_from_hf("model.layers.x.mlp.up_proj.weight").has_value());
  EXPECT_FALSE(gguf_name_from_hf("model.rotary_emb.inv_freq").has_value());
}

TEST(GgufWriter, TokenizerKeysKeepTheirLlamaCppTypes) {
  testing::TempDir tmp;
  const GgufFile src = tiny();
  const fs::path first = tmp.path() / "a.gguf";
  write_gguf(first, src.hf_config(), src.hf_tensors(), tiny_tokenizer());
  const std::vector<GgufKv> copied = gguf_tokenizer_metadata(GgufFile::open(first));
  auto find = [&](const std::string& key) -> const GgufKv& {
    for (const GgufKv& kv : copied)
      if (kv.key == key) return kv;
    throw std::runtime_error("missing " + key);
  };
  EXPECT_EQ(find("tokenizer.ggml.scores").element, GgufValueType::f32);
  EXPECT_EQ(find("tokenizer.ggml.token_type").element, GgufValueType::i32);
  EXPECT_EQ(find("tokenizer.ggml.tokens").element, GgufValueType::string);
  EXPECT_EQ(find("tokenizer.ggml.bos_token_id").type, GgufValueType::u32);
  EXPECT_EQ(find("tokenizer.ggml.add_bos_token").type, GgufValueType::boolean);
  EXPECT_EQ(find("tokenizer.ggml.model").type, GgufValueType::string);
  EXPECT_EQ(copied.size(), tiny_tokenizer().size());
  EXPECT_THROW(gguf_tokenizer_metadata(src), FormatError);  // tiny_llama.gguf has none
}

TEST(GgufWriter, SentencePieceVocabularyRoundTrips) {
  testing::TempDir tmp;
  SpmVocab v;
  for (int i = 0; i < 16; ++i) {
    v.pieces.push_back(i == 0   ? "<unk>"
                       : i == 1 ? "<s>"
                       : i == 2 ? "</s>"
                                : "▁p" + std::to_string(i));
    v.scores.push_back(-0.25f * static_cast<float>(i));
    v.types.push_back(i == 0 ? 2 : i < 3 ? 3 : 1);
  }
  v.add_dummy_prefix = false;
  const std::vector<GgufKv> keys = gguf_spm_tokenizer_metadata(v);
  const GgufFile src = tiny();
  const fs::path out = tmp.path() / "spm.gguf";
  write_gguf(out, src.hf_config(), src.hf_tensors(), keys);
  const std::optional<SpmVocab> back = GgufFile::open(out).spm_vocab();
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->pieces, v.pieces);
  EXPECT_EQ(back->scores, v.scores);
  EXPECT_EQ(back->types, v.types);
  EXPECT_EQ(back->bos_id, 1);
  EXPECT_EQ(back->eos_id, 2);
  EXPECT_EQ(back->unk_id, 0);
  EXPECT_FALSE(back->add_dummy_prefix);
}

// Resident kilobytes of this process's mapping that holds `p` (/proc/self/smaps), or -1.
int64_t resident_kb_of_mapping(const void* p) {
  std::ifstream smaps("/proc/self/smaps");
  const auto at = reinterpret_cast<uintptr_t>(p);
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    unsigned long begin = 0, end = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &begin, &end) == 2 && line.find('-') < 17) {
      inside = at >= begin && at < end;
    } else if (inside && line.rfind("Rss:", 0) == 0) {
      return std::stoll(line.substr(4));
    }
  }
  return -1;
}

TEST(GgufReader, DropsTheFilesPagesOfTensorsItConverts) {
  // Tensors repacked into memory of their own (here Q4_0) must not also stay resident as the
  // mapped file's pages: otherwise a quantized GGUF costs twice its size in memory.
  testing::TempDir tmp;
  const GgufFile src = tiny();
  TensorMap tensors = src.hf_tensors();
  int64_t packed_bytes = 0;
  for (const std::string& name : tensors.names()) {
    if (name.find("layers.") == std::string::npos || tensors.at(name).shape.size() != 2) continue;
    const std::vector<float> values = dequantize_reference(tensors.at(name));
    tensors.set(name, quant::quantize_ggml(values.data(), tensors.at(name).rows(),
                                           tensors.at(name).cols(), "q4_0", name));
    packed_bytes += tensors.at(name).storage_bytes();
  }
  const fs::path out = tmp.path() / "q4_0.gguf";
  write_gguf(out, src.hf_config(), tensors, tiny_tokenizer());
  const GgufFile back = GgufFile::open(out);
  // Fault every tensor's bytes in, then load them all.
  uint64_t sum = 0;
  for (const GgufTensorInfo& t : back.tensors())
    for (uint64_t i = 0; i < t.size; i += 512) sum += t.data[i];
  const uint8_t* anywhere = back.tensors().front().data;
  const int64_t before = resident_kb_of_mapping(anywhere);
  ASSERT_GT(before, 0) << sum;
  ASSERT_GT(packed_bytes, 100 * 1024);
  const TensorMap read = back.hf_tensors();
  const int64_t after = resident_kb_of_mapping(anywhere);
  // Whole pages inside each tensor are dropped; the pages at tensor edges may stay.
  EXPECT_LT(after, before - packed_bytes / 1024 / 2) << "resident kB before " << before;
  EXPECT_EQ(read.at("model.layers.0.mlp.up_proj.weight").format, QuantFormat::affine(4, 32, true));
}

}  // namespace
}  // namespace lowbit::io
