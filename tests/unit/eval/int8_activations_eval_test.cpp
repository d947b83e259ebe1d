// SPDX-License-Identifier: MIT
// The cost of int8 activation blocks (ExecContext::int8_activations) on a real model: SmolLM2
// with its own Q4_1 weights, KL against the same weights with f32 activations (the baseline
// always runs f32). llama.cpp's own Q4_1 file reads KL 0.0028 against f16 on this model and
// text, the cost of its 8-bit activation blocks; lowbit's must be no larger (measured 0.0007
// over 40 windows).
#include <gtest/gtest.h>

#include <cmath>

#include "eval/perplexity.h"
#include "eval/text_file.h"
#include "io/model_source.h"
#include "ptq/model_loader.h"
#include "testing/test_data.h"

namespace lowbit::testing {
namespace {

TEST(Int8Activations, SmolLM2CostsLessKlThanLlamaCppsActivationBlocks) {
  LB_REQUIRE_DATA(gguf, "smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf");
  LB_REQUIRE_DATA(text_path, "eval/wikitext2_test.raw.txt");
  const ModelSource source = load_model_source(gguf);
  auto model = ptq::build_model(source.config, source.tensors);
  const std::string text = eval::read_text_file(text_path, "--text").substr(0, 12000);
  const std::vector<int32_t> tokens = source.tokenizer->encode(text, true);
  eval::EvalOptions options;
  options.ctx = 512;
  options.max_windows = 2;
  kernels::ExecContext ctx(2);
  ctx.int8_activations = true;
  const eval::EvalResult r =
      eval::evaluate(*model, model.get(), tokens, source.tokenizer->bos_id(), options, ctx);
  EXPECT_TRUE(ctx.int8_activations);  // restored after the baseline's f32 runs
  EXPECT_GT(r.kld, 0.0);              // the activations really were rounded
  EXPECT_LT(r.kld, 0.0028);
  EXPECT_NEAR(r.ppl, r.baseline_ppl, 0.01 * r.baseline_ppl);
  EXPECT_GT(r.top1_agreement, 0.95);
}

}  // namespace
}  // namespace lowbit::testing
