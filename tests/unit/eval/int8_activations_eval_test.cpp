// SPDX-License-Identifier: MIT
// The cost of int8 activation blocks (ExecContext::int8_activations) on a real model: SmolLM2's
// weights as w8 (every linear and the Q8_0 head through the int8 path), KL against the same
// weights with f32 activations (the baseline always runs f32), scored as llama-perplexity does.
// llama.cpp's own Q4_1 file against an f16 export of the same weights reads KL 0.0033 on this
// model and text (llama-perplexity --kl-divergence, 40 windows of 512, measured beside lowbit's
// 0.0028 over the same windows): the cost of its 8-bit activation blocks. lowbit's must be no
// larger.
#include <gtest/gtest.h>

#include <cmath>

#include "eval/perplexity.h"
#include "eval/text_file.h"
#include "io/model_source.h"
#include "ptq/model_loader.h"
#include "ptq/quantize_model.h"
#include "quant/scheme.h"
#include "testing/test_data.h"

namespace lowbit::testing {
namespace {

TEST(Int8Activations, SmolLM2CostsLessKlThanLlamaCppsActivationBlocks) {
  LB_REQUIRE_DATA(gguf, "smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf");
  LB_REQUIRE_DATA(text_path, "eval/wikitext2_test.raw.txt");
  const ModelSource source = load_model_source(gguf);
  kernels::ExecContext ctx(2);
  const ptq::QuantizedModel q = ptq::quantize_model(source, quant::find_scheme("w8"), ctx);
  auto model = ptq::build_model(source.config, q.tensors);
  const std::string text = eval::read_text_file(text_path, "--text").substr(0, 24000);
  const std::vector<int32_t> tokens = source.tokenizer->encode(text, true);
  eval::EvalOptions options;
  options.ctx = 512;
  options.max_windows = 4;
  options.protocol = eval::Protocol::llamacpp;  // as llama-perplexity scores
  ctx.int8_activations = true;
  const eval::EvalResult r =
      eval::evaluate(*model, model.get(), tokens, source.tokenizer->bos_id(), options, ctx);
  EXPECT_TRUE(ctx.int8_activations);  // restored after the baseline's f32 runs
  EXPECT_GT(r.kld, 0.0);              // the activations really were rounded
  EXPECT_LT(r.kld, 0.0033);
  EXPECT_NEAR(r.ppl, r.baseline_ppl, 0.01 * r.baseline_ppl);
  EXPECT_GT(r.top1_agreement, 0.95);
}

}  // namespace
}  // namespace lowbit::testing
