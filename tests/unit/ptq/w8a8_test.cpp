// SPDX-License-Identifier: MIT
// W8A8 / FP8 calibration: SmoothQuant's scales and folding, static activation scales, the
// activation profile behind `lowbit outliers`, and whole-model W8A8 on the demo model.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "kernels/kernels.h"
#include "model/block_forward.h"
#include "model/llama_config.h"
#include "model/llama_weights.h"
#include "ptq/activation_profile.h"
#include "ptq/calibrated_quantize.h"
#include "ptq/calibration_windows.h"
#include "ptq/input_stats.h"
#include "ptq/model_loader.h"
#include "ptq/smooth_block.h"
#include "ptq/synthetic_model.h"
#include "quant/scheme.h"

namespace lowbit::ptq {
namespace {

ModelSource source_of(const SyntheticModel& m) {
  ModelSource source;
  source.config = m.config;
  source.tensors = m.tensors;
  return source;
}

std::vector<std::vector<int32_t>> windows_for(int64_t vocab, int64_t samples, int64_t len) {
  std::vector<int32_t> tokens(4096);
  for (size_t i = 0; i < tokens.size(); ++i)
    tokens[i] = static_cast<int32_t>((i * 131 + i / 3) % static_cast<size_t>(vocab));
  return calibration_windows(tokens, samples, len, 3);
}

// The residual channels synthetic_model.cpp plants as outliers.
std::set<int64_t> planted_channels(const SyntheticSpec& s) {
  std::set<int64_t> out;
  for (int64_t i = 0; i < s.outlier_channels; ++i) out.insert((i * 7919 + 13) % s.dim);
  return out;
}

TEST(SmoothQuant, ScalesFollowTheFormulaAndLeaveDeadChannelsAlone) {
  const std::vector<float> x_max{4.0f, 1.0f, 0.0f, 9.0f}, w_max{1.0f, 0.25f, 2.0f, 0.0f};
  const std::vector<float> s = smooth_scales(x_max, w_max, 0.5);
  EXPECT_FLOAT_EQ(s[0], 2.0f);  // sqrt(4) / sqrt(1)
  EXPECT_FLOAT_EQ(s[1], 2.0f);  // sqrt(1) / sqrt(0.25)
  EXPECT_EQ(s[2], 1.0f);        // a dead input channel keeps its scale
  EXPECT_EQ(s[3], 1.0f);        // so does a channel no weight reads
  EXPECT_FLOAT_EQ(smooth_scales(x_max, w_max, 1.0)[0], 4.0f);  // all difficulty to weights
  EXPECT_FLOAT_EQ(smooth_scales(x_max, w_max, 0.0)[1], 4.0f);  // 1 / max|W|
}

TEST(SmoothQuant, FoldingLeavesTheUnquantizedBlockUnchangedAndBeatsPlainW8a8) {
  SyntheticSpec spec = synthetic_preset("tiny");
  spec.n_kv_heads = spec.n_heads;  // no GQA: o is smoothed into v too
  spec.outlier_activation = 4.0f;
  const SyntheticModel m = make_synthetic_model(spec);
  const model::LlamaConfig c = model::LlamaConfig::from_json(m.config);
  const int64_t len = 32;
  const auto windows = windows_for(c.vocab_size, 1, len);
  kernels::ExecContext ctx(2);
  const model::BlockWeights block = model::bind_block(c, m.tensors, 0);
  std::vector<float> x(static_cast<size_t>(len * c.dim));
  for (int64_t t = 0; t < len; ++t)
    kernels::embedding_lookup(m.tensors.at("model.embed_tokens.weight"),
                              windows[0][static_cast<size_t>(t)],
                              &x[static_cast<size_t>(t * c.dim)]);
  std::vector<std::unique_ptr<InputStats>> stats;
  for (const int64_t cols : {c.dim, c.q_dim(), c.dim, c.hidden_dim})
    stats.push_back(std::make_unique<InputStats>(cols, len, 64));
  const model::LinearObserver observer = [&](int64_t, model::LinearInput input, const float* in,
                                             int64_t rows, int64_t) {
    stats[static_cast<size_t>(input)]->add(in, rows, *ctx.pool);
  };
  model::KvCache cache(1, len, c.kv_dim());
  model::BlockScratch scratch;
  const std::vector<float> inv_freq = c.rope_inv_freq();
  std::vector<float> expected = x;
  model::run_block(c, block, inv_freq, 0, 0, expected.data(), len, 0, cache, scratch, ctx,
                   &observer);
  const std::array<const InputStats*, 4> views{stats[0].get(), stats[1].get(), stats[2].get(),
                                               stats[3].get()};
  for (const double alpha : {0.5, -1.0}) {
    SCOPED_TRACE(alpha);
    SmoothOptions options;
    options.alpha = alpha;
    const SmoothBlockResult r =
        quantize_smooth_block(c, block, views, quant::find_scheme("smoothquant"), options, ctx);
    for (const double a : r.alphas) {
      EXPECT_GE(a, 0.0);  // every group was smoothed
      EXPECT_LE(a, 1.0);
    }
    model::BlockWeights folded = block;
    folded.attn_norm = r.attn_norm;
    folded.ffn_norm = r.ffn_norm;
    QuantizedTensor* slots[7] = {&folded.wq,     &folded.wk,   &folded.wv,    &folded.wo,
                                 &folded.w_gate, &folded.w_up, &folded.w_down};
    for (size_t i = 0; i < 7; ++i)
      *slots[i] =
          QuantizedTensor::from_f32(r.folded[i].data(), {slots[i]->rows(), slots[i]->cols()});
    std::vector<float> got = x;
    model::run_block(c, folded, inv_freq, 0, 0, got.data(), len, 0, cache, scratch, ctx);
    double max_err = 0, max_abs = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      max_err = std::max(max_err, static_cast<double>(std::fabs(got[i] - expected[i])));
      max_abs = std::max(max_abs, static_cast<double>(std::fabs(expected[i])));
    }
    EXPECT_LT(max_err, 1e-4 * max_abs);
    // The qkv and gate/up inputs carry the planted outliers: smoothing must pay off there.
    for (const size_t i : {0u, 1u, 2u, 4u, 5u}) EXPECT_LT(r.error[i], r.plain_error[i]) << i;
    for (size_t i = 0; i < 7; ++i) EXPECT_EQ(r.linears[i].act.kind, ActQuantKind::int8_token);
  }
  // Static scales: the largest observed |x| of the (unsmoothed) input over 127.
  SmoothOptions plain;
  plain.smooth = false;
  const SmoothBlockResult s =
      quantize_smooth_block(c, block, views, quant::find_scheme("w8a8-static"), plain, ctx);
  const std::vector<float> qkv_max = stats[0]->abs_max();
  EXPECT_FLOAT_EQ(s.linears[0].act.scale,
                  *std::max_element(qkv_max.begin(), qkv_max.end()) / 127.0f);
  EXPECT_EQ(s.linears[0].act.kind, ActQuantKind::int8_tensor_static);
  EXPECT_EQ(s.attn_norm, block.attn_norm);
}

TEST(ActivationProfile, FindsTheDemoModelsPlantedChannelsExactly) {
  const SyntheticSpec spec = synthetic_preset("demo");
  const SyntheticModel m = make_synthetic_model(spec);
  const auto model = build_model(m.config, m.tensors);
  kernels::ExecContext ctx(2);
  const ActivationProfile p = profile_activations(*model, windows_for(spec.vocab_size, 2, 64), ctx);
  EXPECT_EQ(p.tokens, 128);
  ASSERT_EQ(static_cast<int64_t>(p.inputs.size()), spec.n_layers * model::kLinearInputs);
  const std::set<int64_t> planted = planted_channels(spec);
  for (const InputProfile& in : p.inputs) {
    if (in.input != model::LinearInput::qkv && in.input != model::LinearInput::gate_up) continue;
    // The planted channels are the largest ones, far above the rest.
    std::vector<float> sorted = in.abs_max;
    std::sort(sorted.begin(), sorted.end(), std::greater<>());
    const float cut = sorted[planted.size()];  // the largest unplanted channel at most
    std::set<int64_t> found;
    for (size_t j = 0; j < in.abs_max.size(); ++j)
      if (in.abs_max[j] > cut) found.insert(static_cast<int64_t>(j));
    EXPECT_EQ(found, planted) << "layer " << in.layer << " " << model::linear_input_name(in.input);
    const InputOutliers s = summarize_input(in.abs_max, 0.5f * sorted[planted.size() - 1]);
    EXPECT_GT(s.ratio, 10.0);
    EXPECT_EQ(std::set<int64_t>(s.above.begin(), s.above.end()), planted);
  }
  const auto shared = shared_outlier_channels(p, model::LinearInput::qkv, 30.0f, spec.n_layers);
  std::set<int64_t> everywhere;
  for (const auto& [channel, layers] : shared) everywhere.insert(channel);
  EXPECT_EQ(everywhere, planted);
}

TEST(W8A8Model, OutputsAreIdenticalAcrossThreadCountsAndSurviveTheCalibrationDriver) {
  const SyntheticSpec spec = synthetic_preset("tiny");
  const SyntheticModel m = make_synthetic_model(spec);
  const ModelSource source = source_of(m);
  const auto windows = windows_for(spec.vocab_size, 4, 48);
  const std::vector<int32_t> tokens(windows[0].begin(), windows[0].begin() + 40);
  for (const char* name : {"w8a8", "llm-int8", "fp8-dynamic", "smoothquant", "w8a8-static"}) {
    SCOPED_TRACE(name);
    QuantizeOptions options;
    options.linear = quant::find_scheme(name);
    std::vector<std::vector<float>> logits;
    for (const int threads : {1, 3}) {
      kernels::ExecContext ctx(threads);
      const QuantizedModel q = needs_calibration(options)
                                   ? quantize_calibrated(source, options, windows, {}, ctx).model
                                   : quantize_model(source, options, ctx);
      for (const std::string& n : model::linear_tensor_names(0))
        EXPECT_EQ(q.tensors.at(n).act.kind, options.linear->act.kind);
      const auto model = build_model(m.config, q.tensors);
      model::KvCache cache = model->make_cache(64);
      std::vector<float> out(tokens.size() * static_cast<size_t>(spec.vocab_size));
      model->forward(tokens, 0, cache, out.data(), ctx);
      logits.push_back(std::move(out));
    }
    EXPECT_EQ(logits[0], logits[1]);
  }
}

}  // namespace
}  // namespace lowbit::ptq
