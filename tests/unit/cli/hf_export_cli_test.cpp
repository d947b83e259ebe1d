// SPDX-License-Identifier: MIT
// `lowbit quantize --format compressed-tensors|gptq|awq`: the exported directory loads back into
// exactly the tensors (codes, scales, zero-points, activation quantization) the same scheme
// gives with --format lowbit, on a synthetic model and on stories260K; schemes a layout cannot
// hold and existing outputs are refused with one line.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <tuple>

#include <nlohmann/json.hpp>

#include "io/hf_quantized.h"
#include "io/model_source.h"
#include "testing/test_data.h"

namespace lowbit::testing {
namespace {

namespace fs = std::filesystem;

void expect_same_tensors(const TensorMap& a, const TensorMap& b) {
  ASSERT_EQ(a.names(), b.names());
  for (const std::string& name : a.names()) {
    const QuantizedTensor& x = a.at(name);
    const QuantizedTensor& y = b.at(name);
    EXPECT_EQ(x.format, y.format) << name << ": " << format_name(x.format) << " vs "
                                  << format_name(y.format);
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

// Exports `model` with `scheme` as `format` and as a lowbit checkpoint; both must load the same.
void expect_export_matches(const TempDir& tmp, const fs::path& model, const std::string& format,
                           const std::string& scheme, const std::string& extra = "") {
  SCOPED_TRACE(format + " " + scheme);
  const std::string tag = format + "-" + scheme;
  const fs::path out = tmp.path() / tag, ckpt = tmp.path() / (tag + "-lowbit");
  const std::string base = "quantize -m " + model.string() + " --scheme " + scheme + " " + extra;
  const CommandResult e = run_lowbit(base + " --format " + format + " --out " + out.string());
  ASSERT_EQ(e.exit_code, 0) << e.err;
  const CommandResult c = run_lowbit(base + " --out " + ckpt.string());
  ASSERT_EQ(c.exit_code, 0) << c.err;
  const ModelSource exported = load_model_source(out);
  EXPECT_EQ(exported.format, format);
  EXPECT_FALSE(exported.config.contains("lowbit_rope_interleaved"));
  // Adjacent-pair q/k rows (llama2.c, GGUF sources) are exported in HF's half-split order.
  const ModelSource lowbit = load_model_source(ckpt);
  if (lowbit.config.value("lowbit_rope_interleaved", false)) {
    expect_same_tensors(exported.tensors,
                        io::rope_tensors_to_half_split(lowbit.config, lowbit.tensors));
  } else {
    expect_same_tensors(exported.tensors, lowbit.tensors);
  }
  EXPECT_TRUE(fs::exists(out / "config.json"));
  EXPECT_TRUE(fs::exists(out / "model.safetensors"));
}

TEST(HfExportCli, SyntheticModelReadsBackAsTheLowbitCheckpoint) {
  TempDir tmp;
  const fs::path hf = tmp.path() / "hf";
  ASSERT_EQ(run_lowbit("synth --preset tiny --out " + hf.string()).exit_code, 0);
  for (const auto& [format, scheme] :
       {std::pair{"compressed-tensors", "w4g16"}, std::pair{"compressed-tensors", "w4g16-sym"},
        std::pair{"compressed-tensors", "w8"}, std::pair{"compressed-tensors", "w8a8"},
        std::pair{"compressed-tensors", "fp8-dynamic"}, std::pair{"compressed-tensors", "fp8"},
        std::pair{"gptq", "w4g16-sym"}, std::pair{"gptq", "w8"}, std::pair{"awq", "w4g16"},
        std::pair{"awq", "w4g16-sym"}}) {
    expect_export_matches(tmp, hf, format, scheme);
  }
}

TEST(HfExportCli, Stories260KReadsBackAsTheLowbitCheckpoint) {
  LB_REQUIRE_DATA(model, "stories260K/stories260K.bin");
  TempDir tmp;
  // dim 64, hidden 172: per-channel int4 and groups of 4 for compressed-tensors, 8-bit codes
  // (whole 32-bit words) for gptq; awq needs output rows in multiples of 8, which 172 is not.
  expect_export_matches(tmp, model, "compressed-tensors", "w4");
  expect_export_matches(tmp, model, "compressed-tensors", "w4g4");
  expect_export_matches(tmp, model, "compressed-tensors", "w8a8");
  expect_export_matches(tmp, model, "gptq", "w8");
  // The tokenizer travels with the export.
  const ModelSource exported = load_model_source(tmp.path() / "gptq-w8");
  EXPECT_NE(exported.tokenizer, nullptr);
}

// The permuted q/k rows rotate right: the exports score the lowbit checkpoint's perplexity (to
// float rounding: half-split RoPE sums the q.k products in another order than adjacent pairs).
TEST(HfExportCli, Stories260KExportsEvaluateAsTheLowbitCheckpoint) {
  LB_REQUIRE_DATA(model, "stories260K/stories260K.bin");
  LB_REQUIRE_DATA(text, "eval/tinystories_valid_part1.txt");
  TempDir tmp;
  expect_export_matches(tmp, model, "compressed-tensors", "w4g4");
  expect_export_matches(tmp, model, "gptq", "w8");
  auto ppl = [&](const std::string& dir) {
    const CommandResult r = run_lowbit("eval --model " + (tmp.path() / dir).string() + " --text " +
                                       text.string() + " --chunks 4 --json");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.exit_code == 0 ? nlohmann::json::parse(r.out).at("ppl").get<double>() : -1.0;
  };
  const double w4 = ppl("compressed-tensors-w4g4-lowbit");
  EXPECT_GT(w4, 1.0);
  EXPECT_NEAR(ppl("compressed-tensors-w4g4"), w4, 1e-5 * w4);
  const double w8 = ppl("gptq-w8-lowbit");
  EXPECT_GT(w8, 1.0);
  EXPECT_NEAR(ppl("gptq-w8"), w8, 1e-5 * w8);
}

TEST(HfExportCli, RefusesWhatALayoutCannotHoldWithOneLine) {
  TempDir tmp;
  const fs::path hf = tmp.path() / "hf";
  ASSERT_EQ(run_lowbit("synth --preset tiny --out " + hf.string()).exit_code, 0);
  const fs::path out = tmp.path() / "out";
  const std::string base = "quantize -m " + hf.string() + " --out " + out.string() + " ";
  expect_one_line_error(run_lowbit(base + "--scheme nf4 --format compressed-tensors"), 2,
                        "--scheme nf4 (nf4 b64) has no compressed-tensors equivalent; the "
                        "nearest is an int4 group scheme");
  expect_one_line_error(run_lowbit(base + "--scheme llm-int8 --format compressed-tensors"), 2,
                        "the nearest is w8a8");
  expect_one_line_error(run_lowbit(base + "--scheme tcq3 --format compressed-tensors"), 2,
                        "--scheme tcq3 (trellis3 L12) has no compressed-tensors equivalent");
  expect_one_line_error(run_lowbit(base + "--scheme tcq3 --format gptq"), 2,
                        "has no gptq equivalent");
  expect_one_line_error(run_lowbit(base + "--scheme w8a8 --format awq"), 2,
                        "has no awq equivalent; the nearest is an int4 group scheme");
  expect_one_line_error(run_lowbit(base + "--scheme w4g32 --format awq"), 2,
                        "176 input columns are not a multiple of the group size 32");
  expect_one_line_error(run_lowbit(base + "--scheme w4g16 --format gptq --head w4g16"), 2,
                        "lm_head.weight");
  EXPECT_FALSE(fs::exists(out));
  // An existing export is replaced only with --force.
  ASSERT_EQ(run_lowbit(base + "--scheme w4g16 --format awq").exit_code, 0);
  expect_one_line_error(run_lowbit(base + "--scheme w4g16-sym --format awq"), 2, "--force");
  const CommandResult forced = run_lowbit(base + "--scheme w4g16-sym --format awq --force");
  EXPECT_EQ(forced.exit_code, 0) << forced.err;
  expect_one_line_error(run_lowbit(base + "--scheme w4g16 --format gptq --force"), 2,
                        "not a gptq directory");
}

}  // namespace
}  // namespace lowbit::testing
