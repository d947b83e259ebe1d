// SPDX-License-Identifier: MIT
// A model written by the GGUF writer computes what its source computes: a synthetic model in HF
// half-split RoPE order, with its q/k/v/o linears quantized to q8_0, is written (q/k rows
// permuted to GGUF's adjacent pairs), read back (adjacent-pair RoPE) and run; the logits agree
// with the source model's up to f32 summation order.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "io/gguf.h"
#include "io/gguf_writer.h"
#include "model/llama_model.h"
#include "ptq/model_loader.h"
#include "ptq/synthetic_model.h"
#include "quant/ggml_rtn.h"
#include "testing/test_data.h"

namespace lowbit::ptq {
namespace {

std::vector<float> logits_of(const model::LlamaModel& m, const std::vector<int32_t>& tokens) {
  kernels::ExecContext ctx(1);
  model::KvCache cache = m.make_cache(static_cast<int64_t>(tokens.size()));
  std::vector<float> out(tokens.size() * static_cast<size_t>(m.config().vocab_size));
  m.forward(tokens, 0, cache, out.data(), ctx);
  return out;
}

TEST(GgufExportModel, HfOrderModelRunsTheSameAfterExport) {
  const SyntheticModel s = make_synthetic_model(synthetic_preset("tiny"));
  ASSERT_FALSE(s.config.value("lowbit_rope_interleaved", false));
  TensorMap tensors = s.tensors;
  for (const std::string& name : s.tensors.names()) {
    if (name.find("self_attn") == std::string::npos || name.find("weight") == std::string::npos)
      continue;
    const QuantizedTensor& t = s.tensors.at(name);
    ASSERT_EQ(t.format.kind, QuantKind::f32);
    tensors.set(name, quant::quantize_ggml(t.codes.as<float>(), t.rows(), t.cols(), "q8_0", name));
  }
  testing::TempDir tmp;
  const auto path = tmp.path() / "synthetic.gguf";
  nlohmann::json tokens = nlohmann::json::array();
  for (int i = 0; i < 512; ++i) {
    // Appended, not "t" + to_string(i): GCC 12 at -O3 warns (-Wrestrict) on that concatenation.
    std::string token = "t";
    token += std::to_string(i);
    tokens.push_back(token);
  }
  io::write_gguf(
      path, s.config, tensors,
      {{"tokenizer.ggml.model", io::GgufValueType::string, "llama"},
       {"tokenizer.ggml.tokens", io::GgufValueType::array, tokens, io::GgufValueType::string}});
  const io::GgufFile g = io::GgufFile::open(path);
  EXPECT_EQ(g.find("blk.0.attn_q.weight")->type, io::kGgmlQ8_0);
  const auto exported = build_model(g.hf_config(), g.hf_tensors());
  const auto source = build_model(s.config, tensors);

  std::vector<int32_t> ids;
  for (int i = 0; i < 29; ++i) ids.push_back((i * 97 + 5) % 512);
  const std::vector<float> a = logits_of(*source, ids);
  const std::vector<float> b = logits_of(*exported, ids);
  ASSERT_EQ(a.size(), b.size());
  float scale = 0, diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    scale = std::max(scale, std::abs(a[i]));
    diff = std::max(diff, std::abs(a[i] - b[i]));
  }
  EXPECT_GT(scale, 0.0f);
  EXPECT_LE(diff, 1e-4f * scale);

  // Without the permutation (the config claiming GGUF order already) the model differs: the
  // comparison above can fail.
  nlohmann::json wrong = s.config;
  wrong["lowbit_rope_interleaved"] = true;
  const auto unpermuted_path = tmp.path() / "unpermuted.gguf";
  io::write_gguf(
      unpermuted_path, wrong, tensors,
      {{"tokenizer.ggml.model", io::GgufValueType::string, "llama"},
       {"tokenizer.ggml.tokens", io::GgufValueType::array, tokens, io::GgufValueType::string}});
  const io::GgufFile u = io::GgufFile::open(unpermuted_path);
  const std::vector<float> c = logits_of(*build_model(u.hf_config(), u.hf_tensors()), ids);
  float wrong_diff = 0;
  for (size_t i = 0; i < a.size(); ++i) wrong_diff = std::max(wrong_diff, std::abs(a[i] - c[i]));
  EXPECT_GT(wrong_diff, 1e-2f * scale);
}

}  // namespace
}  // namespace lowbit::ptq
