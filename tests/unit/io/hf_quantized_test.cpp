// SPDX-License-Identifier: MIT
// compressed-tensors / GPTQ / AWQ directories: exact round trips of random codes, scales and
// integer zero-points; the documented bit layouts on hand-made values; one-line refusals.
#include "io/hf_quantized.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "numerics/half.h"
#include "testing/test_data.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace lowbit::io {
namespace {

namespace fs = std::filesystem;
using lowbit::testing::TempDir;
using nlohmann::json;

const json kConfig = {{"model_type", "llama"}, {"hidden_size", 64}};

// Random codes, positive f16 (or f32) scales, integer zero-points in [zlo, 2^bits - 1].
QuantizedTensor make_tensor(QuantFormat f, int64_t rows, int64_t cols, uint32_t seed,
                            uint32_t zlo = 0) {
  std::mt19937 rng(seed);
  QuantizedTensor t;
  t.format = f;
  t.shape = {rows, cols};
  t.codes = Buffer::allocate(t.row_bytes() * static_cast<size_t>(rows));
  for (size_t i = 0; i < t.codes.size(); ++i)
    t.codes.mutable_data()[i] = static_cast<uint8_t>(rng());
  const auto n = static_cast<size_t>(t.scale_count());
  t.scales = Buffer::allocate(n * dtype_size(f.scale_dtype));
  for (size_t i = 0; i < n; ++i) {
    const float s = 0.001f * static_cast<float>(1 + rng() % 1000);
    if (f.scale_dtype == DType::f16)
      t.scales.as_mutable<uint16_t>()[i] = f32_to_f16(s);
    else
      t.scales.as_mutable<float>()[i] = s;
  }
  if (f.has_zeros()) {
    t.zeros = Buffer::allocate(n * 2);
    const uint32_t span = (1u << f.bits) - zlo;
    for (size_t i = 0; i < n; ++i)
      t.zeros.as_mutable<uint16_t>()[i] = f32_to_f16(static_cast<float>(zlo + rng() % span));
  }
  return t;
}

TensorMap model_with(const QuantizedTensor& q, const QuantizedTensor& k) {
  TensorMap m;
  const float norm[4] = {1, 2, 3, 4};
  m.add("model.layers.0.input_layernorm.weight", QuantizedTensor::from_f32(norm, {4}));
  m.add("model.layers.0.self_attn.k_proj.weight", k);  // natural name order, as read back
  m.add("model.layers.0.self_attn.q_proj.weight", q);
  return m;
}

void expect_same(const TensorMap& a, const TensorMap& b) {
  ASSERT_EQ(a.names(), b.names());
  for (const std::string& name : a.names()) {
    const QuantizedTensor& x = a.at(name);
    const QuantizedTensor& y = b.at(name);
    EXPECT_EQ(x.format, y.format) << name << ": " << format_name(y.format);
    EXPECT_EQ(x.shape, y.shape) << name;
    EXPECT_EQ(x.act.kind, y.act.kind) << name;
    EXPECT_EQ(x.act.scale, y.act.scale) << name;
    for (auto [bx, by] : {std::pair{&x.codes, &y.codes}, std::pair{&x.scales, &y.scales},
                          std::pair{&x.zeros, &y.zeros}}) {
      ASSERT_EQ(bx->size(), by->size()) << name;
      if (bx->size() > 0) {
        EXPECT_EQ(std::memcmp(bx->data(), by->data(), bx->size()), 0) << name;
      }
    }
  }
}

void round_trip(HfQuantLayout layout, const TensorMap& m) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "out";
  write_hf_quantized(dir, layout, kConfig, m);
  ASSERT_EQ(detect_hf_quantized(dir), layout);
  const HfQuantized back = read_hf_quantized(dir);
  EXPECT_EQ(back.config, kConfig);
  expect_same(m, back.tensors);
}

