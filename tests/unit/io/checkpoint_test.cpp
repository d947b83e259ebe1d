// SPDX-License-Identifier: MIT
// lowbit checkpoints (bit-identical round trips of every QuantFormat kind) and HF directories.
#include "io/checkpoint.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "io/safetensors.h"
#include "testing/test_data.h"
#include "util/error.h"

namespace lowbit::io {
namespace {

namespace fs = std::filesystem;
using lowbit::testing::TempDir;
using nlohmann::json;

Buffer random_bytes(size_t n, uint32_t seed) {
  Buffer b = Buffer::allocate(n);
  std::mt19937 rng(seed);
  for (size_t i = 0; i < n; ++i) b.mutable_data()[i] = static_cast<uint8_t>(rng());
  return b;
}

// A tensor of `format` and `shape` whose buffers hold random bytes of the sizes the format
// documents (quant_format.h), so the round trip must preserve arbitrary bit patterns.
QuantizedTensor make_tensor(QuantFormat format, Shape shape, uint32_t seed) {
  QuantizedTensor t;
  t.format = format;
  t.shape = std::move(shape);
  t.codes = random_bytes(t.buffer_sizes().codes, seed);
  if (!format.is_dense()) {
    const auto n = static_cast<size_t>(t.scale_count());
    t.scales = random_bytes(format.double_quant ? n : n * dtype_size(format.scale_dtype), seed + 1);
    if (format.has_zeros()) t.zeros = random_bytes(n * 2, seed + 2);
    if (format.double_quant) {
      t.nested_scales = random_bytes((n + 255) / 256 * 4, seed + 3);
      t.nested_offset = 0.1234567f;
    }
  }
  t.validate("test");
  return t;
}

bool same_bytes(const Buffer& a, const Buffer& b) {
  return a.size() == b.size() && (a.size() == 0 || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

TensorMap every_kind() {
  TensorMap m;
  uint32_t seed = 1;
  auto add = [&](const std::string& name, QuantFormat f, Shape s) {
    m.add(name, make_tensor(f, std::move(s), seed += 10));
  };
  add("model.norm.weight", QuantFormat::dense(QuantKind::f32), {64});
  add("dense.f16", QuantFormat::dense(QuantKind::f16), {3, 5});
  add("dense.bf16", QuantFormat::dense(QuantKind::bf16), {2, 7});
  for (int bits = 2; bits <= 8; ++bits)  // 100 columns: groups of 32 end with a ragged 4
    add("int" + std::to_string(bits) + ".g32", QuantFormat::affine(bits, 32, true), {3, 100});
  add("int4.asym", QuantFormat::affine(4, 32, false), {3, 100});
  add("int3.per_channel", QuantFormat::affine(3, kPerChannel, true), {5, 33});
  add("int8.per_tensor_asym", QuantFormat::affine(8, kPerTensor, false), {4, 16});
  add("int4.group_wider_than_row", QuantFormat::affine(4, 128, true), {2, 100});
  QuantFormat f32_scales = QuantFormat::affine(4, 64, false);
  f32_scales.scale_dtype = DType::f32;
  add("int4.f32_scales", f32_scales, {2, 130});
  add("int8.vector", QuantFormat::affine(8, 32, true), {64});
  add("nf4.b64", QuantFormat::nf4(64, false), {3, 100});
  add("nf4.dq", QuantFormat::nf4(64, true), {300, 128});  // 600 scales: 3 nested blocks
  add("fp8.e4m3", QuantFormat::fp8(QuantKind::fp8_e4m3, kPerChannel), {4, 9});
  add("fp8.e5m2", QuantFormat::fp8(QuantKind::fp8_e5m2, kPerTensor), {4, 9});
  add("trellis3", QuantFormat::trellis(3, 10), {300, 24});  // two runs of rows
  // Linears that quantize their inputs (W8A8 / FP8 schemes), one dense f32 among them.
  QuantizedTensor w8a8 = make_tensor(QuantFormat::affine(8, kPerChannel, true), {6, 40}, 91);
  w8a8.act = {ActQuantKind::int8_tensor_static, 0.0123456789f};
  m.add("w8a8.static", w8a8);
  w8a8.act = {ActQuantKind::int8_outlier_split, 0.0f, 4.5f};
  m.add("w8a8.llm_int8", w8a8);
  QuantizedTensor fp8 = make_tensor(QuantFormat::dense(QuantKind::f32), {4, 8}, 92);
  fp8.act = {ActQuantKind::fp8_token};
  m.add("f32.fp8_inputs", fp8);
  return m;
}

const json kConfig = {{"hidden_size", 64}, {"model_type", "llama"}, {"vocab_size", 512}};
const json kQuant = {{"scheme", "w4a16"}, {"algorithm", "rtn"}};

TEST(Checkpoint, EveryKindRoundTripsBitIdentical) {
  TempDir dir;
  const fs::path out = dir.path() / "ckpt";
  const TensorMap written = every_kind();
  write_checkpoint(out, kConfig, kQuant, written,
                   [](const fs::path& tmp) { std::ofstream(tmp / "tokenizer.json") << "{}"; });
  EXPECT_TRUE(fs::exists(out / "tokenizer.json"));
  EXPECT_TRUE(is_lowbit_checkpoint(out));

  const Checkpoint ck = read_checkpoint(out);
  EXPECT_EQ(ck.config, kConfig);
  EXPECT_EQ(ck.quantization, kQuant);
  ASSERT_EQ(ck.tensors.size(), written.size());
  for (const std::string& name : written.names()) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(ck.tensors.contains(name));
    const QuantizedTensor& a = written.at(name);
    const QuantizedTensor& b = ck.tensors.at(name);
    EXPECT_EQ(a.format, b.format);
    EXPECT_EQ(a.shape, b.shape);
    EXPECT_TRUE(same_bytes(a.codes, b.codes));
    EXPECT_TRUE(same_bytes(a.scales, b.scales));
    EXPECT_TRUE(same_bytes(a.zeros, b.zeros));
    EXPECT_TRUE(same_bytes(a.nested_scales, b.nested_scales));
    EXPECT_EQ(std::memcmp(&a.nested_offset, &b.nested_offset, 4), 0);
    EXPECT_EQ(a.act, b.act);
    EXPECT_FALSE(b.codes.owned());  // borrowed from the mapping
  }
}

TEST(Checkpoint, OnDiskLayoutIsTheDocumentedOne) {
  TempDir dir;
  const fs::path out = dir.path() / "ckpt";
  write_checkpoint(out, kConfig, kQuant, every_kind());
  const SafetensorsFile st = SafetensorsFile::open(out / "model.safetensors");
  EXPECT_EQ(st.at("model.norm.weight").dtype, DType::f32);
  EXPECT_EQ(st.at("dense.bf16").dtype, DType::bf16);
  EXPECT_EQ(st.at("int4.asym.codes").dtype, DType::u8);
  EXPECT_EQ(st.at("int4.asym.codes").shape, (Shape{3, 50}));
  EXPECT_EQ(st.at("int3.g32.codes").shape, (Shape{3, 38}));  // ceil(300 / 8)
  EXPECT_EQ(st.at("int4.asym.scales").dtype, DType::f16);
  EXPECT_EQ(st.at("int4.asym.scales").shape, (Shape{3, 4}));
  EXPECT_EQ(st.at("int4.asym.zeros").shape, (Shape{3, 4}));
  EXPECT_EQ(st.find("int4.g32.zeros"), nullptr);
  EXPECT_EQ(st.at("int8.per_tensor_asym.scales").shape, (Shape{1}));
  EXPECT_EQ(st.at("int3.per_channel.scales").shape, (Shape{5, 1}));
  EXPECT_EQ(st.at("int4.f32_scales.scales").dtype, DType::f32);
  EXPECT_EQ(st.at("nf4.dq.scales").dtype, DType::u8);
  EXPECT_EQ(st.at("nf4.dq.scales").shape, (Shape{300, 2}));
  EXPECT_EQ(st.at("nf4.dq.nested_scales").shape, (Shape{3}));
  EXPECT_EQ(st.at("fp8.e4m3.codes").shape, (Shape{4, 9}));
  // Trellis codes are one flat array: 24 streams of 256 rows (10 + 255 x 3 bits: 97 bytes),
  // then 24 of 44 rows (10 + 43 x 3 bits: 18 bytes); one f16 scale per row.
  EXPECT_EQ(st.at("trellis3.codes").shape, (Shape{24 * 97 + 24 * 18}));
  EXPECT_EQ(st.at("trellis3.scales").shape, (Shape{300, 1}));
  EXPECT_EQ(st.at("trellis3.scales").dtype, DType::f16);
  EXPECT_EQ(st.metadata().at("format"), "pt");

  const json config = read_config_json(out / "config.json");
  const json& q = config.at("quantization");
  EXPECT_EQ(q.at("format_version"), 1);
  EXPECT_EQ(q.at("scheme"), "w4a16");
  EXPECT_FALSE(q.at("tensors").contains("model.norm.weight"));  // dense f32 is implied
  const json& e = q.at("tensors").at("int4.asym");
  EXPECT_EQ(e.at("kind"), "int");
  EXPECT_EQ(e.at("bits"), 4);
  EXPECT_EQ(e.at("group_size"), 32);
  EXPECT_EQ(e.at("symmetric"), false);
  EXPECT_EQ(e.at("scale_dtype"), "F16");
  EXPECT_EQ(e.at("shape"), json::array({3, 100}));
  EXPECT_EQ(q.at("tensors").at("nf4.dq").at("double_quant"), true);
  EXPECT_EQ(q.at("tensors").at("dense.f16").at("kind"), "f16");
  EXPECT_EQ(q.at("tensors").at("trellis3").at("kind"), "trellis");
  EXPECT_EQ(q.at("tensors").at("trellis3").at("state_bits"), 10);
  EXPECT_FALSE(e.contains("state_bits"));  // only trellis tensors carry it
}

TEST(Checkpoint, RewritingReplacesTheDirectoryOnlyWhenAsked) {
  TempDir dir;
  const fs::path out = dir.path() / "ckpt";
  write_checkpoint(out, kConfig, nullptr, every_kind());
  TensorMap small;
  small.add("w", make_tensor(QuantFormat::affine(4, 32, true), {2, 64}, 7));
  EXPECT_THROW(write_checkpoint(out, kConfig, nullptr, small), InvalidArgument);
  EXPECT_EQ(read_checkpoint(out).tensors.size(), every_kind().size());
  write_checkpoint(out, kConfig, nullptr, small, {}, /*replace=*/true);
  const Checkpoint ck = read_checkpoint(out);
  EXPECT_EQ(ck.tensors.names(), std::vector<std::string>{"w"});
  EXPECT_EQ(ck.quantization, json::object());
}

TEST(Checkpoint, NeverReplacesOtherData) {
  TempDir dir;
  TensorMap small;
  small.add("w", make_tensor(QuantFormat::affine(4, 32, true), {2, 64}, 7));
  // An ordinary file is never turned into a directory, even with replace.
  const fs::path file = dir.path() / "notes.txt";
  std::ofstream(file) << "keep me";
  EXPECT_THROW(write_checkpoint(file, kConfig, nullptr, small, {}, true), InvalidArgument);
  EXPECT_TRUE(fs::is_regular_file(file));
  // A directory that is not a checkpoint keeps its contents.
  const fs::path data = dir.path() / "data";
  fs::create_directories(data);
  std::ofstream(data / "a.txt") << "keep me too";
  EXPECT_THROW(write_checkpoint(data, kConfig, nullptr, small, {}, true), InvalidArgument);
  EXPECT_TRUE(fs::exists(data / "a.txt"));
  // An empty directory is fine without replace.
  const fs::path empty = dir.path() / "empty";
  fs::create_directories(empty);
  write_checkpoint(empty, kConfig, nullptr, small);
  EXPECT_TRUE(is_lowbit_checkpoint(empty));
  // Nothing temporary is left beside them.
  for (const auto& e : fs::directory_iterator(dir.path()))
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
}

// Writes a valid checkpoint, lets `edit` change its config.json, expects `Error` mentioning
// every part.
template <typename ErrorType>
void expect_read_error(const std::function<void(json&)>& edit, std::vector<std::string> parts) {
  TempDir dir;
  const fs::path out = dir.path() / "ckpt";
  write_checkpoint(out, kConfig, kQuant, every_kind());
  json config = read_config_json(out / "config.json");
  edit(config);
  std::ofstream(out / "config.json") << config.dump();
  try {
    read_checkpoint(out);
    ADD_FAILURE() << "no error for " << parts[0];
  } catch (const ErrorType& e) {
    for (const auto& part : parts)
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

TEST(Checkpoint, InconsistentCheckpointsAreRefused) {
  auto tensors = [](json& c) -> json& { return c["quantization"]["tensors"]; };
  expect_read_error<FormatError>([](json& c) { c.erase("quantization"); }, {"quantization"});
  expect_read_error<Unsupported>([](json& c) { c["quantization"]["format_version"] = 2; },
                                 {"format_version 2"});
  expect_read_error<FormatError>([&](json& c) { tensors(c)["int4.asym"]["kind"] = "int5"; },
                                 {"int4.asym", "unknown kind"});
  expect_read_error<FormatError>(
      [&](json& c) {
        tensors(c)["int4.asym"]["shape"] = {4, 100};
      },
      {"int4.asym", "code bytes"});
  expect_read_error<FormatError>([&](json& c) { tensors(c)["int4.asym"]["scale_dtype"] = "F32"; },
                                 {"int4.asym.scales", "expected F32"});
  expect_read_error<FormatError>([&](json& c) { tensors(c)["int4.asym"]["bits"] = "four"; },
                                 {"int4.asym", "bits"});
  expect_read_error<FormatError>([&](json& c) { tensors(c).erase("nf4.b64"); },
                                 {"nf4.b64.codes", "does not describe"});
  expect_read_error<FormatError>([&](json& c) { tensors(c)["ghost"] = tensors(c)["int4.asym"]; },
                                 {"ghost.codes"});
  expect_read_error<FormatError>(
      [&](json& c) {
        tensors(c)["dense.f16"]["shape"] = {5, 3};
      },
      {"dense.f16", "shape"});
  expect_read_error<FormatError>(
      [&](json& c) { tensors(c)["w8a8.static"]["activations"]["kind"] = "int7-token"; },
      {"w8a8.static", "unknown kind 'int7-token'"});
  expect_read_error<FormatError>(
      [&](json& c) { tensors(c)["w8a8.static"]["activations"]["scale"] = -1.0; },
      {"w8a8.static", "finite activation scale"});
  expect_read_error<FormatError>(
      [&](json& c) {
        tensors(c)["int4.asym"]["activations"] = tensors(c)["w8a8.static"]["activations"];
      },
      {"int4.asym", "8-bit symmetric"});
  expect_read_error<FormatError>(
      [&](json& c) { tensors(c)["w8a8.llm_int8"]["activations"].erase("threshold"); },
      {"w8a8.llm_int8", "threshold"});
}

TEST(Checkpoint, MalformedConfigJsonNamesTheFile) {
  TempDir dir;
  std::ofstream(dir.path() / "config.json") << "{\"hidden_size\": 64,";
  try {
    read_checkpoint(dir.path());
    ADD_FAILURE();
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("config.json: invalid JSON: "), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(read_hf_directory(dir.path()), FormatError);
  EXPECT_FALSE(is_lowbit_checkpoint(dir.path()));
  EXPECT_FALSE(is_lowbit_checkpoint(dir.path() / "missing"));
  EXPECT_THROW(read_config_json(dir.path() / "missing.json"), FormatError);
}

TEST(HfDirectory, SingleFileShardsAndMissingWeights) {
  TempDir dir;
  std::ofstream(dir.path() / "config.json") << kConfig.dump();
  const std::vector<float> w = {1, 2, 3, 4, 5, 6};
  const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(w.data()), 24);
  EXPECT_THROW(read_hf_directory(dir.path()), FormatError);  // no weights yet
  std::ofstream(dir.path() / "pytorch_model.bin") << "x";
  EXPECT_THROW(read_hf_directory(dir.path()), Unsupported);
  write_safetensors(dir.path() / "model-00001-of-00001.safetensors",
                    {{"model.layers.0.self_attn.q_proj.weight", DType::f32, {2, 3}, bytes}});
  std::ofstream(dir.path() / "model.safetensors.index.json")
      << R"({"weight_map":{"model.layers.0.self_attn.q_proj.weight":)"
         R"("model-00001-of-00001.safetensors"}})";
  const HfModel sharded = read_hf_directory(dir.path());
  EXPECT_EQ(sharded.config, kConfig);
  EXPECT_EQ(sharded.tensors.at("model.layers.0.self_attn.q_proj.weight").shape, (Shape{2, 3}));
  write_safetensors(dir.path() / "model.safetensors",
                    {{"model.embed_tokens.weight", DType::f32, {3, 2}, bytes}});
  const HfModel single = read_hf_directory(dir.path());  // model.safetensors wins
  EXPECT_EQ(single.tensors.names(), std::vector<std::string>{"model.embed_tokens.weight"});
  EXPECT_EQ(single.tensors.at("model.embed_tokens.weight").codes.as<float>()[5], 6.0f);
  EXPECT_FALSE(is_lowbit_checkpoint(dir.path()));
}

}  // namespace
}  // namespace lowbit::io
