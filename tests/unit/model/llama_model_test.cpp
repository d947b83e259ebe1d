// SPDX-License-Identifier: MIT
// Forward-pass properties on synthetic models: batched prefill equals token-by-token decoding,
// results do not depend on the thread count, and bad tokens are rejected.
#include "model/llama_model.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "model/llama_config.h"
#include "model/llama_weights.h"
#include "ptq/model_loader.h"
#include "ptq/quantize_model.h"
#include "ptq/synthetic_model.h"
#include "quant/scheme.h"
#include "util/error.h"

namespace lowbit::model {
namespace {

std::vector<float> run(const LlamaModel& m, const std::vector<int32_t>& tokens, int threads,
                       bool one_by_one) {
  kernels::ExecContext ctx(threads);
  KvCache cache = m.make_cache(static_cast<int64_t>(tokens.size()));
  const auto vocab = static_cast<size_t>(m.config().vocab_size);
  std::vector<float> logits(tokens.size() * vocab);
  if (!one_by_one) {
    m.forward(tokens, 0, cache, logits.data(), ctx);
    return logits;
  }
  for (size_t t = 0; t < tokens.size(); ++t)
    m.forward(std::span(&tokens[t], 1), static_cast<int64_t>(t), cache, &logits[t * vocab], ctx);
  return logits;
}

class SyntheticForward : public ::testing::TestWithParam<bool> {};

TEST_P(SyntheticForward, PrefillMatchesDecodeAndThreadCount) {
  ptq::SyntheticSpec spec = ptq::synthetic_preset("tiny");
  spec.tie_embeddings = GetParam();
  const ptq::SyntheticModel s = ptq::make_synthetic_model(spec);
  auto m = ptq::build_model(s.config, s.tensors);
  std::vector<int32_t> tokens;
  for (int i = 0; i < 37; ++i) tokens.push_back((i * 131 + 7) % 512);
  const auto batch = run(*m, tokens, 1, false);
  const auto step = run(*m, tokens, 1, true);
  ASSERT_EQ(batch.size(), step.size());
  // Prefill multiplies tiles with sgemm, decode uses dot products: the f32 sums differ in
  // order only, so they agree to ~1e-4 of the logit scale (outlier channels make sums large).
  float scale = 0;
  for (float v : batch) scale = std::max(scale, std::abs(v));
  for (size_t i = 0; i < batch.size(); ++i) ASSERT_NEAR(batch[i], step[i], 1e-4 * scale) << i;
  for (float v : batch) ASSERT_TRUE(std::isfinite(v));
  // Bit-identical at any thread count.
  EXPECT_EQ(run(*m, tokens, 1, false), run(*m, tokens, 3, false));
  EXPECT_EQ(run(*m, tokens, 2, true), step);
}

INSTANTIATE_TEST_SUITE_P(TiedAndUntied, SyntheticForward, ::testing::Bool());

TEST(LlamaModel, QkvBiasChangesTheOutput) {
  ptq::SyntheticSpec spec = ptq::synthetic_preset("tiny");
  spec.qkv_bias = true;
  ptq::SyntheticModel s = ptq::make_synthetic_model(spec);
  EXPECT_TRUE(s.tensors.contains("model.layers.0.self_attn.k_proj.bias"));
  auto with_bias = ptq::build_model(s.config, s.tensors);
  ASSERT_TRUE(with_bias->config().qkv_bias);
  const std::vector<int32_t> tokens = {1, 50, 300, 7, 9};
  const auto a = run(*with_bias, tokens, 1, false);
  // The same weights with zero biases give different logits.
  for (const char* name : {"q_proj", "k_proj", "v_proj"})
    for (int64_t l = 0; l < spec.n_layers; ++l) {
      const std::string bias = "model.layers." + std::to_string(l) + ".self_attn." + name + ".bias";
      std::vector<float> zeros(static_cast<size_t>(s.tensors.at(bias).numel()), 0.0f);
      s.tensors.set(bias, QuantizedTensor::from_f32(zeros.data(), s.tensors.at(bias).shape));
    }
  const auto b = run(*ptq::build_model(s.config, s.tensors), tokens, 1, false);
  EXPECT_NE(a, b);
  // Prefill and decode agree with biases too.
  const auto step = run(*with_bias, tokens, 1, true);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], step[i], 1e-3);
}

TEST(LlamaModel, RejectsTokensOutsideVocabularyAndContext) {
  const ptq::SyntheticModel s = ptq::make_synthetic_model(ptq::synthetic_preset("tiny"));
  auto m = ptq::build_model(s.config, s.tensors);
  kernels::ExecContext ctx(1);
  KvCache cache = m->make_cache(4);
  std::vector<float> logits(8 * 512);
  const std::vector<int32_t> bad = {1, 512};
  EXPECT_THROW(m->forward(bad, 0, cache, logits.data(), ctx), InvalidArgument);
  const std::vector<int32_t> many = {1, 2, 3, 4, 5};
  EXPECT_THROW(m->forward(many, 0, cache, logits.data(), ctx), Error);
}

