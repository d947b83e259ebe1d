// SPDX-License-Identifier: MIT
// Mixed bit widths (--tensor-type REGEX=SCHEME): each block linear takes the scheme of the first
// rule matching its HF or GGUF name, data-free or through GPTQ, the result and its resume store
// record the per-tensor formats, and compressed-tensors refuses what vLLM's fused q/k/v and
// gate/up layers cannot hold.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "io/hf_quantized.h"
#include "model/llama_config.h"
#include "ptq/block_store.h"
#include "ptq/calibrated_quantize.h"
#include "ptq/calibration_windows.h"
#include "ptq/quantize_model.h"
#include "quant/scheme.h"
#include "testing/synthetic_source.h"
#include "testing/test_data.h"
#include "util/error.h"

namespace lowbit::ptq {
namespace {

ModelSource tiny_source() { return testing::synthetic_source("tiny"); }

QuantizeOptions options_with(const std::string& linear,
                             const std::vector<std::pair<std::string, std::string>>& rules) {
  QuantizeOptions o;
  o.linear = quant::find_scheme(linear);
  for (const auto& [pattern, scheme] : rules)
    o.rules.emplace_back(pattern, quant::find_scheme(scheme));
  return o;
}

std::vector<std::vector<int32_t>> windows(int64_t vocab) {
  std::vector<int32_t> tokens(4096);
  for (size_t i = 0; i < tokens.size(); ++i)
    tokens[i] = static_cast<int32_t>((i * 131 + i / 3) % static_cast<size_t>(vocab));
  return calibration_windows(tokens, 4, 48, 3);
}

bool same_codes(const QuantizedTensor& a, const QuantizedTensor& b) {
  return a.format == b.format && a.codes.size() == b.codes.size() &&
         std::memcmp(a.codes.data(), b.codes.data(), a.codes.size()) == 0 &&
         a.scales.size() == b.scales.size() &&
         (a.scales.size() == 0 ||
          std::memcmp(a.scales.data(), b.scales.data(), a.scales.size()) == 0);
}

TEST(TensorRules, EachLinearTakesTheFirstRuleMatchingItsHfOrGgufName) {
  const ModelSource source = tiny_source();
  kernels::ExecContext ctx(2);
  const QuantizeOptions o = options_with(
      "w3g32", {{R"(blk\.0\.attn_v)", "w8"}, {"v_proj", "w4g32"}, {"mlp.down", "q8_0"}});
  EXPECT_EQ(o.name(), R"(w3g32 blk\.0\.attn_v=w8 v_proj=w4g32 mlp.down=q8_0)");
  const QuantizedModel q = quantize_model(source, o, ctx);
  const QuantizedModel plain = quantize_model(source, quant::find_scheme("w3g32"), ctx);
  const model::LlamaConfig c = model::LlamaConfig::from_json(source.config);
  const QuantFormat w8 = quant::find_scheme("w8").format, w4 = quant::find_scheme("w4g32").format,
                    w3 = quant::find_scheme("w3g32").format, q8 = quant::find_scheme("q8_0").format;
  int64_t ruled = 0;
  model::for_each_linear(c, [&](const std::string& name, const Shape&) {
    const QuantizedTensor& t = q.tensors.at(name);
    if (name == "model.layers.0.self_attn.v_proj.weight") {
      EXPECT_EQ(t.format, w8) << name;  // the GGUF-name rule, before the broader one
    } else if (name.ends_with("v_proj.weight")) {
      EXPECT_EQ(t.format, w4) << name;
    } else if (name.ends_with("down_proj.weight")) {
      EXPECT_EQ(t.format, q8) << name;
    } else {
      EXPECT_EQ(t.format, w3) << name;
      EXPECT_TRUE(same_codes(t, plain.tensors.at(name))) << name;  // untouched by the rules
      return;
    }
    ++ruled;
  });
  EXPECT_EQ(ruled, 2 * c.n_layers);
  EXPECT_GT(q.linear_bits_per_weight, plain.linear_bits_per_weight);
  const nlohmann::json& rules = q.quantization.at("tensor_types");
  ASSERT_EQ(rules.size(), 3u);
  EXPECT_EQ(rules[0]["tensors"], nlohmann::json({"model.layers.0.self_attn.v_proj.weight"}));
  EXPECT_EQ(rules[1]["tensors"], nlohmann::json({"model.layers.1.self_attn.v_proj.weight"}));
  EXPECT_EQ(rules[2]["scheme"], "q8_0");
  EXPECT_EQ(rules[2]["tensors"].size(), static_cast<size_t>(c.n_layers));
  EXPECT_EQ(q.quantization["scheme"], o.name());
}

TEST(TensorRules, RefusesRulesThatMatchNothingLackASchemeOrDoNotParse) {
  const ModelSource source = tiny_source();
  kernels::ExecContext ctx(1);
  EXPECT_THROW(quantize_model(source, options_with("w4g32", {{"vproj", "w8"}}), ctx),
               InvalidArgument);
  // A rule after one that takes every linear it would match also matches nothing.
  EXPECT_THROW(
      quantize_model(source, options_with("w4g32", {{"proj", "w8"}, {"v_proj", "w3g32"}}), ctx),
      InvalidArgument);
  QuantizeOptions no_scheme;
  no_scheme.rules.emplace_back("v_proj", quant::find_scheme("w8"));
  EXPECT_THROW(quantize_model(source, no_scheme, ctx), InvalidArgument);
  EXPECT_THROW(TensorRule("v(", quant::find_scheme("w8")), InvalidArgument);
  // A calibrated rule needs the calibration driver.
  EXPECT_TRUE(needs_calibration(options_with("w4g32", {{"v_proj", "gptq-w8"}})));
  EXPECT_FALSE(needs_calibration(options_with("w4g32", {{"v_proj", "hqq-w4g32"}})));
  EXPECT_THROW(quantize_model(source, options_with("w4g32", {{"v_proj", "gptq-w8"}}), ctx),
               InvalidArgument);
  // AWQ and SmoothQuant fold one scale per group of linears: they take no rules.
  const auto w = windows(512);
  EXPECT_THROW(
      quantize_calibrated(source, options_with("awq-w4g32", {{"v_proj", "awq-w8"}}), w, {}, ctx),
      InvalidArgument);
  EXPECT_THROW(
      quantize_calibrated(source, options_with("gptq-w4g32", {{"v_proj", "awq-w8"}}), w, {}, ctx),
      InvalidArgument);
}

TEST(TensorRules, GptqQuantizesEachLinearInItsOwnSchemeAndResumesThem) {
  const ModelSource source = tiny_source();
  const model::LlamaConfig c = model::LlamaConfig::from_json(source.config);
  const auto w = windows(c.vocab_size);
  kernels::ExecContext ctx(2);
  const QuantizeOptions o =
      options_with("gptq-w3g32", {{"down_proj", "gptq-w8"}, {"o_proj", "w4g32"}});
  const CalibratedModel plain =
      quantize_calibrated(source, options_with("gptq-w3g32", {}), w, {}, ctx);

  testing::TempDir tmp;
  const nlohmann::json run = calibration_fingerprint(o, w, {});
  EXPECT_NE(run, calibration_fingerprint(options_with("gptq-w3g32", {}), w, {}));
  int64_t resumed = 0;
  const auto count = [&](const CalibrationProgress& p) { resumed += p.resumed ? 1 : 0; };
  BlockStore store(tmp.path() / "partial", run);
  const CalibratedModel a = quantize_calibrated(source, o, w, {}, ctx, count, &store);
  EXPECT_EQ(resumed, 0);
  const CalibratedModel b = quantize_calibrated(source, o, w, {}, ctx, count, &store);
  EXPECT_EQ(resumed, c.n_layers);  // every block reused, formats checked per tensor

  ASSERT_EQ(a.report.size(), static_cast<size_t>(7 * c.n_layers));
  for (const LayerReport& r : a.report) {
    if (r.name.ends_with("down_proj.weight")) {
      EXPECT_EQ(r.scheme, "gptq-w8");
      EXPECT_EQ(r.method, "gptq");
      EXPECT_LT(r.error, r.rtn_error) << r.name;
      EXPECT_EQ(a.model.tensors.at(r.name).format, quant::find_scheme("w8").format);
    } else if (r.name.ends_with("o_proj.weight")) {
      EXPECT_EQ(r.scheme, "w4g32");
      EXPECT_EQ(r.method, "rtn");
      EXPECT_DOUBLE_EQ(r.error, r.rtn_error) << r.name;
      EXPECT_EQ(a.model.tensors.at(r.name).format, quant::find_scheme("w4g32").format);
    } else {
      EXPECT_EQ(r.scheme, "gptq-w3g32");
    }
  }
  // Block 0's q/k/v see the same inputs with or without the rules.
  for (const char* n : {"q_proj", "k_proj", "v_proj"}) {
    const std::string name = std::string("model.layers.0.self_attn.") + n + ".weight";
    EXPECT_TRUE(same_codes(a.model.tensors.at(name), plain.model.tensors.at(name))) << name;
  }
  for (const std::string& name : a.model.tensors.names())
    EXPECT_TRUE(same_codes(a.model.tensors.at(name), b.model.tensors.at(name))) << name;
  EXPECT_EQ(a.model.quantization["tensor_types"][0]["scheme"], "gptq-w8");
  EXPECT_EQ(a.model.quantization["algorithm"], "gptq");
}

// The error check_hf_quant_exportable gives `tensors` ("" when it accepts them).
std::string ct_refusal(const TensorMap& tensors) {
  try {
    io::check_hf_quant_exportable(io::HfQuantLayout::compressed_tensors, tensors);
  } catch (const InvalidArgument& e) {
    return e.what();
  }
  return "";
}

TEST(TensorRules, CompressedTensorsNeedsOneSchemePerFusedLayer) {
  const ModelSource source = tiny_source();
  kernels::ExecContext ctx(1);
  const auto mixed = [&](const char* pattern) {
    return quantize_model(source, options_with("w4g16", {{pattern, "w8"}}), ctx).tensors;
  };
  EXPECT_NE(ct_refusal(mixed("v_proj")).find("vLLM fuses it with"), std::string::npos);
  EXPECT_NE(ct_refusal(mixed("up_proj")).find("vLLM fuses it with"), std::string::npos);
  const TensorMap fused = mixed("self_attn.[qkv]_proj");
  EXPECT_EQ(ct_refusal(fused), "");
  EXPECT_EQ(ct_refusal(mixed("mlp.(gate|up)_proj")), "");
  // AutoGPTQ's directory holds one scheme for the whole model.
  EXPECT_THROW(io::check_hf_quant_exportable(io::HfQuantLayout::gptq, fused), InvalidArgument);
}

}  // namespace
}  // namespace lowbit::ptq
