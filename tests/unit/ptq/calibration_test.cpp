// SPDX-License-Identifier: MIT
// The calibration seam: windows, input statistics, the block-by-block driver with GPTQ, and
// GPTQ against RTN on the real SmolLM2's layers with real calibration inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>

#include "eval/text_file.h"
#include "io/model_source.h"
#include "kernels/kernels.h"
#include "model/block_forward.h"
#include "model/llama_config.h"
#include "model/llama_weights.h"
#include "ptq/awq_block.h"
#include "ptq/calibrated_quantize.h"
#include "ptq/calibration_windows.h"
#include "ptq/input_stats.h"
#include "ptq/model_loader.h"
#include "ptq/synthetic_model.h"
#include "quant/gptq.h"
#include "quant/rtn.h"
#include "quant/scheme.h"
#include "testing/model_kl.h"
#include "testing/test_data.h"
#include "util/error.h"

namespace lowbit::ptq {
namespace {

TEST(CalibrationWindows, DeterministicInRangeAndRefusesShortText) {
  std::vector<int32_t> tokens(1000);
  for (int i = 0; i < 1000; ++i) tokens[static_cast<size_t>(i)] = i;
  const auto a = calibration_windows(tokens, 16, 100, 7);
  const auto b = calibration_windows(tokens, 16, 100, 7);
  const auto c = calibration_windows(tokens, 16, 100, 8);
  ASSERT_EQ(a.size(), 16u);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  for (const auto& w : a) {
    ASSERT_EQ(w.size(), 100u);
    for (size_t i = 1; i < w.size(); ++i) EXPECT_EQ(w[i], w[i - 1] + 1);  // consecutive tokens
    EXPECT_LE(w.back(), 999);
  }
  EXPECT_THROW(calibration_windows(tokens, 4, 1001, 0), InvalidArgument);
  EXPECT_THROW(calibration_windows(tokens, 0, 10, 0), InvalidArgument);
  EXPECT_EQ(calibration_windows(tokens, 3, 1000, 0)[2].front(), 0);  // one possible start
}

TEST(CalibrationWindows, BosLeadsEveryWindowFollowedByConsecutiveText) {
  std::vector<int32_t> tokens(1000);
  for (int i = 0; i < 1000; ++i) tokens[static_cast<size_t>(i)] = i + 10;
  const auto windows = calibration_windows(tokens, 32, 100, 4, /*bos_id=*/1);
  ASSERT_EQ(windows.size(), 32u);
  for (const auto& w : windows) {
    ASSERT_EQ(w.size(), 100u);
    EXPECT_EQ(w[0], 1);
    for (size_t i = 2; i < w.size(); ++i) EXPECT_EQ(w[i], w[i - 1] + 1);
    EXPECT_GE(w[1], 10);
    EXPECT_LE(w.back(), 1009);
  }
  // With the BOS slot, 1000 text tokens fill a window of 1001.
  EXPECT_EQ(calibration_windows(tokens, 2, 1001, 0, 1)[1][1], 10);
  EXPECT_THROW(calibration_windows(tokens, 2, 1002, 0, 1), InvalidArgument);
}

TEST(InputStats, HessianMomentsAndSamplesMatchADirectComputation) {
  const int64_t rows = 300, cols = 70;
  std::vector<float> x(static_cast<size_t>(rows * cols));
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = std::sin(0.37f * static_cast<float>(i)) * (i % 7 == 0 ? 5.0f : 1.0f);
  ThreadPool one(1), three(3);
  InputStats a(cols, rows, 50), b(cols, rows, 50);
  for (int64_t r = 0; r < rows; r += 100) {  // three batches
    a.add(&x[static_cast<size_t>(r * cols)], 100, one);
    b.add(&x[static_cast<size_t>(r * cols)], 100, three);
  }
  const std::vector<double> h = a.hessian();
  EXPECT_EQ(h, b.hessian());
  for (int64_t i = 0; i < cols; i += 7)
    for (int64_t j = 0; j < cols; j += 5) {
      double direct = 0;
      for (int64_t r = 0; r < rows; ++r)
        direct += static_cast<double>(x[static_cast<size_t>(r * cols + i)]) *
                  x[static_cast<size_t>(r * cols + j)];
      direct *= 2.0 / rows;
      EXPECT_NEAR(h[static_cast<size_t>(i * cols + j)], direct, 1e-4 * (1 + std::fabs(direct)));
    }
  const auto mean = a.abs_mean();
  const auto max = a.abs_max();
  double m0 = 0;
  float x0 = 0;
  for (int64_t r = 0; r < rows; ++r) {
    m0 += std::fabs(x[static_cast<size_t>(r * cols)]);
    x0 = std::max(x0, std::fabs(x[static_cast<size_t>(r * cols)]));
  }
  EXPECT_NEAR(mean[0], m0 / rows, 1e-5);
  EXPECT_EQ(max[0], x0);
  // Every 6th row (ceil(300 / 50)).
  ASSERT_EQ(a.sample_rows(), 50);
  EXPECT_EQ(a.samples()[static_cast<size_t>(cols)], x[static_cast<size_t>(6 * cols)]);
}

TEST(InputStats, RelativeOutputErrorIsTheOutputErrorOnTheRows) {
  const int64_t rows = 5, cols = 8, n = 40;
  std::vector<float> x(static_cast<size_t>(n * cols)), w(static_cast<size_t>(rows * cols)),
      q(static_cast<size_t>(rows * cols));
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::cos(1.3f * static_cast<float>(i));
  for (size_t i = 0; i < w.size(); ++i) {
    w[i] = std::sin(0.7f * static_cast<float>(i));
    q[i] = w[i] + 0.01f * std::cos(static_cast<float>(i));
  }
  ThreadPool pool(1);
  InputStats s(cols, n, n);
  s.add(x.data(), n, pool);
  double num = 0, den = 0;
  for (int64_t t = 0; t < n; ++t)
    for (int64_t r = 0; r < rows; ++r) {
      double yw = 0, yq = 0;
      for (int64_t j = 0; j < cols; ++j) {
        yw += static_cast<double>(w[static_cast<size_t>(r * cols + j)]) *
              x[static_cast<size_t>(t * cols + j)];
        yq += static_cast<double>(q[static_cast<size_t>(r * cols + j)]) *
              x[static_cast<size_t>(t * cols + j)];
      }
      num += (yw - yq) * (yw - yq);
      den += yw * yw;
    }
  const std::vector<double> h = s.hessian();
  EXPECT_NEAR(relative_output_error(w.data(), q.data(), rows, cols, h.data()), num / den,
              1e-6 * num / den);
}

ModelSource synthetic_source(const SyntheticModel& m) {
  ModelSource source;
  source.config = m.config;
  source.tensors = m.tensors;
  return source;
}

std::vector<std::vector<int32_t>> synthetic_windows(int64_t vocab, int64_t samples, int64_t len) {
  std::vector<int32_t> tokens(4096);
  for (size_t i = 0; i < tokens.size(); ++i)
    tokens[i] = static_cast<int32_t>((i * 131 + i / 3) % static_cast<size_t>(vocab));
  return calibration_windows(tokens, samples, len, 3);
}

TEST(CalibratedQuantize, GptqBeatsRtnOnTheCalibrationRowsAndIsThreadCountInvariant) {
  SyntheticSpec spec = synthetic_preset("tiny");
  const ModelSource source = synthetic_source(make_synthetic_model(spec));
  const auto windows = synthetic_windows(spec.vocab_size, 6, 64);
  QuantizeOptions options;
  options.linear = quant::find_scheme("gptq-w3g32");
  kernels::ExecContext one(1), two(2);
  const CalibratedModel a = quantize_calibrated(source, options, windows, {}, one);
  const CalibratedModel b = quantize_calibrated(source, options, windows, {}, two);
  const model::LlamaConfig c = model::LlamaConfig::from_json(source.config);
  ASSERT_EQ(a.report.size(), static_cast<size_t>(7 * c.n_layers));
  double error = 0, rtn = 0;
  for (const LayerReport& r : a.report) {
    EXPECT_LT(r.error, r.rtn_error) << r.name;
    EXPECT_FALSE(r.rtn_fallback) << r.name;
    error += r.error;
    rtn += r.rtn_error;
  }
  EXPECT_LT(error, 0.9 * rtn);
  for (const std::string& name : a.model.tensors.names()) {
    const QuantizedTensor& ta = a.model.tensors.at(name);
    const QuantizedTensor& tb = b.model.tensors.at(name);
    ASSERT_EQ(ta.codes.size(), tb.codes.size()) << name;
    EXPECT_EQ(0, std::memcmp(ta.codes.data(), tb.codes.data(), ta.codes.size())) << name;
  }
  EXPECT_EQ(a.model.quantization["algorithm"], "gptq");
  EXPECT_EQ(a.model.quantization["calibration"]["samples"], 6);
  // The quantized model runs.
  auto built = build_model(source.config, a.model.tensors);
  std::vector<float> logits(static_cast<size_t>(c.vocab_size * 8));
  model::KvCache cache = built->make_cache(8);
  built->forward(std::span<const int32_t>(windows[0].data(), 8), 0, cache, logits.data(), two);
  for (const float v : logits) ASSERT_TRUE(std::isfinite(v));
}

// Squared error of block 0's output with `tensors`' linears against the stored block's, over
// the windows, relative to the stored output's energy.
double block0_output_error(const ModelSource& source, const TensorMap& tensors,
                           const std::vector<std::vector<int32_t>>& windows,
                           kernels::ExecContext& ctx) {
  const model::LlamaConfig c = model::LlamaConfig::from_json(source.config);
  const model::BlockWeights ref = model::bind_block(c, source.tensors, 0);
  const model::BlockWeights q = model::bind_block(c, tensors, 0);
  const std::vector<float> inv_freq = c.rope_inv_freq();
  const auto len = static_cast<int64_t>(windows[0].size());
  model::KvCache cache(1, len, c.kv_dim());
  model::BlockScratch scratch;
  double num = 0, den = 0;
  for (const auto& w : windows) {
    std::vector<float> x(static_cast<size_t>(len * c.dim));
    for (int64_t t = 0; t < len; ++t)
      kernels::embedding_lookup(source.tensors.at("model.embed_tokens.weight"),
                                w[static_cast<size_t>(t)], &x[static_cast<size_t>(t * c.dim)]);
    std::vector<float> y = x;
    model::run_block(c, ref, inv_freq, 0, 0, x.data(), len, 0, cache, scratch, ctx);
    model::run_block(c, q, inv_freq, 0, 0, y.data(), len, 0, cache, scratch, ctx);
    for (size_t i = 0; i < x.size(); ++i) {
      num += (static_cast<double>(x[i]) - y[i]) * (static_cast<double>(x[i]) - y[i]);
      den += static_cast<double>(x[i]) * x[i];
    }
  }
  return num / den;
}

// The same codes and scales, byte for byte (an empty buffer may have no data pointer, which
// memcmp must not see).
bool same_bytes(const QuantizedTensor& x, const QuantizedTensor& y) {
  const auto same = [](const Buffer& a, const Buffer& b) {
    return a.size() == b.size() &&
           (a.size() == 0 || std::memcmp(a.data(), b.data(), a.size()) == 0);
  };
  return same(x.codes, y.codes) && same(x.scales, y.scales);
}

// gptq-w3g32 on the tiny synthetic model with default options and with `variant`; the variant
// also runs on one thread and must write the same bytes as on two.
struct VariantRuns {
  ModelSource source;
  std::vector<std::vector<int32_t>> windows;
  CalibratedModel plain, variant;
};

VariantRuns run_variant(const CalibrationOptions& variant) {
  const SyntheticSpec spec = synthetic_preset("tiny");
  VariantRuns r{synthetic_source(make_synthetic_model(spec)),
                synthetic_windows(spec.vocab_size, 6, 64),
                {},
                {}};
  QuantizeOptions options;
  options.linear = quant::find_scheme("gptq-w3g32");
  kernels::ExecContext one(1), two(2);
  r.plain = quantize_calibrated(r.source, options, r.windows, {}, two);
  r.variant = quantize_calibrated(r.source, options, r.windows, variant, two);
  const CalibratedModel single = quantize_calibrated(r.source, options, r.windows, variant, one);
  for (const std::string& name : r.variant.model.tensors.names())
    EXPECT_TRUE(same_bytes(r.variant.model.tensors.at(name), single.model.tensors.at(name)))
        << name;
  return r;
}

// True-sequential: q/k/v see the same inputs as without it, the later linears see inputs of
// the partly quantized block, which lowers the block's output error; same bytes at any thread
// count.
TEST(CalibratedQuantize, TrueSequentialObservesThePartlyQuantizedBlock) {
  CalibrationOptions sequential;
  sequential.true_sequential = true;
  const VariantRuns r = run_variant(sequential);
  const CalibratedModel &a = r.plain, &b = r.variant;
  const std::vector<std::string> names = model::linear_tensor_names(0);
  for (size_t i = 0; i < names.size(); ++i) {
    const bool equal = same_bytes(a.model.tensors.at(names[i]), b.model.tensors.at(names[i]));
    EXPECT_EQ(equal, i < 3) << names[i];
  }
  EXPECT_EQ(b.model.quantization["calibration"]["true_sequential"], true);
  kernels::ExecContext two(2);
  const double plain_error = block0_output_error(r.source, a.model.tensors, r.windows, two);
  const double sequential_error = block0_output_error(r.source, b.model.tensors, r.windows, two);
  std::printf("block 0 relative output error: plain %.5f, true-sequential %.5f\n", plain_error,
              sequential_error);
  EXPECT_LT(sequential_error, plain_error);
}

// Float targets: block 0's q/k/v see no drift and equal plain GPTQ's; every later linear fits
// the unquantized model's outputs, which brings the whole model's next-token distribution closer
// to the unquantized one's; same bytes at any thread count. AWQ refuses the option.
TEST(CalibratedQuantize, MatchFloatFitsTheUnquantizedModelsOutputs) {
  CalibrationOptions matched;
  matched.match_float = 0.25;
  const VariantRuns r = run_variant(matched);
  const CalibratedModel &a = r.plain, &b = r.variant;
  const SyntheticSpec spec = synthetic_preset("tiny");
  const std::vector<std::string> first = model::linear_tensor_names(0);
  for (size_t i = 0; i < 3; ++i)
    EXPECT_TRUE(same_bytes(a.model.tensors.at(first[i]), b.model.tensors.at(first[i]))) << first[i];
  const std::vector<std::string> last = model::linear_tensor_names(spec.n_layers - 1);
  for (const std::string& name : last)
    EXPECT_FALSE(same_bytes(a.model.tensors.at(name), b.model.tensors.at(name))) << name;
  EXPECT_EQ(b.model.quantization["calibration"]["match_float"], 0.25);
  QuantizeOptions options;
  options.linear = quant::find_scheme("gptq-w3g32");
  EXPECT_NE(calibration_fingerprint(options, r.windows, {}),
            calibration_fingerprint(options, r.windows, matched));
  const double kl_plain = testing::mean_kl(r.source, a.model.tensors, r.windows);
  const double kl_matched = testing::mean_kl(r.source, b.model.tensors, r.windows);
  std::printf("KL from the unquantized model: plain GPTQ %.5f, float targets %.5f\n", kl_plain,
              kl_matched);
  EXPECT_LT(kl_matched, kl_plain);
  kernels::ExecContext one(1);
  options.linear = quant::find_scheme("awq-w3g32");
  EXPECT_THROW(quantize_calibrated(r.source, options, r.windows, matched, one), InvalidArgument);
  options.linear = quant::find_scheme("gptq-w3g32");
  matched.match_float = 1.5;
  EXPECT_THROW(quantize_calibrated(r.source, options, r.windows, matched, one), InvalidArgument);
}

// Trellis codes through the calibration driver: the same bytes at any thread count, every
// linear a trellis tensor, and the model closer to the unquantized one than scalar GPTQ with
// more bits (3-bit groups of 32 with zero-points, 3.5 bits per weight, against about 3.1).
TEST(CalibratedQuantize, TrellisGptqBeatsScalarGptqWithMoreBits) {
  const SyntheticSpec spec = synthetic_preset("tiny");
  const ModelSource source = synthetic_source(make_synthetic_model(spec));
  const auto windows = synthetic_windows(spec.vocab_size, 6, 64);
  kernels::ExecContext one(1), two(2);
  QuantizeOptions options;
  options.linear = quant::find_scheme("gptq-tcq3");
  const CalibratedModel trellis = quantize_calibrated(source, options, windows, {}, two);
  const CalibratedModel single = quantize_calibrated(source, options, windows, {}, one);
  for (const std::string& name : trellis.model.tensors.names()) {
    EXPECT_TRUE(same_bytes(trellis.model.tensors.at(name), single.model.tensors.at(name))) << name;
  }
  for (const std::string& name : model::linear_tensor_names(0))
    EXPECT_EQ(trellis.model.tensors.at(name).format.kind, QuantKind::trellis) << name;
  for (const LayerReport& r : trellis.report) EXPECT_LT(r.error, r.rtn_error) << r.name;
  options.linear = quant::find_scheme("gptq-w3g32");
  const CalibratedModel scalar = quantize_calibrated(source, options, windows, {}, two);
  const double kl_trellis = testing::mean_kl(source, trellis.model.tensors, windows);
  const double kl_scalar = testing::mean_kl(source, scalar.model.tensors, windows);
  std::printf("KL from the unquantized model: gptq-w3g32 %.5f, gptq-tcq3 %.5f\n", kl_scalar,
              kl_trellis);
  EXPECT_LT(kl_trellis, kl_scalar);
}

TEST(CalibratedQuantize, RefusesWindowsLongerThanTheContextAndNonCalibratedSchemes) {
  const SyntheticModel m = make_synthetic_model(synthetic_preset("tiny"));
  ModelSource source;
  source.config = m.config;
  source.tensors = m.tensors;
  kernels::ExecContext ctx(1);
  QuantizeOptions options;
  options.linear = quant::find_scheme("w4g32");
  EXPECT_THROW(quantize_calibrated(source, options, synthetic_windows(512, 2, 16), {}, ctx),
               InvalidArgument);
  options.linear = quant::find_scheme("gptq-w4g32");
  const int64_t too_long = model::LlamaConfig::from_json(m.config).max_seq_len + 1;
  std::vector<std::vector<int32_t>> windows(1,
                                            std::vector<int32_t>(static_cast<size_t>(too_long), 1));
  EXPECT_THROW(quantize_calibrated(source, options, windows, {}, ctx), InvalidArgument);
}

// Layer level on the real model: the inputs of blocks 0 and 1's linears from real text, and
// GPTQ's relative output error on them below RTN's at w4g128, w3g128 and w2g64.
TEST(CalibratedQuantize, GptqAndAwqBeatRtnOnRealSmolLm2Layers) {
  LB_REQUIRE_DATA(gguf, "smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf");
  LB_REQUIRE_DATA(text_path, "eval/wikitext2_test.raw.txt");
  const ModelSource source = load_model_source(gguf);
  const model::LlamaConfig c = model::LlamaConfig::from_json(source.config);
  const std::string text = eval::read_text_file(text_path, "--calib");
  // Calibrate on the second half of the text (the first half is where eval measures).
  const std::vector<int32_t> tokens =
      source.tokenizer->encode(text.substr(text.size() / 2, 60000), false);
  const auto windows = calibration_windows(tokens, 8, 256, 0);
  kernels::ExecContext ctx(2);
  const std::vector<float> inv_freq = c.rope_inv_freq();
  model::KvCache cache(1, 256, c.kv_dim());
  model::BlockScratch scratch;
  std::vector<float> hidden(static_cast<size_t>(8 * 256 * c.dim));
  const QuantizedTensor& embed = source.tensors.at("model.embed_tokens.weight");
  for (size_t s = 0; s < 8; ++s)
    for (size_t t = 0; t < 256; ++t)
      kernels::embedding_lookup(embed, windows[s][t],
                                &hidden[(s * 256 + t) * static_cast<size_t>(c.dim)]);
  for (int64_t layer = 0; layer < 2; ++layer) {
    const model::BlockWeights block = model::bind_block(c, source.tensors, layer);
    std::vector<std::unique_ptr<InputStats>> stats;
    for (const int64_t cols : {c.dim, c.q_dim(), c.dim, c.hidden_dim})
      stats.push_back(std::make_unique<InputStats>(cols, 8 * 256, 512));
    const model::LinearObserver observer = [&](int64_t, model::LinearInput input, const float* x,
                                               int64_t rows, int64_t) {
      stats[static_cast<size_t>(input)]->add(x, rows, *ctx.pool);
    };
    for (size_t s = 0; s < 8; ++s)
      model::run_block(c, block, inv_freq, layer, 0, &hidden[s * 256 * static_cast<size_t>(c.dim)],
                       256, 0, cache, scratch, ctx, &observer);
    const auto names = model::linear_tensor_names(layer);
    // AWQ: every linear of the block, against RTN of the same weights on the same inputs.
    const std::array<const InputStats*, 4> views{stats[0].get(), stats[1].get(), stats[2].get(),
                                                 stats[3].get()};
    for (const char* scheme : {"w4g128", "w3g128", "w2g64"}) {
      const QuantFormat f = quant::find_scheme(scheme).format;
      const AwqBlockResult awq = quantize_awq_block(c, block, views, f, {});
      for (int index = 0; index < 7; ++index) {
        const QuantizedTensor& t = source.tensors.at(names[static_cast<size_t>(index)]);
        const std::vector<float> w = kernels::dequantize_all(t);
        const std::vector<double> h =
            stats[static_cast<size_t>(model::linear_input_of(index))]->hessian();
        const double ea =
            relative_output_error(w.data(), awq.effective[static_cast<size_t>(index)].data(),
                                  t.rows(), t.cols(), h.data());
        const std::vector<float> rq =
            kernels::dequantize_all(quant::quantize_rtn(w.data(), t.rows(), t.cols(), f, "rtn"));
        const double er = relative_output_error(w.data(), rq.data(), t.rows(), t.cols(), h.data());
        EXPECT_LT(ea, er) << names[static_cast<size_t>(index)] << " awq " << scheme;
        std::printf("%-40s %-7s awq %.5f rtn %.5f\n", names[static_cast<size_t>(index)].c_str(),
                    scheme, ea, er);
      }
    }
    for (const int index : {0, 3, 4, 6}) {  // q, o, gate, down: every input kind
      const QuantizedTensor& t = source.tensors.at(names[static_cast<size_t>(index)]);
      std::vector<float> w(static_cast<size_t>(t.numel()));
      kernels::dequantize_rows(t, 0, t.rows(), w.data());
      const std::vector<double> h =
          stats[static_cast<size_t>(model::linear_input_of(index))]->hessian();
      for (const char* scheme : {"w4g128", "w3g128", "w2g64", "nf4"}) {
        const QuantFormat f = quant::find_scheme(std::string("gptq-") + scheme).format;
        quant::GptqOptions o;
        o.pool = ctx.pool.get();
        const QuantizedTensor g = quant::quantize_gptq(w.data(), t.rows(), t.cols(), h.data(), f, o,
                                                       names[static_cast<size_t>(index)])
                                      .weight;
        const QuantizedTensor r = quant::quantize_rtn(w.data(), t.rows(), t.cols(), f, "rtn");
        std::vector<float> gq(w.size()), rq(w.size());
        kernels::dequantize_rows(g, 0, g.rows(), gq.data());
        kernels::dequantize_rows(r, 0, r.rows(), rq.data());
        const double eg = relative_output_error(w.data(), gq.data(), t.rows(), t.cols(), h.data());
        const double er = relative_output_error(w.data(), rq.data(), t.rows(), t.cols(), h.data());
        EXPECT_LT(eg, er) << names[static_cast<size_t>(index)] << " " << scheme;
        std::printf("%-40s %-7s gptq %.5f rtn %.5f\n", names[static_cast<size_t>(index)].c_str(),
                    scheme, eg, er);
      }
    }
  }
}

}  // namespace
}  // namespace lowbit::ptq