TEST(HfQuantized, CompressedTensorsPackQuantizedRoundTrips) {
  for (int bits : {2, 3, 4, 5, 8}) {
    for (bool sym : {true, false}) {
      for (int g : {32, kPerChannel, kPerTensor}) {
        SCOPED_TRACE(concat(bits, " bits, group ", g, sym ? " sym" : " asym"));
        const QuantFormat f = QuantFormat::affine(bits, g, sym);
        round_trip(HfQuantLayout::compressed_tensors,
                   model_with(make_tensor(f, 24, 64, 1), make_tensor(f, 8, 64, 2)));
      }
    }
  }
  QuantFormat f32_scales = QuantFormat::affine(4, 16, false);
  f32_scales.scale_dtype = DType::f32;
  round_trip(HfQuantLayout::compressed_tensors,
             model_with(make_tensor(f32_scales, 8, 48, 3), make_tensor(f32_scales, 8, 48, 4)));
}

TEST(HfQuantized, CompressedTensorsW8A8AndFp8RoundTrip) {
  QuantizedTensor q = make_tensor(QuantFormat::affine(8, kPerChannel, true), 16, 32, 5);
  QuantizedTensor k = make_tensor(QuantFormat::affine(8, kPerChannel, true), 8, 32, 6);
  q.act.kind = k.act.kind = ActQuantKind::int8_token;
  round_trip(HfQuantLayout::compressed_tensors, model_with(q, k));
  q.act = k.act = ActivationQuant{ActQuantKind::int8_tensor_static, 0.0123f};
  round_trip(HfQuantLayout::compressed_tensors, model_with(q, k));

  auto fp8 = [](int g, uint32_t seed) {
    QuantizedTensor t = make_tensor(QuantFormat::fp8(QuantKind::fp8_e4m3, g), 8, 32, seed);
    for (size_t i = 0; i < t.codes.size(); ++i)  // no NaN codes (0x7f / 0xff)
      if ((t.codes.data()[i] & 0x7f) == 0x7f) t.codes.mutable_data()[i] = 1;
    return t;
  };
  QuantizedTensor fq = fp8(kPerChannel, 7), fk = fp8(kPerChannel, 8);
  fq.act.kind = fk.act.kind = ActQuantKind::fp8_token;
  round_trip(HfQuantLayout::compressed_tensors, model_with(fq, fk));
  fq = fp8(kPerTensor, 9);
  fk = fp8(kPerTensor, 10);
  fq.act = fk.act = ActivationQuant{ActQuantKind::fp8_tensor_static, 0.5f};
  round_trip(HfQuantLayout::compressed_tensors, model_with(fq, fk));
}

TEST(HfQuantized, GptqAndAwqRoundTrip) {
  for (bool sym : {true, false}) {
    for (int bits : {2, 4, 8}) {
      for (int g : {32, kPerChannel}) {
        SCOPED_TRACE(concat("gptq ", bits, " bits, group ", g, sym ? " sym" : " asym"));
        const QuantFormat f = QuantFormat::affine(bits, g, sym);
        round_trip(HfQuantLayout::gptq,
                   model_with(make_tensor(f, 32, 64, 11, 1), make_tensor(f, 16, 64, 12, 1)));
      }
    }
    SCOPED_TRACE(sym ? "awq sym" : "awq asym");
    const QuantFormat f = QuantFormat::affine(4, 16, sym);
    round_trip(HfQuantLayout::awq,
               model_with(make_tensor(f, 24, 64, 13), make_tensor(f, 8, 64, 14)));
  }
}

