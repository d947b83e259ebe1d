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

}  // namespace
}  // namespace lowbit::eval