namespace lowbit::ptq {
namespace {

QuantizedTensor f32_tensor(const std::vector<float>& v, int64_t rows, int64_t cols) {
  return QuantizedTensor::dense(QuantKind::f32, {rows, cols},
                                Buffer::copy_of(v.data(), v.size() * sizeof(float)));
}

// AWQ's fold (W diag(s), the norm or previous linear divided by s) leaves the unquantized
// block's output unchanged; the source tensors are never touched.
TEST(AwqBlock, FoldingLeavesTheUnquantizedBlockUnchanged) {
  SyntheticSpec spec = synthetic_preset("tiny");
  spec.n_kv_heads = spec.n_heads;  // no GQA: o is scaled into v too
  const SyntheticModel m = make_synthetic_model(spec);
  const model::LlamaConfig c = model::LlamaConfig::from_json(m.config);
  const std::vector<float> source_bytes_before = [&] {
    const QuantizedTensor& t = m.tensors.at("model.layers.0.input_layernorm.weight");
    return std::vector<float>(t.codes.as<float>(), t.codes.as<float>() + t.numel());
  }();
  const auto windows = synthetic_windows(c.vocab_size, 2, 32);
  kernels::ExecContext ctx(2);
  const model::BlockWeights block = model::bind_block(c, m.tensors, 0);
  std::vector<float> x(static_cast<size_t>(32 * c.dim));
  const QuantizedTensor& embed = m.tensors.at("model.embed_tokens.weight");
  for (size_t t = 0; t < 32; ++t)
    kernels::embedding_lookup(embed, windows[0][t], &x[t * static_cast<size_t>(c.dim)]);
  std::vector<std::unique_ptr<InputStats>> stats;
  for (const int64_t cols : {c.dim, c.q_dim(), c.dim, c.hidden_dim})
    stats.push_back(std::make_unique<InputStats>(cols, 32, 64));
  const model::LinearObserver observer = [&](int64_t, model::LinearInput input, const float* in,
                                             int64_t rows, int64_t) {
    stats[static_cast<size_t>(input)]->add(in, rows, *ctx.pool);
  };
  model::KvCache cache(1, 32, c.kv_dim());
  model::BlockScratch scratch;
  const std::vector<float> inv_freq = c.rope_inv_freq();
  std::vector<float> expected = x;
  model::run_block(c, block, inv_freq, 0, 0, expected.data(), 32, 0, cache, scratch, ctx,
                   &observer);
  const AwqBlockResult r =
      quantize_awq_block(c, block, {stats[0].get(), stats[1].get(), stats[2].get(), stats[3].get()},
                         quant::find_scheme("awq-w3g32").format, {});
  for (const double ratio : r.ratios) EXPECT_GE(ratio, 0.0);  // every group was scaled
  model::BlockWeights folded = block;
  folded.attn_norm = r.attn_norm;
  folded.ffn_norm = r.ffn_norm;
  QuantizedTensor* slots[7] = {&folded.wq,     &folded.wk,   &folded.wv,    &folded.wo,
                               &folded.w_gate, &folded.w_up, &folded.w_down};
  for (size_t i = 0; i < 7; ++i)
    *slots[i] = f32_tensor(r.folded[i], slots[i]->rows(), slots[i]->cols());
  std::vector<float> got = x;
  model::run_block(c, folded, inv_freq, 0, 0, got.data(), 32, 0, cache, scratch, ctx);
  double max_err = 0, max_abs = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    max_err = std::max(max_err, static_cast<double>(std::fabs(got[i] - expected[i])));
    max_abs = std::max(max_abs, static_cast<double>(std::fabs(expected[i])));
  }
  EXPECT_LT(max_err, 1e-4 * max_abs);
  const QuantizedTensor& after = m.tensors.at("model.layers.0.input_layernorm.weight");
  EXPECT_EQ(source_bytes_before,
            std::vector<float>(after.codes.as<float>(), after.codes.as<float>() + after.numel()));
}

TEST(CalibratedQuantize, AwqBeatsRtnOnTheCalibrationRows) {
  const SyntheticModel m = make_synthetic_model(synthetic_preset("tiny"));
  const ModelSource source = synthetic_source(m);
  QuantizeOptions options;
  options.linear = quant::find_scheme("awq-w3g32");
  kernels::ExecContext ctx(2);
  const CalibratedModel a =
      quantize_calibrated(source, options, synthetic_windows(512, 6, 64), {}, ctx);
  double error = 0, rtn = 0;
  for (const LayerReport& r : a.report) {
    error += r.error;
    rtn += r.rtn_error;
  }
  EXPECT_LT(error, rtn);
  // The norms were rescaled into new tensors; the source's are unchanged.
  const std::string norm = "model.layers.0.input_layernorm.weight";
  EXPECT_NE(a.model.tensors.at(norm).codes.data(), source.tensors.at(norm).codes.data());
  EXPECT_EQ(a.model.quantization["algorithm"], "awq");
}

}  // namespace
}  // namespace lowbit::ptq