TEST(LlamaModel, MissingTensorIsNamed) {
  ptq::SyntheticModel s = ptq::make_synthetic_model(ptq::synthetic_preset("tiny"));
  s.tensors.erase("model.layers.1.mlp.up_proj.weight");
  try {
    ptq::build_model(s.config, s.tensors);
    FAIL() << "expected an error";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("model.layers.1.mlp.up_proj.weight"), std::string::npos);
  }
}

// BlockWeights::linear(i) is the linear linear_tensor_names(l)[i] names.
TEST(LlamaModel, BlockLinearsByIndexFollowTheirNames) {
  const ptq::SyntheticModel s = ptq::make_synthetic_model(ptq::synthetic_preset("tiny"));
  const LlamaConfig c = LlamaConfig::from_json(s.config);
  BlockWeights b = bind_block(c, s.tensors, 1);
  const std::vector<std::string> names = linear_tensor_names(1);
  for (int64_t i = 0; i < 7; ++i) {
    const QuantizedTensor& want = s.tensors.at(names[static_cast<size_t>(i)]);
    EXPECT_EQ(b.linear(i).codes.data(), want.codes.data()) << names[static_cast<size_t>(i)];
  }
  EXPECT_EQ(&b.linear(6), &b.w_down);
  EXPECT_THROW(b.linear(7), InvalidArgument);
  EXPECT_THROW(b.linear(-1), InvalidArgument);
}

// Logits::last writes the last position's row only: the same values as the full run's last row.
TEST(LlamaModel, LastLogitsEqualTheFullRunsLastRow) {
  const ptq::SyntheticModel s = ptq::make_synthetic_model(ptq::synthetic_preset("tiny"));
  auto m = ptq::build_model(s.config, s.tensors);
  std::vector<int32_t> tokens;
  for (int i = 0; i < 21; ++i) tokens.push_back((i * 37 + 3) % 512);
  const auto all = run(*m, tokens, 2, false);
  kernels::ExecContext ctx(2);
  KvCache cache = m->make_cache(static_cast<int64_t>(tokens.size()));
  const auto vocab = static_cast<size_t>(m->config().vocab_size);
  std::vector<float> last(vocab);
  m->forward(tokens, 0, cache, last.data(), ctx, nullptr, LlamaModel::Logits::last);
  // One row goes through the head's decode kernel, many through its tiled product: the same
  // sums in another order.
  float scale = 0;
  for (float v : all) scale = std::max(scale, std::abs(v));
  for (size_t j = 0; j < vocab; ++j)
    ASSERT_NEAR(last[j], all[(tokens.size() - 1) * vocab + j], 1e-4 * scale) << j;
}

// With int8 activation blocks (a w4g32 model: every linear takes that path), prefill and
// decode agree up to attention's f32 summation order, and threads change no bit.
TEST(LlamaModel, Int8ActivationsPrefillMatchesDecodeAndThreadCount) {
  const ptq::SyntheticModel s = ptq::make_synthetic_model(ptq::synthetic_preset("tiny"));
  ModelSource source;
  source.config = s.config;
  source.tensors = s.tensors;
  source.format = "hf";
  kernels::ExecContext qctx(1);
  const ptq::QuantizedModel q = ptq::quantize_model(source, quant::find_scheme("w4g32"), qctx);
  auto m = ptq::build_model(s.config, q.tensors);
  std::vector<int32_t> tokens;
  for (int i = 0; i < 19; ++i) tokens.push_back((i * 53 + 11) % 512);
  auto run_int8 = [&](int threads, bool one_by_one) {
    kernels::ExecContext ctx(threads);
    ctx.int8_activations = true;
    KvCache cache = m->make_cache(static_cast<int64_t>(tokens.size()));
    const auto vocab = static_cast<size_t>(m->config().vocab_size);
    std::vector<float> logits(tokens.size() * vocab);
    if (!one_by_one) {
      m->forward(tokens, 0, cache, logits.data(), ctx);
    } else {
      for (size_t t = 0; t < tokens.size(); ++t)
        m->forward(std::span(&tokens[t], 1), static_cast<int64_t>(t), cache, &logits[t * vocab],
                   ctx);
    }
    return logits;
  };
  const auto batch = run_int8(1, false);
  const auto step = run_int8(1, true);
  const auto f32 = run(*m, tokens, 1, false);
  float scale = 0;
  for (float v : f32) scale = std::max(scale, std::abs(v));
  double moved = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    ASSERT_NEAR(batch[i], step[i], 1e-3 * scale) << i;
    moved = std::max(moved, static_cast<double>(std::abs(batch[i] - f32[i])));
  }
  EXPECT_GT(moved, 0.0);  // the int8 path really ran
  EXPECT_LT(moved, 0.1 * scale);
  EXPECT_EQ(run_int8(3, false), batch);
  EXPECT_EQ(run_int8(2, true), step);
}

}  // namespace
}  // namespace lowbit::model
