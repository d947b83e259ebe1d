// SPDX-License-Identifier: MIT
// Perplexity protocols (window and scored-token counts), KL divergence properties.
#include "eval/perplexity.h"

#include <gtest/gtest.h>

#include <cmath>

#include "ptq/model_loader.h"
#include "ptq/quantize_model.h"
#include "ptq/synthetic_model.h"
#include "quant/scheme.h"
#include "util/error.h"

namespace lowbit::eval {
namespace {

struct Fixture {
  ptq::SyntheticModel synthetic = ptq::make_synthetic_model(ptq::synthetic_preset("tiny"));
  std::unique_ptr<model::LlamaModel> model = ptq::build_model(synthetic.config, synthetic.tensors);
  std::vector<int32_t> tokens;
  Fixture() {
    for (int i = 0; i < 1000; ++i) tokens.push_back((i * 37 + i / 7) % 512);
  }
};

TEST(Perplexity, GptqProtocolScoresEveryPredictedToken) {
  Fixture f;
  kernels::ExecContext ctx(2);
  const EvalResult r = evaluate(*f.model, nullptr, f.tokens, 1, {64, Protocol::gptq, 0}, ctx);
  EXPECT_EQ(r.tokens, 1000);
  EXPECT_EQ(r.windows, 15);  // 1000 / 64, tail dropped
  EXPECT_EQ(r.scored_tokens, 15 * 63);
  EXPECT_TRUE(std::isfinite(r.ppl));
  EXPECT_GT(r.ppl, 1.0);
  EXPECT_NEAR(r.ppl, std::exp(r.mean_nll), 1e-9 * r.ppl);
  EXPECT_GT(r.ppl_stderr, 0.0);
  EXPECT_FALSE(r.has_baseline);
}

TEST(Perplexity, LlamaCppProtocolScoresSecondHalf) {
  Fixture f;
  kernels::ExecContext ctx(1);
  const EvalResult r = evaluate(*f.model, nullptr, f.tokens, 1, {64, Protocol::llamacpp, 0}, ctx);
  EXPECT_EQ(r.windows, 15);
  EXPECT_EQ(r.scored_tokens, 15 * (64 - 1 - 32));
  const EvalResult limited =
      evaluate(*f.model, nullptr, f.tokens, 1, {64, Protocol::llamacpp, 4}, ctx);
  EXPECT_EQ(limited.windows, 4);
  EXPECT_EQ(limited.scored_tokens, 4 * 31);
}

TEST(Perplexity, KlAgainstItselfIsZeroAndGrowsWithFewerBits) {
  Fixture f;
  kernels::ExecContext ctx(2);
  const EvalOptions o{64, Protocol::gptq, 4};
  const EvalResult self = evaluate(*f.model, f.model.get(), f.tokens, 1, o, ctx);
  EXPECT_EQ(self.kld, 0.0);
  EXPECT_EQ(self.top1_agreement, 1.0);
  EXPECT_DOUBLE_EQ(self.ppl, self.baseline_ppl);

  ModelSource source;
  source.config = f.synthetic.config;
  source.tensors = f.synthetic.tensors;
  double previous = 0.0;
  for (const char* name : {"w8", "w4g32", "w3g32", "w2g32"}) {
    const ptq::QuantizedModel q = ptq::quantize_model(source, quant::find_scheme(name), ctx);
    auto m = ptq::build_model(source.config, q.tensors);
    const EvalResult r = evaluate(*m, f.model.get(), f.tokens, 1, o, ctx);
    EXPECT_GT(r.kld, previous) << name;
    EXPECT_GE(r.kld_max, r.kld);
    EXPECT_LE(r.top1_agreement, 1.0);
    previous = r.kld;
  }
}

TEST(Perplexity, TooShortTextAndBadProtocol) {
  Fixture f;
  kernels::ExecContext ctx(1);
  const std::vector<int32_t> few(f.tokens.begin(), f.tokens.begin() + 10);
  EXPECT_THROW(evaluate(*f.model, nullptr, few, 1, {64, Protocol::gptq, 0}, ctx), InvalidArgument);
  EXPECT_THROW(parse_protocol("wikitext"), InvalidArgument);
  EXPECT_EQ(parse_protocol("llamacpp"), Protocol::llamacpp);
}

TEST(Perplexity, PlanRefusesWindowsThatScoreNothingOrExceedTheContext) {
  // llamacpp at ctx 2 scores positions 1..0: nothing. It must be an error, not ppl 1.
  EXPECT_THROW(plan_windows(1000, {2, Protocol::llamacpp, 0}, 512), InvalidArgument);
  EXPECT_EQ(plan_windows(1000, {3, Protocol::llamacpp, 0}, 512).scored_per_window(), 1);
  EXPECT_EQ(plan_windows(1000, {2, Protocol::gptq, 0}, 512).scored_per_window(), 1);
  EXPECT_THROW(plan_windows(5000, {1024, Protocol::gptq, 0}, 512), InvalidArgument);
  EXPECT_EQ(plan_windows(5000, {512, Protocol::gptq, 0}, 512).windows, 9);
  EXPECT_EQ(plan_windows(5000, {512, Protocol::gptq, 3}, 512).windows, 3);
  EXPECT_THROW(plan_windows(5000, {512, Protocol::gptq, -1}, 512), InvalidArgument);
  Fixture f;
  kernels::ExecContext ctx(1);
  EXPECT_THROW(evaluate(*f.model, nullptr, f.tokens, 1, {2, Protocol::llamacpp, 0}, ctx),
               InvalidArgument);
  EXPECT_THROW(evaluate(*f.model, nullptr, f.tokens, 1,
                        {f.model->config().max_seq_len * 2, Protocol::gptq, 0}, ctx),
               InvalidArgument);
}

TEST(Perplexity, ReferenceLogProbsGiveTheSameFiguresAsALiveBaseline) {
  Fixture f;
  kernels::ExecContext ctx(2);
  ModelSource source;
  source.config = f.synthetic.config;
  source.tensors = f.synthetic.tensors;
  const ptq::QuantizedModel q = ptq::quantize_model(source, quant::find_scheme("w4g32"), ctx);
  auto m = ptq::build_model(source.config, q.tensors);
  for (const Protocol protocol : {Protocol::gptq, Protocol::llamacpp}) {
    const EvalOptions o{64, protocol, 5};
    const ReferenceLogProbs ref = compute_reference(*f.model, f.tokens, 1, o, ctx);
    EXPECT_EQ(ref.log_probs.size(), reference_bytes(ref.plan, ref.vocab) / sizeof(float));
    const EvalResult live = evaluate(*m, f.model.get(), f.tokens, 1, o, ctx);
    const EvalResult cached = evaluate(*m, ref, f.tokens, 1, o, ctx);
    EXPECT_GT(live.kld, 0.0);
    EXPECT_DOUBLE_EQ(cached.ppl, live.ppl);
    EXPECT_EQ(cached.scored_tokens, live.scored_tokens);
    // The reference keeps f32 log-probabilities, the live path doubles: they agree closely.
    EXPECT_NEAR(cached.kld, live.kld, 1e-5 * live.kld + 1e-9);
    EXPECT_NEAR(cached.baseline_ppl, live.baseline_ppl, 1e-5 * live.baseline_ppl);
    EXPECT_NEAR(ref.ppl, live.baseline_ppl, 1e-5 * live.baseline_ppl);
    EXPECT_EQ(cached.top1_agreement, live.top1_agreement);
    // Another plan is refused.
    EXPECT_THROW(evaluate(*m, ref, f.tokens, 1, {64, protocol, 4}, ctx), InvalidArgument);
  }
}

TEST(Perplexity, SameFiguresAtAnyThreadCount) {
  Fixture f;
  ModelSource source;
  source.config = f.synthetic.config;
  source.tensors = f.synthetic.tensors;
  kernels::ExecContext one(1), three(3);
  const ptq::QuantizedModel q = ptq::quantize_model(source, quant::find_scheme("w3g32"), one);
  auto m = ptq::build_model(source.config, q.tensors);
  const EvalOptions o{64, Protocol::llamacpp, 4};
  const EvalResult a = evaluate(*m, f.model.get(), f.tokens, 1, o, one);
  const EvalResult b = evaluate(*m, f.model.get(), f.tokens, 1, o, three);
  EXPECT_EQ(a.ppl, b.ppl);
  EXPECT_EQ(a.kld, b.kld);
  EXPECT_EQ(a.kld_max, b.kld_max);
  EXPECT_EQ(a.top1_agreement, b.top1_agreement);
}

}  // namespace
}  // namespace lowbit::eval
