// SPDX-License-Identifier: MIT
// quantize_model shares the tensors it leaves alone with its source; an in-place transform of
// the result (folding scales into a norm, as smoothing and AWQ do) must not reach the source.
#include "ptq/quantize_model.h"

#include <gtest/gtest.h>

#include <vector>

#include "ptq/synthetic_model.h"
#include "quant/scheme.h"

namespace lowbit::ptq {
namespace {

TEST(QuantizeModel, TransformingTheResultLeavesTheSourceUnchanged) {
  const SyntheticModel m = make_synthetic_model(synthetic_preset("tiny"));
  ModelSource source;
  source.config = m.config;
  source.tensors = m.tensors;
  source.format = "hf";
  kernels::ExecContext ctx(1);
  QuantizedModel q = quantize_model(source, quant::find_scheme("w4g128"), ctx);

  const std::string norm = "model.layers.0.input_layernorm.weight";
  const QuantizedTensor& src_norm = source.tensors.at(norm);
  const std::vector<float> before(src_norm.codes.as<float>(),
                                  src_norm.codes.as<float>() + src_norm.numel());
  // The untouched norm is shared, not copied (cheap), until someone writes to it.
  EXPECT_EQ(q.tensors.at(norm).codes.data(), src_norm.codes.data());

  QuantizedTensor& folded = q.tensors.at(norm);
  float* gains = folded.codes.as_mutable<float>();
  for (int64_t i = 0; i < folded.numel(); ++i) gains[i] *= 2.0f;

  const float* after = source.tensors.at(norm).codes.as<float>();
  for (size_t i = 0; i < before.size(); ++i) ASSERT_EQ(after[i], before[i]) << i;
  EXPECT_EQ(q.tensors.at(norm).codes.as<float>()[0], 2.0f * before[0]);
}

}  // namespace
}  // namespace lowbit::ptq