// The documented layouts, on values whose packing is known by hand.
TEST(HfQuantized, LayoutsMatchTheReferenceBitOrder) {
  const QuantFormat f = QuantFormat::affine(4, 8, true);
  QuantizedTensor t = make_tensor(f, 8, 8, 21);
  // Row n holds code (n + k) % 16 at column k.
  for (int64_t n = 0; n < 8; ++n)
    for (int64_t k = 0; k < 8; k += 2)
      t.codes.mutable_data()[n * 4 + k / 2] =
          static_cast<uint8_t>(((n + k) % 16) | (((n + k + 1) % 16) << 4));
  const TensorMap m = model_with(t, t);
  TempDir tmp;
  auto word = [](const SafetensorsFile& file, const std::string& name, size_t i) {
    return file.buffer(file.at(name)).as<uint32_t>()[i];
  };
  const std::string p = "model.layers.0.self_attn.q_proj.";

  write_hf_quantized(tmp.path() / "ct", HfQuantLayout::compressed_tensors, kConfig, m);
  const SafetensorsFile ct = SafetensorsFile::open(tmp.path() / "ct" / "model.safetensors");
  EXPECT_EQ(ct.at(p + "weight_packed").shape, (Shape{8, 1}));
  EXPECT_EQ(word(ct, p + "weight_packed", 1), 0x87654321u);  // row 1: codes 1..8, element 0 low
  const json qc = read_config_json(tmp.path() / "ct" / "config.json").at("quantization_config");
  EXPECT_EQ(qc.at("format"), "pack-quantized");
  EXPECT_EQ(qc.at("ignore"), json::array({"lm_head"}));
  EXPECT_EQ(qc.at("config_groups").at("group_0").at("weights").at("strategy"), "group");
  EXPECT_EQ(qc.at("config_groups").at("group_0").at("weights").at("group_size"), 8);

  write_hf_quantized(tmp.path() / "gptq", HfQuantLayout::gptq, kConfig, m);
  const SafetensorsFile gq = SafetensorsFile::open(tmp.path() / "gptq" / "model.safetensors");
  EXPECT_EQ(gq.at(p + "qweight").shape, (Shape{1, 8}));
  EXPECT_EQ(word(gq, p + "qweight", 2), 0x98765432u);  // output 2: inputs 0..7, input 0 low
  EXPECT_EQ(word(gq, p + "qzeros", 0), 0x77777777u);   // symmetric zero 8 stored as 8 - 1
  EXPECT_TRUE(fs::exists(tmp.path() / "gptq" / "quantize_config.json"));

  write_hf_quantized(tmp.path() / "awq", HfQuantLayout::awq, kConfig, m);
  const SafetensorsFile aq = SafetensorsFile::open(tmp.path() / "awq" / "model.safetensors");
  EXPECT_EQ(aq.at(p + "qweight").shape, (Shape{8, 1}));
  // Input 0: output n holds code n; nibble i holds output [0,2,4,6,1,3,5,7][i].
  EXPECT_EQ(word(aq, p + "qweight", 0), 0x75316420u);
  EXPECT_EQ(word(aq, p + "qzeros", 0), 0x88888888u);
}

// Adjacent-pair RoPE rows move to half-split order with their scales and zero-points; a
// per-tensor scale stays.
TEST(HfQuantized, RopeRowsMoveWholeToHalfSplitOrder) {
  const QuantizedTensor t = make_tensor(QuantFormat::affine(4, 16, false), 8, 32, 51);
  const QuantizedTensor p = rope_rows_to_half_split(t, 2, "q");  // 2 heads of 4 rows
  const int64_t from[8] = {0, 2, 1, 3, 4, 6, 5, 7};
  for (int64_t r = 0; r < 8; ++r) {
    EXPECT_EQ(std::memcmp(p.codes.data() + r * 16, t.codes.data() + from[r] * 16, 16), 0) << r;
    EXPECT_EQ(std::memcmp(p.scales.data() + r * 4, t.scales.data() + from[r] * 4, 4), 0) << r;
    EXPECT_EQ(std::memcmp(p.zeros.data() + r * 4, t.zeros.data() + from[r] * 4, 4), 0) << r;
  }
  const QuantizedTensor pt = rope_rows_to_half_split(
      make_tensor(QuantFormat::affine(8, kPerTensor, true), 8, 4, 52), 1, "k");
  EXPECT_EQ(pt.scales.size(), 2u);
  EXPECT_THROW(rope_rows_to_half_split(t, 3, "q"), InvalidArgument);
}

TEST(HfQuantized, RefusesWhatALayoutCannotHoldWithOneLine) {
  TempDir tmp;
  auto refuse = [&](HfQuantLayout layout, const TensorMap& m, const std::string& needle) {
    const fs::path dir = tmp.path() / "refused";
    try {
      write_hf_quantized(dir, layout, kConfig, m);
      ADD_FAILURE() << "accepted; expected: " << needle;
    } catch (const InvalidArgument& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(needle), std::string::npos) << what;
      EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    }
    EXPECT_FALSE(fs::exists(dir));
  };
  QuantizedTensor frac = make_tensor(QuantFormat::affine(4, 32, false), 8, 64, 31, 1);
  frac.zeros.as_mutable<uint16_t>()[3] = f32_to_f16(2.5f);
  const QuantizedTensor ok = make_tensor(QuantFormat::affine(4, 32, false), 8, 64, 32, 1);
  for (HfQuantLayout l :
       {HfQuantLayout::compressed_tensors, HfQuantLayout::gptq, HfQuantLayout::awq}) {
    refuse(l, model_with(frac, ok),
           "tensor model.layers.0.self_attn.q_proj.weight: zero-point 2.5 (entry 3) is not an "
           "integer");
  }
  QuantizedTensor zero0 = make_tensor(QuantFormat::affine(4, 32, false), 8, 64, 33, 1);
  zero0.zeros.as_mutable<uint16_t>()[0] = f32_to_f16(0.0f);
  refuse(HfQuantLayout::gptq, model_with(zero0, ok), "is not an integer in [1, 15], which gptq");
  const QuantizedTensor nf4 = make_tensor(QuantFormat::nf4(32), 8, 64, 34);
  refuse(HfQuantLayout::compressed_tensors, model_with(nf4, ok),
         "nf4 has no compressed-tensors equivalent; the nearest is an int4 group scheme");
  refuse(HfQuantLayout::awq,
         model_with(make_tensor(QuantFormat::affine(4, 32, true), 12, 64, 35),
                    make_tensor(QuantFormat::affine(4, 32, true), 12, 64, 36)),
         "12 output rows are not a multiple of 8");
  refuse(HfQuantLayout::gptq,
         model_with(make_tensor(QuantFormat::affine(4, 32, true), 8, 64, 37),
                    make_tensor(QuantFormat::affine(4, 16, true), 8, 64, 38)),
         "gptq holds one scheme for all layers");
  refuse(HfQuantLayout::compressed_tensors,
         model_with(make_tensor(QuantFormat::affine(4, 32, true), 8, 48, 39), ok),
         "48 input columns are not a multiple of the group size 32");
}

TEST(HfQuantized, ReaderRejectsInconsistentFilesWithOneLine) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "gptq";
  const QuantizedTensor t = make_tensor(QuantFormat::affine(4, 32, true), 8, 64, 41);
  write_hf_quantized(dir, HfQuantLayout::gptq, kConfig, model_with(t, t));
  json config = read_config_json(dir / "config.json");
  config["quantization_config"]["desc_act"] = true;
  write_file_atomic(dir / "config.json", config.dump());
  try {
    read_hf_quantized(dir);
    ADD_FAILURE() << "desc_act accepted";
  } catch (const Unsupported& e) {
    EXPECT_NE(std::string(e.what()).find("act-order (desc_act) is not read"), std::string::npos)
        << e.what();
  }
  config["quantization_config"]["desc_act"] = false;
  config["quantization_config"]["bits"] = 8;  // qweight shape no longer fits
  write_file_atomic(dir / "config.json", config.dump());
  try {
    read_hf_quantized(dir);
    ADD_FAILURE() << "wrong bits accepted";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("model.layers.0.self_attn"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace lowbit::io
